package io.forksafe.demo;

import io.forksafe.ForkEvent;
import io.forksafe.ForkRegistry;
import io.forksafe.Forksafe;
import io.forksafe.PostFork;
import io.forksafe.undertow.ForksafeUndertow;
import io.undertow.Handlers;
import io.undertow.Undertow;
import io.undertow.server.handlers.BlockingHandler;

import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * The Undertow demo: an embedded Undertow on 127.0.0.1 built with {@code ForksafeUndertow.install}, a few concurrent
 * requests, the events they caused, the status JSON, and the events of the stop.
 *
 * <pre>{@code
 * java -cp "$(cat integration-tests/target/demo-classpath.txt):integration-tests/target/classes" io.forksafe.demo.UndertowDemo
 * }</pre>
 */
public final class UndertowDemo {

    private UndertowDemo() {
    }

    public static void main(String[] args) throws Exception {
        ForkRegistry registry = Forksafe.registry();
        registry.subscribe(ForkEvent.class, "demo.printer", 0,
                e -> System.out.printf("event %-15s worker=%-28s kind=%-7s slot=%d gen=%d on thread %s%n",
                        e.type().displayName(), e.worker().name(), e.worker().kind(), e.worker().slot(),
                        e.worker().generation(), Thread.currentThread().getName()));
        registry.subscribe(PostFork.class, "demo.pool.evict", 0, e -> { });

        Undertow server = ForksafeUndertow.install(Undertow.builder().setIoThreads(1).setWorkerThreads(3))
                .addHttpListener(0, "127.0.0.1")
                .setHandler(Handlers.path(new BlockingHandler(exchange -> {
                            Thread.sleep(50);
                            exchange.getResponseSender().send("hello from " + Thread.currentThread().getName());
                        }))
                        .addExactPath("/forksafe/status", ForksafeUndertow.statusHandler()))
                .build();
        ForksafeUndertow.start(server);
        int port = ((InetSocketAddress) server.getListenerInfo().get(0).getAddress()).getPort();
        System.out.println("== Undertow listening on http://127.0.0.1:" + port);

        HttpClient client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
                .connectTimeout(Duration.ofSeconds(5)).build();
        List<CompletableFuture<HttpResponse<String>>> requests = new ArrayList<>();
        for (int i = 0; i < 6; i++) {
            requests.add(client.sendAsync(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/hello"))
                    .timeout(Duration.ofSeconds(10)).build(), HttpResponse.BodyHandlers.ofString()));
        }
        for (CompletableFuture<HttpResponse<String>> r : requests) {
            HttpResponse<String> response = r.get(10, TimeUnit.SECONDS);
            System.out.println("response " + response.statusCode() + ": " + response.body());
        }
        HttpResponse<String> status = client.send(HttpRequest.newBuilder(
                        URI.create("http://127.0.0.1:" + port + "/forksafe/status")).timeout(Duration.ofSeconds(10))
                .build(), HttpResponse.BodyHandlers.ofString());
        System.out.println("== GET /forksafe/status -> " + status.statusCode());
        System.out.println(status.body());
        System.out.println("== stopping");
        ForksafeUndertow.stop(server);
        System.out.println("== stopped: " + registry.status().workerCounters());
    }
}
