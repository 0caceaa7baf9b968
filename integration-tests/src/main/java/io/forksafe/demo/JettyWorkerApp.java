package io.forksafe.demo;

import io.forksafe.ForkEvent;
import io.forksafe.ForkRegistry;
import io.forksafe.Forksafe;
import io.forksafe.WorkerExit;
import io.forksafe.jetty.ForksafeJetty;

import org.eclipse.jetty.server.Handler;
import org.eclipse.jetty.server.NetworkConnector;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import org.eclipse.jetty.server.handler.ContextHandlerCollection;
import org.eclipse.jetty.server.handler.ContextHandler;
import org.eclipse.jetty.util.Callback;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;

/**
 * A Jetty worker application, usable stand-alone or as a worker of the forksafe arbiter. It serves a hello handler on
 * {@code /} and the forksafe status on {@code /forksafe/status}, prints each forksafe event, and stops cleanly on
 * SIGTERM (publishing WorkerExit for every thread and for the process).
 *
 * <p>Stand-alone it binds {@code --host} (default 127.0.0.1) and {@code --port} (default 8080; 0 picks a free port).
 * Under the arbiter ({@code FORKSAFE_ARBITER_PID} set and the listening socket passed as the inherited channel),
 * {@code ForksafeJetty.install} makes the connector adopt that socket instead, so {@code --port} is ignored.
 * On start it prints {@code JettyWorkerApp listening on http://<host>:<port> pid <pid>}.
 *
 * <pre>{@code
 * java -cp "$(cat integration-tests/target/demo-classpath.txt):integration-tests/target/classes" \
 *     io.forksafe.demo.JettyWorkerApp --port 8080
 * }</pre>
 */
public final class JettyWorkerApp {

    private JettyWorkerApp() {
    }

    public static void main(String[] args) throws Exception {
        String host = "127.0.0.1";
        int port = 8080;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--host" -> host = value(args, ++i, "--host");
                case "--port" -> {
                    String p = value(args, ++i, "--port");
                    try {
                        port = Integer.parseInt(p);
                    } catch (NumberFormatException e) {
                        throw usage("--port needs a number between 0 and 65535, got '" + p + "'");
                    }
                }
                case "--help", "-h" -> {
                    System.out.println("usage: JettyWorkerApp [--host 127.0.0.1] [--port 8080]");
                    return;
                }
                default -> throw usage("unknown argument '" + args[i] + "'");
            }
        }
        if (port < 0 || port > 65535) {
            throw usage("--port needs a number between 0 and 65535, got " + port);
        }

        ForkRegistry registry = Forksafe.registry();
        registry.subscribe(ForkEvent.class, "worker-app.printer", 0, e -> System.out.println("event "
                + e.type().displayName() + " worker=" + e.worker().name() + " kind=" + e.worker().kind()
                + (e instanceof WorkerExit x ? " reason=" + x.reason() : "")));

        Server server = new Server(ForksafeJetty.threadPool());
        ServerConnector connector = new ServerConnector(server);
        connector.setHost(host);
        connector.setPort(port);
        server.addConnector(connector);
        ContextHandlerCollection contexts = new ContextHandlerCollection();
        contexts.addHandler(ForksafeJetty.statusContext("/forksafe/status"));
        contexts.addHandler(new ContextHandler(new Hello(), "/"));
        server.setHandler(contexts);
        // Graceful stop on SIGTERM (the arbiter's rolling restart and stop): the connector stops accepting and the
        // connections it already accepted finish. With Jetty's default of 0 they are closed at once, which failed
        // about 1 request in 8,000 during a SIGHUP under load.
        server.setStopTimeout(10_000);
        server.setStopAtShutdown(true);
        ForksafeJetty.install(server);
        server.start();

        NetworkConnector c = (NetworkConnector) server.getConnectors()[0];
        System.out.println("JettyWorkerApp listening on http://" + (c.getHost() == null ? "0.0.0.0" : c.getHost())
                + ":" + c.getLocalPort() + " pid " + ProcessHandle.current().pid() + " status " + registry.status()
                .status());
        System.out.flush();
        server.join();
    }

    private static String value(String[] args, int i, String option) {
        if (i >= args.length) {
            throw usage(option + " needs a value");
        }
        return args[i];
    }

    private static IllegalArgumentException usage(String problem) {
        return new IllegalArgumentException(problem + "; usage: JettyWorkerApp [--host 127.0.0.1] [--port 8080]");
    }

    /**
     * Says which process and thread answered. The pid is this worker's as the registry knows it: in a copy restored by
     * {@code --preload} that is the copy's own pid, where {@code ProcessHandle.current().pid()} still gives the
     * template's (the JDK caches it), so a client can tell every copy apart (the benchmarks' kill -9 anchor does).
     */
    static final class Hello extends Handler.Abstract {
        @Override
        public boolean handle(Request request, Response response, Callback callback) {
            long pid = Forksafe.registry().processWorker().pid();
            if (pid <= 0) {
                pid = ProcessHandle.current().pid();
            }
            response.write(true, ByteBuffer.wrap(("hello from pid " + pid + " thread "
                    + Thread.currentThread().getName() + "\n").getBytes(StandardCharsets.UTF_8)), callback);
            return true;
        }
    }
}
