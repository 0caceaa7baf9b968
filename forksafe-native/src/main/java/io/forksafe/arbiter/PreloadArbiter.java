package io.forksafe.arbiter;

import io.forksafe.ForkEvent;
import io.forksafe.ForkRegistry;

import java.io.IOException;
import java.io.PrintStream;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * The {@link Arbiter}'s engine for {@link ArbiterConfig#preload()}: instead of spawning every worker JVM cold, it
 * boots one template worker, waits until it is warm, fires {@code PreFork} (kind RESTORE) in it, checkpoints it with
 * CRIU and restores one copy per slot; a dead worker is replaced by restoring again. Built on {@link Preloader}; see
 * docs/preload.md. Which options it supports is in the options table (the modes of
 * {@code io.forksafe.arbiter.internal.ArbiterOption}), checked by {@link ArbiterConfig.Builder#build()}.
 *
 * <p>{@link #start()} checks CRIU, the pid file and the status port at once, then boots, checkpoints and restores in
 * the background, as spawn mode boots its workers; a failure there halts the arbiter ({@link #join()} returns 1,
 * {@link #haltReason()} says why). {@link #reload()} is ignored with a message: the image is the application as it
 * was, so a new version needs a new arbiter.
 */
final class PreloadArbiter implements Arbiter.Engine {

    private final ArbiterConfig config;
    private final ForkRegistry registry;
    private final PrintStream err;
    private final String label = "[arbiter pid " + ProcessHandle.current().pid() + "]";
    private final AtomicBoolean started = new AtomicBoolean();
    private final AtomicBoolean stopping = new AtomicBoolean();
    private final CountDownLatch stopped = new CountDownLatch(1);
    private volatile Preloader preloader;
    private volatile Thread runner;
    private volatile com.sun.net.httpserver.HttpServer status;
    private volatile int exitCode;
    private volatile String haltReason;

    PreloadArbiter(ArbiterConfig config, ForkRegistry registry) {
        this.config = config;
        this.registry = registry;
        this.err = config.err();
    }

    @Override
    public void start() throws IOException {
        if (!started.compareAndSet(false, true)) {
            throw new IllegalStateException("already started");
        }
        try {
            Criu.requireUsable();
        } catch (RuntimeException e) {
            stopped.countDown(); // never started: join() returns at once
            throw e;
        }
        InetSocketAddress bind = config.bind();
        String host = bind.getAddress() instanceof Inet6Address ? "[" + bind.getAddress().getHostAddress() + "]"
                : bind.getAddress().getHostAddress();
        String hostPort = host + ":" + bind.getPort();
        Preloader.Builder b = Preloader.builder()
                .java(config.javaCommand())
                .jvmOptions(config.jvmOptions())
                .classpath(config.classpath())
                .mainClass(config.mainClass())
                .args(config.args().toArray(String[]::new))
                .bind(hostPort)
                .workDir(config.workDir())
                .bootTimeout(config.bootTimeout())
                .gracefulTimeout(config.gracefulTimeout())
                .registry(registry);
        config.environment().forEach(b::env);
        preloader = b.build();
        if (config.printEvents()) {
            registry.subscribe(ForkEvent.class, "forksafe.arbiter.preload.printer", 0, e -> err.println(
                    label + " event " + e.type().displayName() + " " + e.worker().name() + " generation "
                            + e.worker().generation() + " pid " + e.worker().pid()));
        }
        try {
            if (config.pidfile() != null) {
                Files.writeString(config.pidfile(), ProcessHandle.current().pid() + "\n");
            }
            if (config.statusPort() != null) {
                status = statusServer(registry, config.statusPort());
                err.println(label + " status on http://127.0.0.1:" + status.getAddress().getPort() + "/");
            }
        } catch (IOException | RuntimeException e) {
            cleanUp();
            stopped.countDown();
            if (e instanceof java.net.BindException) {
                throw new java.net.BindException("--status-port " + config.statusPort() + " is already in use: "
                        + "choose another, or 0 for any free port");
            }
            throw e;
        }
        runner = new Thread(() -> run(hostPort), "forksafe-preload");
        runner.start();
    }

    private void run(String hostPort) {
        try {
            preloader.start();
            err.println(label + " --preload: template checkpointed in " + preloader.figures().get("dumpMillis")
                    + " ms (" + preloader.figures().get("imageBytes") + " bytes); restoring " + config.workers()
                    + " workers");
            preloader.keep(config.workers());
            err.println(label + " serving on " + hostPort + ": " + preloader.copies());
        } catch (RuntimeException e) {
            if (!stopping.get()) {
                haltReason = e.getMessage();
                exitCode = 1;
                err.println("forksafe arbiter: --preload: " + e.getMessage());
                stop();
            }
        }
    }

    @Override
    public void stop() {
        if (!started.get()) {
            stopped.countDown();
            return;
        }
        if (!stopping.compareAndSet(false, true)) {
            return;
        }
        Thread t = new Thread(() -> {
            try {
                err.println(label + " stopping");
                Thread r = runner;
                if (r != null && r != Thread.currentThread()) {
                    r.interrupt(); // a boot or restore in progress gives up at once
                    r.join();
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            } finally {
                cleanUp();
                stopped.countDown();
            }
        }, "forksafe-preload-stop");
        t.start();
    }

    private void cleanUp() {
        try {
            if (preloader != null) {
                preloader.close();
            }
        } catch (RuntimeException e) {
            err.println("forksafe arbiter: --preload: stopping failed: " + e.getMessage());
        }
        if (status != null) {
            status.stop(0);
        }
        if (config.pidfile() != null) {
            try {
                Files.deleteIfExists(config.pidfile());
            } catch (IOException ignored) {
                // best effort
            }
        }
    }

    @Override
    public void reload() {
        err.println(label + " reload (SIGHUP) ignored: --preload restores one image of the application; start a new "
                + "arbiter to deploy a new version");
    }

    @Override
    public void increment() {
        resize(+1);
    }

    @Override
    public void decrement() {
        resize(-1);
    }

    private void resize(int delta) {
        Preloader p = preloader;
        if (p == null || p.kept() == 0 || stopping.get()) {
            err.println(label + " --preload: not serving yet, so not resized");
            return;
        }
        Thread t = new Thread(() -> {
            try {
                p.resize(Math.max(1, p.kept() + delta));
            } catch (RuntimeException e) {
                err.println("forksafe arbiter: --preload: " + e.getMessage());
            }
        }, "forksafe-preload-resize");
        t.setDaemon(true);
        t.start();
    }

    @Override
    public int join() throws InterruptedException {
        stopped.await();
        return exitCode;
    }

    @Override
    public boolean join(Duration timeout) throws InterruptedException {
        return stopped.await(timeout.toNanos(), TimeUnit.NANOSECONDS);
    }

    @Override
    public boolean stopped() {
        return stopped.getCount() == 0;
    }

    @Override
    public String haltReason() {
        return haltReason;
    }

    /** The configured address: every copy listens there itself, with SO_REUSEPORT. */
    @Override
    public InetSocketAddress address() {
        return started.get() ? config.bind() : null;
    }

    @Override
    public InetSocketAddress statusAddress() {
        var s = status;
        return s == null ? null : new InetSocketAddress(InetAddress.getLoopbackAddress(), s.getAddress().getPort());
    }

    @Override
    public int targetWorkers() {
        Preloader p = preloader;
        return p == null || p.kept() == 0 ? config.workers() : p.kept();
    }

    /** The copies, in the spawn mode's words: a restore in progress is "booting", a dead copy "exited". */
    @Override
    public List<Arbiter.WorkerStatus> workers() {
        Preloader p = preloader;
        if (p == null) {
            return List.of();
        }
        return p.copies().stream().map(c -> new Arbiter.WorkerStatus(c.slot(), c.hostPid(), c.generation(),
                switch (c.state()) {
                    case RESTORING -> "booting";
                    case READY -> "ready";
                    case DEAD -> "exited";
                }, (int) c.generation(), -1, null)).toList();
    }

    /**
     * The status on 127.0.0.1 through {@link io.forksafe.StatusEndpoint#loopbackOnly}. The JDK's HttpServer is safe
     * here: the preloader starts processes with {@code ProcessBuilder}, which closes every descriptor above 2 in the
     * child, so no status connection leaks into the template or a restore.
     */
    static com.sun.net.httpserver.HttpServer statusServer(ForkRegistry registry, int port) throws IOException {
        io.forksafe.StatusEndpoint endpoint = io.forksafe.StatusEndpoint.loopbackOnly(registry);
        com.sun.net.httpserver.HttpServer server = com.sun.net.httpserver.HttpServer.create(
                new InetSocketAddress(InetAddress.getLoopbackAddress(), port), 16);
        server.createContext("/", exchange -> {
            String query = exchange.getRequestURI().getQuery();
            String format = query != null && query.toLowerCase(Locale.ROOT).contains("format=text") ? "text" : "json";
            io.forksafe.StatusEndpoint.Response r = endpoint.respond(exchange.getRemoteAddress().getAddress(), format);
            byte[] body = r.body().getBytes(java.nio.charset.StandardCharsets.UTF_8);
            exchange.getResponseHeaders().set("Content-Type", r.contentType());
            exchange.sendResponseHeaders(r.status(), body.length);
            try (var out = exchange.getResponseBody()) {
                out.write(body);
            }
        });
        server.start();
        return server;
    }
}
