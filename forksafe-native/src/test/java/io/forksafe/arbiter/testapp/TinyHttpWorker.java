package io.forksafe.arbiter.testapp;

import io.forksafe.spi.HostContext;
import io.forksafe.ContainerInfo;
import io.forksafe.ForkRegistry;
import io.forksafe.Forksafe;
import io.forksafe.StatusEndpoint;
import io.forksafe.WorkerInfo;
import io.forksafe.arbiter.ArbiterWorker;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.channels.Channel;
import java.nio.channels.Channels;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A minimal worker application for the arbiter's process tests: accepts on the inherited listening socket
 * (fd 0) with a hand-written HTTP/1.1 responder, publishes PostWorkerInit once it accepts, and on SIGTERM stops
 * accepting and finishes in-flight requests.
 *
 * <ul>
 *   <li>{@code GET /} - "pid=... slot=... generation=..."</li>
 *   <li>{@code GET /slow?ms=N} - the same after N ms</li>
 *   <li>{@code GET /status} - this worker's forksafe status JSON</li>
 *   <li>{@code GET /stick} - installs a liveness check that fails, so heartbeats stop</li>
 *   <li>{@code GET /alloc?mb=N} - allocates N MiB more and keeps it (touched, so it is resident)</li>
 * </ul>
 * Requests reach the arbiter's request limits as an adapter's do (through {@code RequestTracker}), or with
 * {@code TESTAPP_READY_VIA=api} as an application without an adapter does ({@code ArbiterWorker.requestServed()}).
 * Environment: {@code TESTAPP_BOOT_DELAY_MS} delays readiness; {@code TESTAPP_READY_VIA=api} reports readiness with
 * {@code ArbiterWorker.ready()} (a server without an adapter) instead of publishing PostWorkerInit and WorkerExit
 * itself (as an adapter does).
 */
public final class TinyHttpWorker {

    private static final AtomicInteger IN_FLIGHT = new AtomicInteger();
    private static final ContainerInfo TINY = ContainerInfo.of("tiny-http", "1");
    private static final boolean READY_VIA_API = "api".equals(System.getenv("TESTAPP_READY_VIA"));
    private static volatile boolean running = true;

    private TinyHttpWorker() {
    }

    public static void main(String[] args) throws Exception {
        Channel inherited = System.inheritedChannel();
        if (!(inherited instanceof ServerSocketChannel server)) {
            System.err.println("tiny worker: no inherited listening socket: " + inherited);
            System.exit(1);
            return;
        }
        ForkRegistry registry = Forksafe.registry();
        ExecutorService pool = Executors.newFixedThreadPool(32, r -> {
            Thread t = new Thread(r, "tiny-handler");
            t.setDaemon(true);
            return t;
        });
        Thread acceptor = new Thread(() -> {
            while (running) {
                try {
                    SocketChannel c = server.accept();
                    IN_FLIGHT.incrementAndGet();
                    pool.execute(() -> handle(c, registry));
                } catch (IOException e) {
                    if (!running) {
                        return;
                    }
                }
            }
        }, "tiny-acceptor");
        acceptor.start();
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            running = false;
            try {
                server.close();
                acceptor.join(5000);
            } catch (IOException | InterruptedException ignored) {
                // stopping
            }
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
            while (IN_FLIGHT.get() > 0 && System.nanoTime() < deadline) {
                try {
                    Thread.sleep(10);
                } catch (InterruptedException e) {
                    return;
                }
            }
            System.out.println("tiny worker: stopped accepting, in-flight done");
            if (!READY_VIA_API) {
                // like a container adapter that published PostWorkerInit: it also publishes WorkerExit
                HostContext.of(Forksafe.registry()).workerExit(Forksafe.registry().processWorker(), TINY, "server stopped");
            }
        }, "tiny-graceful"));
        long delay = Long.parseLong(System.getenv().getOrDefault("TESTAPP_BOOT_DELAY_MS", "0"));
        if (delay > 0) {
            Thread.sleep(delay);
        }
        WorkerInfo me = registry.processWorker();
        if (READY_VIA_API) {
            ArbiterWorker.attach(registry).ready(); // as a server without a forksafe adapter would
        } else {
            // as the Jetty and Undertow adapters do: at once, or in a standby at its promotion
            io.forksafe.spi.ServingGate.of(registry).whenServing("tiny-http", () -> {
                try {
                    HostContext.of(registry).postWorkerInit(registry.processWorker(), TINY);
                } catch (io.forksafe.ForkHookException e) {
                    // as an adapter does: the failure is in the status (and reaches the arbiter); the server serves
                    System.err.println("tiny worker: a PostWorkerInit hook failed: " + e.getMessage());
                }
            });
        }
        System.out.println("tiny worker serving: slot " + me.slot() + " generation " + me.generation());
    }

    private static void handle(SocketChannel c, ForkRegistry registry) {
        io.forksafe.spi.RequestTracker tracker = io.forksafe.spi.RequestTracker.of(registry);
        io.forksafe.spi.RequestTracker.Request tracked = !READY_VIA_API && tracker.enabled() ? tracker.begin() : null;
        try (c) {
            BufferedReader in = new BufferedReader(new InputStreamReader(Channels.newInputStream(c), StandardCharsets.US_ASCII));
            String requestLine = in.readLine();
            String line;
            while ((line = in.readLine()) != null && !line.isEmpty()) {
                // headers ignored
            }
            if (requestLine == null) {
                return;
            }
            String path = requestLine.split(" ").length > 1 ? requestLine.split(" ")[1] : "/";
            WorkerInfo me = registry.processWorker();
            int status = 200;
            String type = "text/plain";
            String body;
            if (path.startsWith("/slow")) {
                long ms = Long.parseLong(path.substring(path.indexOf("ms=") + 3));
                System.out.println("tiny worker: slow request started (" + ms + " ms)");
                Thread.sleep(ms);
                body = "pid=" + me.pid() + " slot=" + me.slot() + " generation=" + me.generation() + " slept=" + ms + "\n";
            } else if (path.startsWith("/alloc")) {
                int mb = Ballast.megabytes(path);
                int kept = Ballast.allocate(mb);
                System.out.println("tiny worker: allocated and kept " + mb + " MiB (" + kept + " MiB in all)");
                body = "allocated=" + mb + " pid=" + me.pid() + "\n";
            } else if (path.startsWith("/stick")) {
                // the application declares itself stuck: heartbeats stop while the JVM keeps running
                ArbiterWorker.attach(registry).livenessCheck(() -> false);
                body = "stuck pid=" + me.pid() + "\n";
            } else if (path.startsWith("/status")) {
                StatusEndpoint.Response r = StatusEndpoint.loopbackOnly(registry)
                        .respond(((InetSocketAddress) c.getRemoteAddress()).getAddress(), null);
                status = r.status();
                type = r.contentType();
                body = r.body();
            } else {
                body = "pid=" + me.pid() + " slot=" + me.slot() + " generation=" + me.generation() + "\n";
            }
            byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
            OutputStream out = Channels.newOutputStream(c);
            out.write(("HTTP/1.1 " + status + " OK\r\nContent-Type: " + type + "\r\nContent-Length: " + bytes.length
                    + "\r\nConnection: close\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
            out.write(bytes);
            out.flush();
            if (READY_VIA_API) {
                ArbiterWorker.attach(registry).requestServed(); // an application without an adapter
            }
        } catch (IOException | InterruptedException | RuntimeException e) {
            // client went away
        } finally {
            if (tracked != null) {
                tracker.end(tracked);
            }
            IN_FLIGHT.decrementAndGet();
        }
    }
}
