package io.forksafe.uwsgi.internal;

import io.forksafe.spi.HostContext;
import io.forksafe.ContainerInfo;
import io.forksafe.ForkRegistry;
import io.forksafe.WorkerInfo;
import io.forksafe.WorkerKind;
import io.forksafe.arbiter.ProcessIdentity;
import io.forksafe.spi.ContainerAdapter;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * The uWSGI host adapter, discovered by {@link ForkRegistry#autoconfigure()}. Present only in a JVM created by
 * uWSGI's JVM plugin; in a worker it publishes PostFork (kind PROCESS, slot = uWSGI worker id, real pid, the master
 * as parent), PostWorkerInit when the worker enters its request loop, and WorkerExit when uWSGI ends the worker.
 */
public final class UwsgiContainerAdapter implements ContainerAdapter {

    /** The host name used in log lines and the status. */
    public static final String HOST = "uWSGI";

    static final String NOTE_NO_MASTER_JVM = "The uWSGI master runs no JVM: uWSGI's JVM plugin creates one JVM in "
            + "each worker after fork(). So PreFork, PostForkParent and ChildExit cannot run under uWSGI; each worker "
            + "JVM gets PostFork, PostWorkerInit and WorkerExit.";
    static final String NOTE_EXIT = "WorkerExit fires from a C exit handler when uWSGI reloads or stops the worker "
            + "(uWSGI calls exit(); Java shutdown hooks do not run because the JVM is never destroyed and uWSGI "
            + "replaces the JVM's signal handlers). A worker killed with SIGKILL, or one that crashes, gets no "
            + "WorkerExit: nothing runs in a killed process.";
    static final String NOTE_GENERATION = "generation counts the JVMs this worker slot has started under this uWSGI "
            + "master: 0 for the first, one more after each respawn or reload. uWSGI does not tell the JVM, so forksafe "
            + "keeps the count itself: ";

    /** One lifecycle per registry and process: state the registry owns (HostContext.state), not a static map. */
    private static final class Lifecycle {
        UwsgiWorkerLifecycle lifecycle;
    }

    private static Lifecycle lifecycleOf(ForkRegistry registry) {
        return HostContext.of(registry).state(Lifecycle.class, Lifecycle::new);
    }

    private UwsgiRuntime runtime;

    @Override
    public String name() {
        return HOST;
    }

    @Override
    public Detection detect() {
        UwsgiRuntime rt = runtime();
        if (!rt.present()) {
            return Detection.notAvailable(rt.absentReason());
        }
        return Detection.available(ContainerInfo.of(HOST, UwsgiVersion.detect().version()));
    }

    @Override
    public void configure(HostContext host) {
        ForkRegistry registry = host.registry();
        UwsgiRuntime rt = runtime();
        if (!rt.present()) {
            HostContext.of(registry).reportError(HOST, "forksafe's uWSGI support was started outside a uWSGI worker ("
                    + rt.absentReason() + "); start the application with uwsgi --plugins jvm,jwsgi --master and "
                    + "--jvm-class io/forksafe/uwsgi/UwsgiBootstrap");
            return;
        }
        Lifecycle state = lifecycleOf(registry);
        synchronized (state) {
            UwsgiWorkerLifecycle existing = state.lifecycle;
            if (existing != null) {
                HostContext.of(registry).log("uWSGI already configured for worker " + existing.worker().slot()
                        + " in this registry; nothing to do");
                return;
            }
            configureWorker(registry, rt, state);
        }
    }

    private void configureWorker(ForkRegistry registry, UwsgiRuntime rt, Lifecycle state) {
        int workerId = rt.workerId();
        Map<String, String> options = rt.options();
        UwsgiVersion version = UwsgiVersion.detect();
        ContainerInfo container = ContainerInfo.of(HOST, version.version());
        ProcessIdentity identity = ProcessIdentity.current();

        Map<String, String> settings = new LinkedHashMap<>();
        options.forEach((k, v) -> settings.put("uwsgi." + k, redactInline(v)));
        HostContext.of(registry).putSettings(settings);
        HostContext.of(registry).note("uwsgi.master", NOTE_NO_MASTER_JVM);
        HostContext.of(registry).note("uwsgi.workerExit", NOTE_EXIT);
        if (!identity.isNative()) {
            HostContext.of(registry).note("uwsgi.processIdentity", "pid and parent pid come from " + identity.source());
        }
        if (version.version().isEmpty()) {
            HostContext.of(registry).note("uwsgi.version", "uWSGI version " + version.source()
                    + "; set it with jvm-opt = -D" + UwsgiVersion.PROPERTY + "=%V in the uWSGI ini file");
        }

        boolean masterEnabled = UwsgiRuntime.masterEnabled(options);
        int id = workerId;

        if (workerId <= 0) {
            HostContext.of(registry).statusDetail("uwsgi", () -> Status.of(version, id, masterEnabled, identity, null,
                    null));
            HostContext.of(registry).reportError(HOST, "forksafe was loaded in a uWSGI process that is not a worker (worker id "
                    + workerId + ": a mule or a spooler); forksafe's uWSGI events are for workers: load it in "
                    + "workers with --jvm-class io/forksafe/uwsgi/UwsgiBootstrap or from the JWSGI application");
            return;
        }
        boolean master = masterEnabled;
        UwsgiGenerations.Generation generation = master && identity.parentPid() > 0
                ? UwsgiGenerations.next(UwsgiGenerations.defaultBase(), identity.parentPid(), workerId)
                : new UwsgiGenerations.Generation(0, "0: no uWSGI master to count under");
        HostContext.of(registry).note("uwsgi.generation", NOTE_GENERATION + generation.source());
        WorkerInfo worker = new WorkerInfo(workerId, "worker-" + workerId, WorkerKind.PROCESS, identity.pid(),
                identity.parentPid(), generation.value());
        HostContext.of(registry).identifyProcess(worker);
        if (!master) {
            HostContext.of(registry).statusDetail("uwsgi", () -> Status.of(version, id, false, identity,
                    generation.value(), null));
            HostContext.of(registry).reportError(HOST, "run uWSGI with --master: without the master process uWSGI does not respawn "
                    + "workers and a worker's parent is not a uWSGI master, so forksafe publishes no events "
                    + "(worker " + workerId + ", pid " + identity.pid() + ", parent " + identity.parentPid() + ")");
            return;
        }
        UwsgiWorkerLifecycle lifecycle = new UwsgiWorkerLifecycle(registry, worker, container);
        state.lifecycle = lifecycle;
        HostContext.of(registry).statusDetail("uwsgi", () -> Status.of(version, id, true, identity,
                generation.value(), lifecycle));
        String jwsgi = options.get("jwsgi"); // repeated: uWSGI keeps the last one
        lifecycle.start(findMainThread(), jwsgi == null ? null : jwsgi.substring(jwsgi.lastIndexOf(',') + 1));
    }

    /**
     * The {@code uwsgi} status section: what the adapter found, and, for a worker under a master, its life (null
     * before that is known, or when it does not apply).
     */
    public record Status(String version, String versionSource, int workerId, boolean master, String processIdentity,
                         Long generation, Long pid, Long masterPid, java.time.Instant processStartedAt,
                         java.time.Instant postForkAt, String postWorkerInit, java.time.Instant readyAt,
                         Long readyAfterMillis, String workerExitHandler, Integer exitStatus) {

        static Status of(UwsgiVersion version, int workerId, boolean master, ProcessIdentity identity,
                         Long generation, UwsgiWorkerLifecycle lifecycle) {
            UwsgiWorkerLifecycle.Life life = lifecycle == null ? null : lifecycle.life();
            return new Status(version.version(), version.source(), workerId, master, identity.source(), generation,
                    life == null ? null : life.pid(), life == null ? null : life.masterPid(),
                    life == null ? null : life.processStartedAt(), life == null ? null : life.postForkAt(),
                    life == null ? null : life.postWorkerInit(), life == null ? null : life.readyAt(),
                    life == null ? null : life.readyAfterMillis(), life == null ? null : life.workerExitHandler(),
                    life == null ? null : life.exitStatus());
        }
    }

    private static final Pattern INLINE_SECRET = Pattern.compile(
            "(?i)((?:password|passwd|secret|token|key|credential)[^=,\\s]*=)[^,\\s]*");

    /**
     * Masks secrets inside option values, e.g. {@code jvm-opt = -Ddb.password=...} or {@code env = API_TOKEN=...}:
     * core redacts settings by key, and here the secret's name is inside the value.
     */
    static String redactInline(String value) {
        return INLINE_SECRET.matcher(value).replaceAll("$1<redacted>");
    }

    /** Publishes PostWorkerInit now for {@code registry}'s uWSGI worker, unless it already ran. */
    public static boolean markReady(ForkRegistry registry, String how) {
        UwsgiWorkerLifecycle lifecycle;
        Lifecycle state = lifecycleOf(registry);
        synchronized (state) {
            lifecycle = state.lifecycle;
        }
        return lifecycle != null && lifecycle.markReady(how);
    }

    /** Whether {@code registry} has a configured uWSGI worker lifecycle. */
    public static boolean configured(ForkRegistry registry) {
        Lifecycle state = lifecycleOf(registry);
        synchronized (state) {
            return state.lifecycle != null;
        }
    }

    /**
     * The thread that created the JVM in uWSGI's worker (it runs the request loop): the current thread when uWSGI
     * is loading classes, otherwise the thread named "main".
     */
    static Thread findMainThread() {
        Thread current = Thread.currentThread();
        if ("main".equals(current.getName())) {
            return current;
        }
        for (Thread t : Thread.getAllStackTraces().keySet()) {
            if ("main".equals(t.getName())) {
                return t;
            }
        }
        return null;
    }

    private UwsgiRuntime runtime() {
        UwsgiRuntime rt = runtime;
        if (rt == null) {
            ClassLoader cl = Thread.currentThread().getContextClassLoader();
            rt = UwsgiRuntime.locate(cl != null ? cl : UwsgiContainerAdapter.class.getClassLoader());
            runtime = rt;
        }
        return rt;
    }
}
