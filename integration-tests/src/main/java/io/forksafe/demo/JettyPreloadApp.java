package io.forksafe.demo;

import io.forksafe.ContainerInfo;
import io.forksafe.ForkEvent;
import io.forksafe.ForkLocal;
import io.forksafe.ForkRegistry;
import io.forksafe.Forksafe;
import io.forksafe.PreFork;
import io.forksafe.WorkerInfo;
import io.forksafe.WorkerKind;
import io.forksafe.jetty.ForksafeJetty;
import io.forksafe.arbiter.PreloadWorker;
import io.forksafe.recipes.RandomReseed;

import org.eclipse.jetty.io.EndPoint;
import org.eclipse.jetty.server.Handler;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import org.eclipse.jetty.server.handler.ContextHandler;
import org.eclipse.jetty.server.handler.ContextHandlerCollection;
import org.eclipse.jetty.util.Callback;

import java.io.InputStream;
import java.net.Socket;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Random;
import java.util.UUID;
import java.util.function.Supplier;

/**
 * A Jetty app made to be cloned by the preload mode (CRIU): it listens with {@code SO_REUSEPORT} (every restored copy
 * brings back its own listening socket on the same port), warms itself up with requests to its own server, and
 * serves on {@code /} the {@link Random} value and {@link UUID} it drew at start-up, the next value of that Random and
 * which worker answered.
 *
 * <p>{@code --fix}: the start-up values live in a {@link ForkLocal} and the Random is reseeded by
 * {@link RandomReseed} on {@code PostFork}, so every copy has its own. Without it the copies are exact clones and
 * serve identical values (the trap).
 *
 * <p>The hooks every preloaded Jetty app needs, shown here: a {@code PreFork} hook that closes the connector's open
 * connections (CRIU refuses to dump established TCP connections, and they must not be cloned anyway), and the
 * {@link PreloadWorker#awaitServing} gate, so no request runs in a copy before its {@code PostFork} hooks did.
 *
 * <pre>{@code
 * java -cp "$(cat integration-tests/target/demo-classpath.txt):integration-tests/target/classes" \
 *     io.forksafe.demo.JettyPreloadApp --port 8080 [--fix]
 * }</pre>
 */
public final class JettyPreloadApp {

    private JettyPreloadApp() {
    }

    public static void main(String[] args) throws Exception {
        int port = 8080;
        boolean fix = false;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--port" -> port = Integer.parseInt(args[++i]);
                case "--fix" -> fix = true;
                default -> throw new IllegalArgumentException("unknown argument '" + args[i]
                        + "'; usage: JettyPreloadApp [--port 8080] [--fix]");
            }
        }
        ForkRegistry registry = Forksafe.registry();
        ContainerInfo container = ContainerInfo.of("jetty", Server.getVersion());
        registry.subscribe(ForkEvent.class, "preload-app.printer", 0, e -> System.out.println("event "
                + e.type().displayName() + " worker=" + e.worker().name() + " kind=" + e.worker().kind()
                + " slot=" + e.worker().slot() + " generation=" + e.worker().generation() + " pid=" + e.worker().pid()));
        PreloadWorker preload = PreloadWorker.isTemplate()
                ? PreloadWorker.attach(registry, container).deferReadiness() : null;

        Random random = new Random();
        Supplier<String> startup;
        if (fix) {
            RandomReseed.install(registry, random);
            ForkLocal<String> values = ForkLocal.of(registry, "startup-values",
                    () -> random.nextLong() + "," + UUID.randomUUID());
            values.get();
            startup = values::get;
        } else {
            String values = random.nextLong() + "," + UUID.randomUUID();
            startup = () -> values;
        }

        Server server = new Server(ForksafeJetty.threadPool());
        ServerConnector connector = new ServerConnector(server);
        var bind = PreloadWorker.bindAddress();   // the preloader's --bind wins over --port
        connector.setHost(bind.map(a -> a.getHostString()).orElse("127.0.0.1"));
        connector.setPort(bind.map(a -> a.getPort()).orElse(port));
        connector.setReusePort(true);
        server.addConnector(connector);
        ContextHandlerCollection contexts = new ContextHandlerCollection();
        contexts.addHandler(ForksafeJetty.statusContext("/forksafe/status"));
        contexts.addHandler(new ContextHandler(new Values(preload, startup, random), "/"));
        server.setHandler(contexts);
        server.setStopAtShutdown(true);
        // No open connection may be in the image: close them when the template quiesces. Only for the checkpoint
        // (kind RESTORE): Jetty's forksafe thread pool publishes PreFork for every new worker thread too.
        registry.subscribe(PreFork.class, "jetty-close-connections", 0, e -> {
            if (e.worker().kind() == WorkerKind.RESTORE) {
                connector.getConnectedEndPoints().forEach(EndPoint::close);
            }
        });
        ForksafeJetty.install(server, registry);
        server.start();
        int bound = connector.getLocalPort();
        for (int i = 0; i < 50; i++) {
            warmUp(bound);
        }
        System.out.println("JettyPreloadApp listening on http://" + connector.getHost() + ":" + bound + " pid "
                + ProcessHandle.current().pid());
        System.out.flush();
        if (preload != null) {
            preload.ready();
        }
        server.join();
    }

    private static void warmUp(int port) throws Exception {
        try (Socket s = new Socket("127.0.0.1", port)) {
            s.getOutputStream().write("GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
                    .getBytes(StandardCharsets.US_ASCII));
            try (InputStream in = s.getInputStream()) {
                in.readAllBytes();
            }
        }
    }

    /** Serves the start-up values and which worker answered. */
    static final class Values extends Handler.Abstract {
        private final PreloadWorker preload;
        private final Supplier<String> startup;
        private final Random random;

        Values(PreloadWorker preload, Supplier<String> startup, Random random) {
            this.preload = preload;
            this.startup = startup;
            this.random = random;
        }

        @Override
        public boolean handle(Request request, Response response, Callback callback) throws Exception {
            if (preload != null && !preload.awaitServing(Duration.ofSeconds(30))) {
                Response.writeError(request, response, callback, 503);
                return true;
            }
            WorkerInfo w = preload != null ? preload.worker() : Forksafe.registry().processWorker();
            String body = "slot=" + w.slot() + " generation=" + w.generation() + " pid=" + w.pid() + " kind="
                    + w.kind() + " startup=" + startup.get() + " next=" + random.nextLong() + "\n";
            response.write(true, ByteBuffer.wrap(body.getBytes(StandardCharsets.UTF_8)), callback);
            return true;
        }
    }
}
