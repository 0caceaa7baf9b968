package io.forksafe.uwsgi.internal;

import io.forksafe.spi.HostContext;
import io.forksafe.ContainerInfo;
import io.forksafe.ForkHookException;
import io.forksafe.ForkRegistry;
import io.forksafe.WorkerInfo;

import java.time.Duration;
import java.time.Instant;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * One uWSGI worker JVM's events for one registry: PostFork now, PostWorkerInit once the worker enters its request
 * loop, WorkerExit from the C exit handler.
 */
final class UwsgiWorkerLifecycle {

    /** Exit statuses from uWSGI 2.0's {@code uwsgi.h}. */
    static final int RELOAD_CODE = 17;
    static final int END_CODE = 30;
    static final int BRUTAL_RELOAD_CODE = 31;

    static final String READY_TIMEOUT_SETTING = "forksafe.uwsgi.readyTimeoutSeconds";
    private static final long FIRST_POLL_MILLIS = 2;
    private static final long MAX_POLL_MILLIS = 50;

    private final ForkRegistry registry;

    private final HostContext host;
    private final WorkerInfo worker;
    private final ContainerInfo container;
    private final Instant started = Instant.now();
    private final AtomicBoolean ready = new AtomicBoolean();
    private final AtomicBoolean exited = new AtomicBoolean();
    private volatile Instant readyAt;
    private volatile String readyDetection = "pending";
    private volatile String exitHandler = "pending";
    private volatile Integer exitStatus;
    private final NativeExitHook.Listener exitListener = this::onExit;

    UwsgiWorkerLifecycle(ForkRegistry registry, WorkerInfo worker, ContainerInfo container) {
        this.registry = registry;
        this.host = HostContext.of(this.registry);
        this.worker = worker;
        this.container = container;
    }

    WorkerInfo worker() {
        return worker;
    }

    /** Registers the exit handler, publishes PostFork and starts watching for readiness. */
    void start(Thread mainThread, String jwsgiOption) {
        String exitFailure = NativeExitHook.addListener(exitListener);
        if (exitFailure == null) {
            exitHandler = "glibc on_exit through jnr-ffi";
        } else {
            exitHandler = "unavailable: " + exitFailure;
            host.note("uwsgi.workerExit", "WorkerExit cannot fire in this worker: " + exitFailure
                    + ". uWSGI ends workers with C exit(), which Java shutdown hooks do not see.");
        }
        try {
            host.postFork(worker, container);
        } catch (ForkHookException e) {
            host.log("uWSGI PostFork hook(s) failed in worker " + worker.slot() + ": " + e.getMessage());
        }
        startReadyWatcher(mainThread, jwsgiOption);
    }

    private void startReadyWatcher(Thread mainThread, String jwsgiOption) {
        RequestLoopProbe probe = new RequestLoopProbe(mainThread, worker.pid(), jwsgiOption);
        String unsupported = probe.unsupportedReason();
        if (unsupported != null) {
            readyDetection = "unavailable: " + unsupported;
            host.note("uwsgi.postWorkerInit", "PostWorkerInit cannot be detected automatically here ("
                    + unsupported + "); call UwsgiWorker.ready() from the application once it is loaded.");
            return;
        }
        long timeoutSeconds = parseLong(registry.setting(READY_TIMEOUT_SETTING, "600"), 600);
        Thread watcher = new Thread(() -> watch(probe, Duration.ofSeconds(Math.max(1, timeoutSeconds))),
                "forksafe-uwsgi-ready-" + worker.slot());
        watcher.setDaemon(true);
        watcher.start();
    }

    private void watch(RequestLoopProbe probe, Duration timeout) {
        long deadline = System.nanoTime() + timeout.toNanos();
        long sleep = FIRST_POLL_MILLIS;
        int unknown = 0;
        while (!ready.get()) {
            RequestLoopProbe.State s;
            try {
                s = probe.probe();
            } catch (RuntimeException e) {
                s = RequestLoopProbe.State.UNKNOWN;
            }
            if (s == RequestLoopProbe.State.IN_REQUEST_LOOP) {
                markReady("worker main thread entered uWSGI's request loop");
                return;
            }
            if (s == RequestLoopProbe.State.SERVING_REQUEST) {
                markReady("worker main thread is serving a JWSGI request");
                return;
            }
            if (s == RequestLoopProbe.State.UNKNOWN && ++unknown >= 10) {
                readyDetection = "failed: cannot read the main thread's system call";
                host.note("uwsgi.postWorkerInit", "PostWorkerInit could not be detected (the main thread's "
                        + "system call is unreadable); call UwsgiWorker.ready() from the application.");
                return;
            }
            if (System.nanoTime() - deadline > 0) {
                readyDetection = "timed out after " + timeout.toSeconds() + " s";
                host.note("uwsgi.postWorkerInit", "PostWorkerInit not detected within " + timeout.toSeconds()
                        + " s (raise " + READY_TIMEOUT_SETTING + " or call UwsgiWorker.ready())");
                return;
            }
            try {
                Thread.sleep(sleep);
            } catch (InterruptedException e) {
                return;
            }
            sleep = Math.min(MAX_POLL_MILLIS, sleep * 2);
        }
    }

    /** Publishes PostWorkerInit once; returns whether this call published it. */
    boolean markReady(String how) {
        if (!ready.compareAndSet(false, true)) {
            return false;
        }
        readyAt = Instant.now();
        readyDetection = how;
        try {
            host.postWorkerInit(worker, container);
        } catch (ForkHookException e) {
            host.log("uWSGI PostWorkerInit hook(s) failed in worker " + worker.slot() + ": " + e.getMessage());
        }
        return true;
    }

    private void onExit(int status, boolean jvmShutdown) {
        if (!exited.compareAndSet(false, true)) {
            return;
        }
        exitStatus = jvmShutdown ? null : status;
        String reason = jvmShutdown ? "the worker's JVM is shutting down (System.exit() or Runtime.exit() in the "
                + "application; uWSGI will respawn the worker)" : exitReason(status);
        try {
            host.workerExit(worker, container, reason);
        } catch (ForkHookException e) {
            host.log("uWSGI WorkerExit hook(s) failed in worker " + worker.slot() + ": " + e.getMessage());
        }
    }

    /** Plain words for uWSGI 2.0's worker exit statuses. */
    static String exitReason(int status) {
        return switch (status) {
            case RELOAD_CODE -> "uWSGI graceful reload (exit status 17: SIGHUP to the master, a touch-reload file, "
                    + "or a graceful shutdown)";
            case END_CODE -> "uWSGI stop or brutal reload (exit status 30: SIGINT/SIGQUIT/SIGTERM to the master, "
                    + "or SIGINT/SIGTERM to the worker)";
            case BRUTAL_RELOAD_CODE -> "uWSGI brutal reload (exit status 31)";
            case 0 -> "uWSGI retired the worker (exit status 0: max-requests, reload-on-rss/as or similar)";
            default -> "uWSGI worker exit (exit status " + status + ")";
        };
    }

    /** The JSON-able status section. */
    /** This worker's life as the status shows it (inside the {@code uwsgi} section). */
    record Life(long pid, long masterPid, Instant processStartedAt, Instant postForkAt, String postWorkerInit,
                Instant readyAt, Long readyAfterMillis, String workerExitHandler, Integer exitStatus) {
    }

    Life life() {
        Instant ready = readyAt;
        return new Life(worker.pid(), worker.parentPid(), ProcessHandle.current().info().startInstant().orElse(null),
                started, readyDetection, ready, ready == null ? null : Duration.between(started, ready).toMillis(),
                exitHandler, exitStatus);
    }


    private static long parseLong(String s, long fallback) {
        try {
            return Long.parseLong(s.strip());
        } catch (RuntimeException e) {
            return fallback;
        }
    }
}
