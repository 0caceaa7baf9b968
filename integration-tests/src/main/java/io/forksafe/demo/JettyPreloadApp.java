package io.forksafe.demo;

import io.forksafe.ContainerInfo;
import io.forksafe.ForkEvent;
import io.forksafe.ForkLocal;
import io.forksafe.ForkRegistry;
import io.forksafe.Forksafe;
import io.forksafe.WorkerInfo;
import io.forksafe.jetty.ForksafeJetty;
import io.forksafe.arbiter.PreloadWorker;
import io.forksafe.recipes.RandomReseed;

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
import java.util.Random;
import java.util.UUID;
import java.util.function.Supplier;

/**
 * A Jetty app made to be cloned by the preload mode (CRIU): it warms itself up with requests to its own server before
 * the checkpoint, and serves on {@code /} the {@link Random} value and {@link UUID} it drew at start-up, the next
 * value of that Random and which worker answered. It is an ordinary Jetty app: under the arbiter, forksafe-jetty
 * serves the socket the arbiter passes (in the template a private one, in each copy the arbiter's own), stops
 * accepting and closes its connections for the checkpoint, and accepts again once a copy's {@code PostFork} hooks ran.
 *
 * <p>{@code --fix}: the start-up values live in a {@link ForkLocal} and the Random is reseeded by
 * {@link RandomReseed} on {@code PostFork}, so every copy has its own. Without it the copies are exact clones and
 * serve identical values (the trap).
 *
 * <p>{@link PreloadWorker#deferReadiness()} and {@link PreloadWorker#ready()}: the template is checkpointed only after
 * its warm-up requests, not as soon as the server started.
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
        connector.setHost("127.0.0.1");
        connector.setPort(port);   // under the arbiter, forksafe-jetty serves the socket it passes instead
        server.addConnector(connector);
        ContextHandlerCollection contexts = new ContextHandlerCollection();
        contexts.addHandler(ForksafeJetty.statusContext("/forksafe/status"));
        contexts.addHandler(new ContextHandler(new Values(startup, random), "/"));
        server.setHandler(contexts);
        server.setStopAtShutdown(true);
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
        private final Supplier<String> startup;
        private final Random random;

        Values(Supplier<String> startup, Random random) {
            this.startup = startup;
            this.random = random;
        }

        @Override
        public boolean handle(Request request, Response response, Callback callback) throws Exception {
            WorkerInfo w = Forksafe.registry().processWorker();
            String body = "slot=" + w.slot() + " generation=" + w.generation() + " pid=" + w.pid() + " kind="
                    + w.kind() + " startup=" + startup.get() + " next=" + random.nextLong() + "\n";
            response.write(true, ByteBuffer.wrap(body.getBytes(StandardCharsets.UTF_8)), callback);
            return true;
        }
    }
}
