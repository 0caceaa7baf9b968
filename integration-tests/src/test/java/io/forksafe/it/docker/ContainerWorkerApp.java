package io.forksafe.it.docker;

import io.forksafe.ForkEvent;
import io.forksafe.ForkRegistry;
import io.forksafe.Forksafe;
import io.forksafe.WorkerExit;
import io.forksafe.jetty.ForksafeJetty;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

import org.eclipse.jetty.server.Handler;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import org.eclipse.jetty.server.handler.ContextHandler;
import org.eclipse.jetty.server.handler.ContextHandlerCollection;
import org.eclipse.jetty.util.Callback;
import org.eclipse.jetty.util.Fields;

/**
 * The Jetty worker the Docker tests run under the arbiter: the demo's {@code JettyWorkerApp} set-up (forksafe thread
 * pool, {@code ForksafeJetty.install}, which adopts the arbiter's socket, graceful stop with a stop timeout) plus two
 * endpoints a test needs and a demo should not have:
 * <ul>
 *   <li>{@code /slow?ms=N}: answers after N ms (prints {@code slow request started} first), for a stop during a
 *       request;</li>
 *   <li>{@code /allocate}: keeps allocating and touching heap until the kernel's OOM killer ends the process (start
 *       the worker with an {@code -Xmx} above the container's memory limit). If the Java heap runs out first, it
 *       answers 507 saying so.</li>
 * </ul>
 * {@code /} answers {@code hello from pid <pid>}; {@code /forksafe/status} is the worker's forksafe status.
 */
public final class ContainerWorkerApp {

    /** Heap kept reachable by {@code /allocate}, so nothing is collected. */
    private static final List<byte[]> HOG = new ArrayList<>();

    private ContainerWorkerApp() {
    }

    public static void main(String[] args) throws Exception {
        if (args.length > 0) {
            throw new IllegalArgumentException("ContainerWorkerApp takes no arguments (it serves the arbiter's "
                    + "inherited socket), got " + String.join(" ", args));
        }
        ForkRegistry registry = Forksafe.registry();
        registry.subscribe(ForkEvent.class, "container-worker.printer", 0, e -> System.out.println("event "
                + e.type().displayName() + " worker=" + e.worker().name() + " kind=" + e.worker().kind()
                + (e instanceof WorkerExit x ? " reason=" + x.reason() : "")));

        Server server = new Server(ForksafeJetty.threadPool());
        ServerConnector connector = new ServerConnector(server);
        connector.setHost("127.0.0.1");
        connector.setPort(0);
        server.addConnector(connector);
        ContextHandlerCollection contexts = new ContextHandlerCollection();
        contexts.addHandler(ForksafeJetty.statusContext("/forksafe/status"));
        contexts.addHandler(new ContextHandler(new Routes(), "/"));
        server.setHandler(contexts);
        server.setStopTimeout(10_000);     // in-flight requests finish on SIGTERM (see JettyWorkerApp)
        server.setStopAtShutdown(true);
        ForksafeJetty.install(server);
        server.start();
        System.out.println("ContainerWorkerApp serving, pid " + ProcessHandle.current().pid());
        System.out.flush();
        server.join();
    }

    private static long pid() {
        return ProcessHandle.current().pid();
    }

    private static boolean write(Response response, int status, String text, Callback callback) {
        response.setStatus(status);
        response.write(true, ByteBuffer.wrap(text.getBytes(StandardCharsets.UTF_8)), callback);
        return true;
    }

    /** {@code /slow}, {@code /allocate}, and {@code hello from pid <pid>} for any other path. */
    static final class Routes extends Handler.Abstract {
        @Override
        public boolean handle(Request request, Response response, Callback callback) throws Exception {
            return switch (Request.getPathInContext(request)) {
                case "/slow" -> slow(request, response, callback);
                case "/allocate" -> allocate(response, callback);
                default -> write(response, 200, "hello from pid " + pid() + "\n", callback);
            };
        }
    }

    /** Answers after {@code ms} milliseconds (default 3000), blocking its thread like a slow application would. */
    private static boolean slow(Request request, Response response, Callback callback) throws InterruptedException {
        Fields query = Request.extractQueryParameters(request);
        long ms = Long.parseLong(query.getValue("ms") == null ? "3000" : query.getValue("ms"));
        System.out.println("slow request started pid " + pid() + " ms " + ms);
        System.out.flush();
        Thread.sleep(ms);
        return write(response, 200, "slow done after " + ms + " ms pid " + pid() + "\n", callback);
    }

    /** Allocates 4 MiB arrays, writing every page, until the process is killed. */
    private static boolean allocate(Response response, Callback callback) {
        System.out.println("allocating until killed, pid " + pid() + " max heap "
                + Runtime.getRuntime().maxMemory() / (1024 * 1024) + " MiB");
        System.out.flush();
        try {
            synchronized (HOG) {
                while (true) {
                    byte[] chunk = new byte[4 * 1024 * 1024];
                    for (int i = 0; i < chunk.length; i += 4096) {
                        chunk[i] = 1;
                    }
                    HOG.add(chunk);
                }
            }
        } catch (OutOfMemoryError e) {
            long held;
            synchronized (HOG) {
                held = HOG.size() * 4L;
                HOG.clear();
            }
            return write(response, 507, "the Java heap ran out at " + held + " MiB before the container's memory "
                    + "limit: start the worker with an -Xmx above the limit\n", callback);
        }
    }
}
