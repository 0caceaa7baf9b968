package io.forksafe.arbiter;

import io.forksafe.ForkEvent;
import io.forksafe.ForkRegistry;
import io.forksafe.Forksafe;

import java.io.IOException;
import java.io.PrintStream;
import java.net.Inet6Address;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;

/**
 * The arbiter's {@code --preload} mode: instead of spawning every worker JVM cold, it boots one template worker, waits
 * until it is warm, fires {@code PreFork} (kind RESTORE) in it, checkpoints it with CRIU and restores one copy per
 * slot; a dead worker is replaced by restoring again. Built on {@link Preloader}; see docs/preload.md.
 *
 * <p>It takes its settings from the same {@link ArbiterConfig}: {@code --workers}, {@code --bind} (passed to the
 * application, which listens there itself with SO_REUSEPORT), {@code --boot-timeout}, {@code --graceful-timeout},
 * {@code --java}, {@code --jvm-opts}/{@code --jvm-opt}, {@code --classpath}, {@code --env}, {@code --status-port},
 * {@code --pidfile} and {@code --print-events}. Signals: TERM/INT stop, TTIN/TTOU one worker more/fewer; HUP is not
 * supported (the image is the application as it was; a new image needs a new arbiter).
 *
 * <pre>{@code
 * java -cp app.jar io.forksafe.arbiter.ArbiterMain --preload --workers 2 --bind 127.0.0.1:8080 -- com.example.AppMain
 * }</pre>
 */
final class PreloadArbiter {

    private PreloadArbiter() {
    }

    /** The options that only the spawn mode has, and why. */
    static final Map<String, String> SPAWN_ONLY = Map.of(
            "--backlog", "each restored copy brings back the template's own listening socket",
            "--timeout", "restored copies send no heartbeats to the arbiter",
            "--abort-grace", "restored copies send no heartbeats to the arbiter",
            "--max-backoff", "a dead copy is restored again once; a failing restore leaves the slot down with a message",
            "--status-file", "use --status-port",
            "--log-file", "copies' output is echoed to the arbiter's stdout/stderr only");

    /**
     * Runs the preload mode until SIGTERM/SIGINT.
     *
     * @return 0 stopped; 2 this machine cannot run it (the message names the missing piece) or a bad setting;
     *         1 the template or a copy failed to start
     */
    static int run(ArbiterConfig config, PrintStream err) {
        InetSocketAddress bind = config.bind();
        if (bind.getPort() == 0) {
            err.println("forksafe arbiter: --preload needs a fixed port in --bind (every restored copy listens on the "
                    + "template's port), e.g. --bind 127.0.0.1:8080");
            return ArbiterMain.EXIT_USAGE;
        }
        try {
            Criu.requireUsable();
        } catch (PreloadUnavailableException e) {
            err.println("forksafe arbiter: " + e.getMessage());
            return ArbiterMain.EXIT_USAGE;
        }
        String host = bind.getAddress() instanceof Inet6Address ? "[" + bind.getAddress().getHostAddress() + "]"
                : bind.getAddress().getHostAddress();
        ForkRegistry registry = Forksafe.registry();
        long pid = ProcessHandle.current().pid();
        if (config.printEvents()) {
            registry.subscribe(ForkEvent.class, "forksafe.arbiter.preload.printer", 0, e -> err.println(
                    "[arbiter pid " + pid + "] event " + e.type().displayName() + " " + e.worker().name()
                            + " generation " + e.worker().generation() + " pid " + e.worker().pid()));
        }
        Preloader.Builder b = Preloader.builder()
                .java(config.javaCommand())
                .jvmOptions(config.jvmOptions())
                .classpath(config.classpath())
                .mainClass(config.mainClass())
                .args(config.args().toArray(String[]::new))
                .bind(host + ":" + bind.getPort())
                .bootTimeout(config.bootTimeout())
                .gracefulTimeout(config.gracefulTimeout())
                .registry(registry);
        config.environment().forEach(b::env);
        Preloader preloader = b.build();
        CountDownLatch stop = new CountDownLatch(1);
        com.sun.net.httpserver.HttpServer status = null;
        try {
            if (config.pidfile() != null) {
                Files.writeString(config.pidfile(), pid + "\n");
            }
            if (config.statusPort() != null) {
                status = PreloadMain.statusServer(registry, config.statusPort());
                err.println("[arbiter pid " + pid + "] status on http://127.0.0.1:" + status.getAddress().getPort() + "/");
            }
            installSignals(preloader, stop, err, pid);
            preloader.start();
            err.println("[arbiter pid " + pid + "] --preload: template checkpointed in " + preloader.figures()
                    .get("dumpMillis") + " ms (" + preloader.figures().get("imageBytes") + " bytes); restoring "
                    + config.workers() + " workers");
            preloader.keep(config.workers());
            err.println("[arbiter pid " + pid + "] serving on " + host + ":" + bind.getPort() + ": "
                    + preloader.copies());
            stop.await();
            err.println("[arbiter pid " + pid + "] stopping");
            return 0;
        } catch (IOException e) {
            err.println("forksafe arbiter: " + e.getMessage());
            return ArbiterMain.EXIT_USAGE;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return 1;
        } catch (RuntimeException e) {
            err.println("forksafe arbiter: --preload: " + e.getMessage());
            return 1;
        } finally {
            preloader.close();
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
    }

    private static void installSignals(Preloader preloader, CountDownLatch stop, PrintStream err, long pid) {
        Map<String, Runnable> actions = new LinkedHashMap<>();
        actions.put("TERM", stop::countDown);
        actions.put("INT", stop::countDown);
        actions.put("TTIN", () -> background(() -> preloader.resize(preloader.kept() + 1), err));
        actions.put("TTOU", () -> background(() -> preloader.resize(Math.max(1, preloader.kept() - 1)), err));
        actions.put("HUP", () -> err.println("[arbiter pid " + pid + "] SIGHUP ignored: --preload restores one "
                + "image of the application; start a new arbiter to deploy a new version"));
        for (var e : actions.entrySet()) {
            try {
                sun.misc.Signal.handle(new sun.misc.Signal(e.getKey()), sig -> e.getValue().run());
            } catch (IllegalArgumentException | LinkageError ex) {
                err.println("forksafe arbiter: SIG" + e.getKey() + " not handled: " + ex.getMessage());
            }
        }
    }

    private static void background(Runnable r, PrintStream err) {
        Thread t = new Thread(() -> {
            try {
                r.run();
            } catch (RuntimeException e) {
                err.println("forksafe arbiter: --preload: " + e.getMessage());
            }
        }, "forksafe-preload-resize");
        t.setDaemon(true);
        t.start();
    }

    /** The spawn-only options given together with --preload, for a clear error. */
    static List<String> spawnOnly(List<String> given) {
        return given.stream().filter(SPAWN_ONLY::containsKey).toList();
    }
}
