package io.forksafe.jetty;

import io.forksafe.ForkEvent;
import io.forksafe.ForkRegistry;
import io.forksafe.PostFork;
import io.forksafe.WorkerKind;

import org.eclipse.jetty.server.Handler;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import org.eclipse.jetty.server.handler.ContextHandler;
import org.eclipse.jetty.server.handler.ContextHandlerCollection;
import org.eclipse.jetty.util.Callback;
import org.eclipse.jetty.util.thread.QueuedThreadPool;
import org.eclipse.jetty.util.thread.ThreadPool;
import org.eclipse.jetty.util.thread.VirtualThreadPool;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * Runs in a JDK 21+ child JVM for {@link VirtualThreadsTest}: a real Jetty whose blocking requests run on virtual
 * threads. Prints {@code HANDLER <virtual> <thread>} per request, {@code POSTFORK <name>} per thread event and
 * {@code STATUS <json>} for the status served over HTTP.
 */
public final class VirtualThreadsProbe {

    private VirtualThreadsProbe() {
    }

    public static void main(String[] args) throws Exception {
        String mode = args.length > 0 ? args[0] : "hybrid";
        ForkRegistry registry = new ForkRegistry("virtual");
        List<String> postForks = new CopyOnWriteArrayList<>();
        registry.subscribe(PostFork.class, "probe", 0, e -> postForks.add(e.worker().name()));
        ThreadPool pool;
        if (mode.equals("all-virtual")) {
            pool = new VirtualThreadPool();
        } else {
            QueuedThreadPool qtp = ForksafeJetty.threadPool(registry, 32, 4, 60_000);
            qtp.setUseVirtualThreads(true);
            pool = qtp;
        }
        Server server = new Server(pool);
        ServerConnector connector = new ServerConnector(server, 1, 1);
        connector.setHost("127.0.0.1");
        connector.setPort(0);
        server.addConnector(connector);
        ContextHandlerCollection contexts = new ContextHandlerCollection();
        contexts.addHandler(ForksafeJetty.statusContext("/forksafe/status", ForksafeJetty.statusHandler(registry)));
        contexts.addHandler(new ContextHandler(new Probe(), "/probe"));
        server.setHandler(contexts);
        ForksafeJetty.install(server, registry);
        server.start();
        try {
            HttpClient client = HttpClient.newHttpClient();
            String base = "http://127.0.0.1:" + connector.getLocalPort();
            for (int i = 0; i < 3; i++) {
                System.out.println("HANDLER " + client.send(HttpRequest.newBuilder(URI.create(base + "/probe/"))
                        .build(), HttpResponse.BodyHandlers.ofString()).body());
            }
            String status = client.send(HttpRequest.newBuilder(URI.create(base + "/forksafe/status")).build(),
                    HttpResponse.BodyHandlers.ofString()).body();
            System.out.println("STATUS " + status.replace('\n', ' '));
        } finally {
            server.stop();
        }
        // After stop, nothing creates threads any more: the events and the pool's own count can be compared.
        for (String name : postForks) {
            System.out.println("POSTFORK " + name);
        }
        if (pool instanceof ForksafeThreadPool hooked) {
            System.out.println("CREATED " + hooked.threadsCreated());
        }
    }

    /** A blocking handler, which Jetty runs on a virtual thread when the pool has a virtual-threads executor. */
    static final class Probe extends Handler.Abstract {
        @Override
        public boolean handle(Request request, Response response, Callback callback) throws Exception {
            Thread t = Thread.currentThread();
            boolean virtual = (Boolean) Thread.class.getMethod("isVirtual").invoke(t);
            response.write(true, ByteBuffer.wrap((virtual + " " + t).getBytes(StandardCharsets.UTF_8)), callback);
            return true;
        }
    }
}
