package io.forksafe.demo;

import io.forksafe.ForkEvent;
import io.forksafe.ForkRegistry;
import io.forksafe.Forksafe;
import io.forksafe.undertow.ForksafeUndertow;
import io.undertow.Handlers;
import io.undertow.Undertow;
import io.undertow.server.handlers.BlockingHandler;

import java.net.InetSocketAddress;
import java.nio.channels.ServerSocketChannel;
import java.util.concurrent.CountDownLatch;

/**
 * A small Undertow application usable as a forksafe arbiter worker: {@code /} says hello, {@code /forksafe/status}
 * serves the status. Under the arbiter (listening socket inherited as fd 0, {@code FORKSAFE_ARBITER_PID} set) it
 * serves the inherited socket; otherwise pass {@code --port N} (0 picks a free port). It stops cleanly on SIGTERM,
 * publishing the process WorkerExit and shutting down every thread it started.
 *
 * <pre>{@code
 * java -cp "$(cat integration-tests/target/demo-classpath.txt):integration-tests/target/classes" \
 *     io.forksafe.demo.UndertowWorkerApp --port 8080
 * }</pre>
 */
public final class UndertowWorkerApp {

    private UndertowWorkerApp() {
    }

    public static void main(String[] args) throws Exception {
        Integer port = null;
        String host = "127.0.0.1";
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--port" -> port = Integer.parseInt(value(args, ++i, "--port"));
                case "--host" -> host = value(args, ++i, "--host");
                default -> usage("unknown argument " + args[i]);
            }
        }
        ServerSocketChannel inherited = ForksafeUndertow.inheritedServerChannel();
        if (port == null && inherited == null) {
            usage("no listening socket was inherited (not started by the forksafe arbiter): pass --port N");
        }

        ForkRegistry registry = Forksafe.registry();
        Forksafe.autoconfigure();
        registry.subscribe(ForkEvent.class, "worker-app.printer", 0,
                e -> System.out.printf("event %s worker=%s kind=%s slot=%d gen=%d%n", e.type().displayName(),
                        e.worker().name(), e.worker().kind(), e.worker().slot(), e.worker().generation()));

        long pid = ProcessHandle.current().pid();
        Undertow.Builder builder = ForksafeUndertow.install(Undertow.builder())
                .setHandler(Handlers.path(new BlockingHandler(exchange -> exchange.getResponseSender()
                                .send("hello from pid " + pid + " on " + Thread.currentThread().getName() + "\n")))
                        .addExactPath("/forksafe/status", ForksafeUndertow.statusHandler()));
        if (port != null) {
            builder.addHttpListener(port, host);
        }
        Undertow server = builder.build();
        if (inherited != null && !ForksafeUndertow.isArbiterWorker()) {
            ForksafeUndertow.adoptChannel(server, inherited); // under the arbiter, start() adopts it by itself
        }
        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            ForksafeUndertow.stop(server);
            System.out.println("worker-app stopped");
            System.out.flush();
            stopped.countDown();
        }, "worker-app-shutdown"));
        ForksafeUndertow.start(server);
        if (port != null) {
            int actual = ((InetSocketAddress) server.getListenerInfo().get(0).getAddress()).getPort();
            System.out.println("listening on http://" + host + ":" + actual);
        }
        for (InetSocketAddress a : ForksafeUndertow.adoptedAddresses(server)) {
            System.out.println("serving inherited socket http://" + a.getHostString() + ":" + a.getPort());
        }
        System.out.flush();
        stopped.await();
    }

    private static String value(String[] args, int i, String flag) {
        if (i >= args.length) {
            usage(flag + " needs a value");
        }
        return args[i];
    }

    private static void usage(String problem) {
        System.err.println("UndertowWorkerApp: " + problem);
        System.err.println("usage: UndertowWorkerApp [--port N] [--host 127.0.0.1]   (no --port: serve the socket "
                + "inherited from the forksafe arbiter)");
        System.exit(2);
    }
}
