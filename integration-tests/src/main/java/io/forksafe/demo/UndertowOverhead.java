package io.forksafe.demo;

import io.forksafe.ForkRegistry;
import io.forksafe.undertow.ForksafeUndertow;
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
 * A rough comparison, not a benchmark: requests per second through a BlockingHandler on plain Undertow and on
 * Undertow built with {@code ForksafeUndertow.install}, same sizes, and how long start and stop take. Numbers depend on
 * the machine and on what else runs; compare the two rows of one run.
 *
 * <pre>{@code
 * java -cp "$(cat integration-tests/target/demo-classpath.txt):integration-tests/target/classes" \
 *     io.forksafe.demo.UndertowOverhead [requests=20000] [concurrency=32]
 * }</pre>
 */
public final class UndertowOverhead {

    private UndertowOverhead() {
    }

    public static void main(String[] args) throws Exception {
        int requests = args.length > 0 ? Integer.parseInt(args[0]) : 20_000;
        int concurrency = args.length > 1 ? Integer.parseInt(args[1]) : 32;
        HttpClient client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
                .connectTimeout(Duration.ofSeconds(5)).build();
        for (int round = 1; round <= 3; round++) {
            run("plain   ", false, client, requests, concurrency, round);
            run("forksafe", true, client, requests, concurrency, round);
        }
    }

    private static void run(String label, boolean forksafe, HttpClient client, int requests, int concurrency,
                            int round) throws Exception {
        Undertow.Builder builder = Undertow.builder().setIoThreads(2).setWorkerThreads(16)
                .addHttpListener(0, "127.0.0.1")
                .setHandler(new BlockingHandler(ex -> ex.getResponseSender().send("ok")));
        ForkRegistry registry = new ForkRegistry("overhead");
        long t0 = System.nanoTime();
        Undertow server = forksafe ? ForksafeUndertow.install(builder, registry).build() : builder.build();
        if (forksafe) {
            ForksafeUndertow.start(server);
        } else {
            server.start();
        }
        long started = System.nanoTime();
        String url = "http://127.0.0.1:" + ((InetSocketAddress) server.getListenerInfo().get(0).getAddress())
                .getPort() + "/";
        long t1 = System.nanoTime();
        List<CompletableFuture<HttpResponse<Void>>> inFlight = new ArrayList<>();
        for (int i = 0; i < requests; i++) {
            inFlight.add(client.sendAsync(HttpRequest.newBuilder(URI.create(url)).build(),
                    HttpResponse.BodyHandlers.discarding()));
            if (inFlight.size() == concurrency) {
                for (CompletableFuture<HttpResponse<Void>> f : inFlight) {
                    f.get(30, TimeUnit.SECONDS);
                }
                inFlight.clear();
            }
        }
        for (CompletableFuture<HttpResponse<Void>> f : inFlight) {
            f.get(30, TimeUnit.SECONDS);
        }
        long t2 = System.nanoTime();
        if (forksafe) {
            ForksafeUndertow.stop(server);
        } else {
            server.stop();
        }
        long t3 = System.nanoTime();
        System.out.printf("round %d %s: %,8.0f req/s  start %5.1f ms  stop %6.1f ms%n", round, label,
                requests / ((t2 - t1) / 1e9), (started - t0) / 1e6, (t3 - t2) / 1e6);
    }
}
