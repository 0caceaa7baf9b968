package io.forksafe.demo;

import io.forksafe.ForkEvent;
import io.forksafe.ForkRegistry;
import io.forksafe.Forksafe;
import io.forksafe.WorkerExit;
import io.forksafe.jetty.ForksafeJetty;
import io.forksafe.jetty.ForksafeThreadPool;

import org.eclipse.jetty.server.Handler;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import org.eclipse.jetty.server.handler.ContextHandler;
import org.eclipse.jetty.server.handler.ContextHandlerCollection;
import org.eclipse.jetty.util.Callback;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;

/**
 * The Jetty demo: starts Jetty 12 on 127.0.0.1 with forksafe, makes concurrent requests, prints every event and the
 * status JSON served by the status handler, then stops the server (which publishes WorkerExit for every thread).
 *
 * <pre>{@code
 * mvn -B -q -pl integration-tests -am package -DskipTests
 * java -cp "$(cat integration-tests/target/demo-classpath.txt):integration-tests/target/classes" io.forksafe.demo.JettyDemo
 * }</pre>
 */
public final class JettyDemo {

    private JettyDemo() {
    }

    public static void main(String[] args) throws Exception {
        ForkRegistry registry = Forksafe.registry();
        registry.subscribe(ForkEvent.class, "demo.printer", 0, JettyDemo::print);
        Forksafe.autoconfigure(); // "Jetty available"

        ForksafeThreadPool pool = ForksafeJetty.threadPool(16, 2, 60_000);
        pool.setName("demo");
        Server server = new Server(pool);
        ServerConnector connector = new ServerConnector(server, 1, 1);
        connector.setHost("127.0.0.1");
        connector.setPort(0);
        server.addConnector(connector);
        ContextHandlerCollection contexts = new ContextHandlerCollection();
        contexts.addHandler(ForksafeJetty.statusContext("/forksafe/status"));
        contexts.addHandler(new ContextHandler(new Hello(), "/hello"));
        server.setHandler(contexts);
        ForksafeJetty.install(server);

        server.start();
        String base = "http://127.0.0.1:" + connector.getLocalPort();
        System.out.println("jetty demo listening on " + base);
        HttpClient client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
        List<CompletableFuture<HttpResponse<String>>> calls = new ArrayList<>();
        for (int i = 0; i < 6; i++) {
            calls.add(client.sendAsync(HttpRequest.newBuilder(URI.create(base + "/hello/")).build(),
                    HttpResponse.BodyHandlers.ofString()));
        }
        for (CompletableFuture<HttpResponse<String>> call : calls) {
            System.out.println("GET /hello/ -> " + call.get().statusCode() + " " + call.get().body());
        }
        HttpResponse<String> status = client.send(HttpRequest.newBuilder(URI.create(base + "/forksafe/status")).build(),
                HttpResponse.BodyHandlers.ofString());
        System.out.println("GET /forksafe/status -> " + status.statusCode());
        System.out.println(status.body());
        server.stop();
        System.out.println("stopped: pool created " + pool.threadsCreated() + " threads, " + pool.threadsRetired()
                + " ended; status: " + registry.status().status());
    }

    private static void print(ForkEvent e) {
        String reason = e instanceof WorkerExit exit ? " reason=" + exit.reason() : "";
        System.out.printf("event %-15s worker=%-12s kind=%-7s slot=%d gen=%d on thread %s%s%n",
                e.type().displayName(), e.worker().name(), e.worker().kind(), e.worker().slot(),
                e.worker().generation(), Thread.currentThread().getName(), reason);
    }

    /** Answers with the worker thread's name after a short pause, so concurrent requests need several threads. */
    static final class Hello extends Handler.Abstract {
        @Override
        public boolean handle(Request request, Response response, Callback callback) throws Exception {
            Thread.sleep(50);
            response.write(true, ByteBuffer.wrap(("hello from " + Thread.currentThread().getName())
                    .getBytes(StandardCharsets.UTF_8)), callback);
            return true;
        }
    }
}
