package io.forksafe.arbiter;

import io.forksafe.spi.HostContext;
import io.forksafe.spi.ServingGate;
import io.forksafe.ContainerInfo;
import io.forksafe.ForkEvent;
import io.forksafe.ForkHookException;
import io.forksafe.ForkRegistry;
import io.forksafe.PostWorkerInit;
import io.forksafe.WorkerExit;
import io.forksafe.WorkerInfo;
import io.forksafe.WorkerKind;
import io.forksafe.arbiter.internal.ControlProtocol;
import io.forksafe.arbiter.internal.Supervisor;
import io.forksafe.arbiter.internal.WorkerReporter;

import java.io.IOException;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.Channels;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The worker side of the {@link Arbiter}: in a JVM the arbiter spawned (environment {@code FORKSAFE_ARBITER_PID}),
 * it identifies the process as worker {@code (slot, generation)}, publishes {@link io.forksafe.PostFork}, sends
 * heartbeats to the arbiter, reports readiness when {@link PostWorkerInit} is published for this process (the Jetty
 * and Undertow adapters publish it once their server serves; call {@link #ready()} otherwise) and publishes
 * {@link WorkerExit} at shutdown (unless an adapter published PostWorkerInit: that adapter then publishes WorkerExit
 * when its server stops). If the arbiter disappears, the worker exits. It also sends the arbiter its configuration
 * errors and failing hooks whenever they change (at each heartbeat, after each event, at exit), which the arbiter
 * shows in that worker's row of its status and in its own {@code errors}.
 *
 * <p>The arbiter launches workers through a bootstrap that calls {@link #attach(ForkRegistry)} before the
 * application's {@code main}; the {@code arbiter} container adapter does the same from
 * {@code Forksafe.autoconfigure()}. Attaching twice returns the same instance.
 *
 * <pre>{@code
 * if (ArbiterWorker.isArbiterWorker()) {
 *     ServerSocketChannel shared = ArbiterWorker.inheritedServerChannel(); // the arbiter's socket, fd 0
 *     // ... serve on it, then:
 *     ArbiterWorker.attach(Forksafe.registry()).ready();
 * }
 * }</pre>
 */
public final class ArbiterWorker {

    /** Environment variable set in every worker: the arbiter's pid. */
    public static final String ENV_ARBITER_PID = ControlProtocol.ENV_ARBITER_PID;
    /** Environment variable set in every worker: its stable slot, from 1. */
    public static final String ENV_SLOT = ControlProtocol.ENV_SLOT;
    /** Environment variable set in every worker: its generation in the slot, from 0. */
    public static final String ENV_GENERATION = ControlProtocol.ENV_GENERATION;
    /** Environment variable set in every worker: the arbiter's control socket (a Unix-domain socket path). */
    public static final String ENV_CONTROL = ControlProtocol.ENV_CONTROL;
    /**
     * Environment variable set in every worker: the arbiter's graceful timeout ({@code --graceful-timeout}) in
     * milliseconds. A server's own stop timeout should fit within it: the arbiter kills a worker that is still
     * running when it ends.
     */
    public static final String ENV_GRACEFUL_MILLIS = ControlProtocol.ENV_GRACEFUL_MILLIS;
    /** Exit code of a worker whose boot failed; the arbiter halts instead of respawning (gunicorn's 3). */
    public static final int BOOT_ERROR_EXIT_CODE = ControlProtocol.BOOT_ERROR_EXIT;

    /** The worker attached to a registry: state the registry owns (HostContext.state), not a static map. */
    private static final class Attachment {
        ArbiterWorker worker;
    }

    private final ForkRegistry registry;

    private final HostContext host;
    private final ServingGate gate;
    /** This worker; a standby's changes once, at its promotion (the slot it takes, a new generation). */
    private volatile WorkerInfo worker;
    private final String controlPath;
    private final long heartbeatMillis;
    private final Object sendLock = new Object();
    private final AtomicBoolean readySent = new AtomicBoolean();
    private final AtomicBoolean exitPublished = new AtomicBoolean();
    private final AtomicLong heartbeats = new AtomicLong();
    private volatile SocketChannel control;
    private volatile boolean restoredCopy;
    private volatile boolean shuttingDown;
    private volatile String controlError;
    private volatile ContainerInfo readyContainer;
    private volatile java.util.function.BooleanSupplier liveness = () -> true;
    private final AtomicLong skippedBeats = new AtomicLong();
    private final WorkerReporter reporter;
    private final Object wakeup = new Object();
    private boolean reportDue; // guarded by wakeup
    /** A standby's way to the arbiter's socket at its promotion: why it failed, or null. */
    private volatile java.util.function.Supplier<String> takeListener;
    private final AtomicBoolean standbySent = new AtomicBoolean();
    private volatile long promotedAtNanos;
    private volatile long promotionMillis = -1;
    /** The application's metrics as an {@code app-metrics} line ({@link ArbiterMetricsBinder}), or null. */
    private volatile java.util.function.Supplier<String> appMetrics;
    private String sentAppMetrics;
    private long appMetricsSentAtNanos;
    /** How often the application's metrics go to the arbiter, at most. */
    static final long APP_METRICS_INTERVAL_NANOS = TimeUnit.SECONDS.toNanos(5);
    /** This worker's --max-requests (with its jitter draw) and --request-timeout, once connected. */
    private volatile io.forksafe.arbiter.internal.RequestLimits limits =
            io.forksafe.arbiter.internal.RequestLimits.NONE;
    private final io.forksafe.spi.RequestTracker requests;
    private final AtomicBoolean stuckSent = new AtomicBoolean();

    private ArbiterWorker(ForkRegistry registry, WorkerInfo worker, String controlPath, long heartbeatMillis) {
        this.registry = registry;
        this.host = HostContext.of(this.registry);
        this.gate = ServingGate.of(registry);
        this.worker = worker;
        this.controlPath = controlPath;
        this.heartbeatMillis = heartbeatMillis;
        this.reporter = new WorkerReporter(registry, this::send);
        this.requests = io.forksafe.spi.RequestTracker.of(registry);
    }

    /**
     * Whether this JVM was spawned by the forksafe arbiter: both {@code FORKSAFE_ARBITER_PID} and
     * {@code FORKSAFE_ARBITER_CONTROL} are set. {@code FORKSAFE_ARBITER_PID} alone is only the socket contract (a
     * listening socket as fd 0, which the Jetty and Undertow adapters adopt), as another launcher may provide it.
     */
    public static boolean isArbiterWorker() {
        return io.forksafe.spi.ArbiterContract.isSupervisedWorker(System::getenv);
    }

    /**
     * The listening socket the arbiter passed as fd 0, for servers that adopt a channel.
     *
     * @throws IOException if this JVM did not inherit a listening TCP socket (it was not spawned by the arbiter)
     */
    public static ServerSocketChannel inheritedServerChannel() throws IOException {
        ServerSocketChannel ssc = io.forksafe.spi.ArbiterContract.inheritedListeningSocket();
        if (ssc != null) {
            return ssc;
        }
        throw new IOException("no inherited listening socket (System.inheritedChannel() is " + System.inheritedChannel()
                + "): start this application through the forksafe arbiter (io.forksafe.arbiter.ArbiterMain)");
    }

    /**
     * Makes this JVM the arbiter's worker in {@code registry}: identifies it, connects the control channel, starts
     * heartbeats and publishes {@link io.forksafe.PostFork}. Idempotent per registry.
     *
     * @throws IllegalStateException if this JVM was not spawned by an arbiter, or its environment is malformed
     * @throws ForkHookException     if a PostFork hook failed (the caller should exit with
     *                               {@link #BOOT_ERROR_EXIT_CODE})
     */
    public static ArbiterWorker attach(ForkRegistry registry) {
        Objects.requireNonNull(registry, "registry must not be null");
        ArbiterWorker w;
        Attachment attached = HostContext.of(registry).state(Attachment.class, Attachment::new);
        synchronized (attached) {
            w = attached.worker;
            if (w != null) {
                return w;
            }
            w = create(registry);
            attached.worker = w;
        }
        if (standbyNumber() != null) {
            w.becomeStandby();
        }
        w.connect();
        HostContext.of(w.registry).postFork(w.worker, Supervisor.CONTAINER);
        return w;
    }

    private static ArbiterWorker create(ForkRegistry registry) {
        String arbiterPid = System.getenv(ENV_ARBITER_PID);
        if (arbiterPid == null) {
            throw new IllegalStateException("not an arbiter worker: " + ENV_ARBITER_PID + " is not set; start the "
                    + "application with io.forksafe.arbiter.ArbiterMain or Arbiter.start()");
        }
        try {
            int slot = Integer.parseInt(env(ENV_SLOT, "1"));
            long generation = Long.parseLong(env(ENV_GENERATION, "0"));
            long heartbeat = Long.parseLong(env(ControlProtocol.ENV_HEARTBEAT_MILLIS, "1000"));
            Integer standby = standbyNumber();
            WorkerInfo info = new WorkerInfo(standby != null ? 0 : slot,
                    standby != null ? ControlProtocol.standbyName(standby) : "worker-" + slot, WorkerKind.PROCESS,
                    ProcessHandle.current().pid(), Long.parseLong(arbiterPid), generation);
            return new ArbiterWorker(registry, info, System.getenv(ENV_CONTROL), Math.max(50, heartbeat));
        } catch (IllegalArgumentException e) {
            throw new IllegalStateException("malformed arbiter environment (" + e.getMessage() + "): "
                    + ENV_ARBITER_PID + ", " + ENV_SLOT + " and " + ENV_GENERATION + " must be numbers set by the arbiter", e);
        }
    }

    /** The standby number the arbiter gave this JVM ({@code FORKSAFE_ARBITER_STANDBY}), or null. */
    private static Integer standbyNumber() {
        String n = System.getenv(ControlProtocol.ENV_STANDBY);
        if (n == null || n.isBlank()) {
            return null;
        }
        try {
            return Integer.parseInt(n.strip());
        } catch (NumberFormatException e) {
            throw new IllegalStateException("malformed " + ControlProtocol.ENV_STANDBY + "=" + n + ": the arbiter sets "
                    + "it to the standby's number", e);
        }
    }

    /**
     * A spawned standby: nothing serves until the promotion (the serving gate holds the adapters), and fd 0 becomes a
     * private loopback socket, so even an accept loop of the app's own takes no connection before it. The promotion
     * puts the arbiter's socket on the same descriptors.
     */
    private void becomeStandby() {
        gate.hold();
        java.net.InetSocketAddress own;
        try {
            own = io.forksafe.arbiter.internal.SocketHandoff.installPrivateListener();
        } catch (IOException | RuntimeException e) {
            throw new IllegalStateException("a standby cannot open its private listening socket: " + e.getMessage(), e);
        }
        try {
            io.forksafe.arbiter.internal.ListenerSwap.prepare(io.forksafe.arbiter.internal.SocketHandoff.sameSocket(0),
                    System.getenv(io.forksafe.arbiter.internal.PreloadProtocol.ENV_LISTENER));
        } catch (IOException e) {
            throw new IllegalStateException("a standby cannot find its private listening socket: " + e.getMessage(), e);
        }
        String handoff = System.getenv(io.forksafe.arbiter.internal.PreloadProtocol.ENV_LISTENER);
        takeListener = () -> {
            try {
                java.util.List<Integer> fds = io.forksafe.arbiter.internal.SocketHandoff.sameSocket(0);
                boolean nonBlocking = io.forksafe.arbiter.internal.SocketHandoff.nonBlocking(0);
                return io.forksafe.arbiter.internal.ListenerSwap.swapLive(own, fds, handoff, nonBlocking);
            } catch (IOException e) {
                return "cannot find the standby's listening socket: " + e.getMessage();
            }
        };
    }

    private static String env(String name, String fallback) {
        String v = System.getenv(name);
        return v == null || v.isBlank() ? fallback : v.strip();
    }

    /**
     * A restored copy (preload mode) is supervised like a spawned worker once it knows who it is: heartbeats,
     * readiness, events and reports over {@code channel}, the control connection on which the arbiter just told it its
     * identity; an arbiter that goes away makes it exit. The caller publishes its PostFork.
     */
    static ArbiterWorker superviseRestoredCopy(ForkRegistry registry, WorkerInfo copy, SocketChannel channel,
                                               java.util.function.Supplier<String> standbyTakesListener) {
        long heartbeat;
        try {
            heartbeat = Long.parseLong(env(ControlProtocol.ENV_HEARTBEAT_MILLIS, "1000"));
        } catch (NumberFormatException e) {
            heartbeat = 1000;
        }
        ArbiterWorker w = new ArbiterWorker(registry, copy, null, Math.max(50, heartbeat));
        Attachment attached = HostContext.of(registry).state(Attachment.class, Attachment::new);
        synchronized (attached) {
            attached.worker = w;
        }
        w.control = channel;
        w.restoredCopy = true;
        if (standbyTakesListener != null) {
            w.gate.hold();
            w.takeListener = standbyTakesListener;
        }
        w.connect();
        return w;
    }

    /** A restored copy's PostFork failed: the arbiter learns it before the copy exits (criu hides the status). */
    void bootError(String what) {
        reporter.reportIfChanged();
        send("boot-error " + what);
    }

    private void connect() {
        // before the application's main: its server adapter checks the tracker when it starts. A restored copy draws
        // its jitter here, after its restore, with a seed of its own (the copies share the template's random state),
        // and restarts the count its template's adapters keep from 0
        limits = io.forksafe.arbiter.internal.RequestLimits.fromEnvironment(System::getenv,
                System.nanoTime() ^ worker.pid() * 0x9E3779B97F4A7C15L);
        limits.enable(requests, this::send);
        host.identifyProcess(worker);
        host.putSettings(Map.of("forksafe.arbiter.pid", String.valueOf(worker.parentPid()),
                "forksafe.arbiter.slot", String.valueOf(worker.slot()),
                "forksafe.arbiter.generation", String.valueOf(worker.generation())));
        host.statusDetail("arbiterWorker", this::statusDetail);
        registry.subscribe(ForkEvent.class, "forksafe.arbiter.events", Integer.MIN_VALUE, e -> {
            if (e.worker().kind() != WorkerKind.THREAD) {
                send("event " + e.type().displayName());
            }
        });
        registry.subscribe(PostWorkerInit.class, "forksafe.arbiter.readiness", Integer.MAX_VALUE, e -> {
            if (isThisProcess(e.worker())) {
                readyContainer = e.container();
                if (gate.held()) {
                    host.reportError("arbiter worker", e.container().name() + " published PostWorkerInit in a "
                            + "standby, before its promotion: its PostWorkerInit hooks ran before this worker serves. "
                            + "That server adapter must start serving through io.forksafe.spi.ServingGate (forksafe-jetty "
                            + "and forksafe-undertow do); an application without one calls ArbiterWorker.ready()");
                    standbyWaiting();
                } else if (readySent.compareAndSet(false, true)) {
                    send("ready");
                }
            }
        });
        gate.onWaiting(this::standbyWaiting);
        registry.subscribe(WorkerExit.class, "forksafe.arbiter.exit", Integer.MAX_VALUE, e -> {
            if (isThisProcess(e.worker())) {
                exitPublished.set(true);
                send("exiting " + e.reason());
            }
        });
        // After every event (last in order, so earlier hooks' failures are counted): the errors and failing hooks
        // reach the arbiter now rather than at the next heartbeat.
        registry.subscribe(ForkEvent.class, "forksafe.arbiter.report", Integer.MAX_VALUE, e -> requestReport());
        Runtime.getRuntime().addShutdownHook(new Thread(this::onShutdown, "forksafe-arbiter-worker-exit"));
        if (control != null) { // a restored copy: the arbiter already identified it on this connection
            reporter.reportIfChanged();
            daemon(this::heartbeatLoop, "forksafe-arbiter-heartbeat");
            daemon(this::watchArbiter, "forksafe-arbiter-watch");
        } else if (controlPath == null || controlPath.isBlank()) {
            controlError = ENV_CONTROL + " is not set";
        } else {
            try {
                control = SocketChannel.open(UnixDomainSocketAddress.of(controlPath));
                send("hello " + worker.pid() + " " + worker.slot() + " " + worker.generation());
                reporter.reportIfChanged(); // errors reported before the channel connected
                daemon(this::heartbeatLoop, "forksafe-arbiter-heartbeat");
                daemon(this::watchArbiter, "forksafe-arbiter-watch");
            } catch (IOException | RuntimeException e) {
                controlError = e.toString();
            }
        }
        if (controlError != null) {
            host.reportError("arbiter worker", "cannot reach the arbiter's control socket (" + controlError
                    + "): no heartbeats or readiness reach the arbiter, which will replace this worker at its boot "
                    + "timeout; start workers only through the arbiter");
        }
    }

    private boolean isThisProcess(WorkerInfo w) {
        return w.kind() != WorkerKind.THREAD && w.pid() == worker.pid();
    }

    private static void daemon(Runnable r, String name) {
        Thread t = new Thread(r, name);
        t.setDaemon(true);
        t.start();
    }

    /** A heartbeat every interval; the errors and failing hooks are checked then and whenever an event ran. */
    private void heartbeatLoop() {
        long nextBeat = System.nanoTime();
        while (control != null && control.isOpen()) {
            if (System.nanoTime() - nextBeat >= 0) {
                beat();
                String stuck = limits.stuckLine(requests);
                if (stuck != null && stuckSent.compareAndSet(false, true)) {
                    send(stuck); // the arbiter aborts this worker (thread dump) and replaces it
                }
                nextBeat = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(heartbeatMillis);
            }
            reporter.reportIfChanged();
            sendAppMetricsIfDue();
            synchronized (wakeup) {
                try {
                    long left;
                    while (!reportDue && (left = nextBeat - System.nanoTime()) > 0) {
                        wakeup.wait(Math.max(1, TimeUnit.NANOSECONDS.toMillis(left)));
                    }
                } catch (InterruptedException e) {
                    return;
                }
                reportDue = false;
            }
        }
    }

    private void beat() {
        boolean alive;
        try {
            alive = liveness.getAsBoolean();
        } catch (RuntimeException e) {
            alive = false;
        }
        if (!alive) {
            skippedBeats.incrementAndGet();
        } else if (send("beat")) {
            heartbeats.incrementAndGet();
        }
    }

    /** Sends the application's metrics to the arbiter from now on (at once, then every 5 s when they changed). */
    void exportAppMetrics(java.util.function.Supplier<String> line) {
        appMetrics = Objects.requireNonNull(line);
        synchronized (wakeup) {
            appMetricsSentAtNanos = System.nanoTime() - APP_METRICS_INTERVAL_NANOS;
        }
        requestReport();
    }

    /** On the heartbeat thread: the application's metrics, if 5 s passed and they changed. Never throws. */
    private void sendAppMetricsIfDue() {
        java.util.function.Supplier<String> source = appMetrics;
        long now = System.nanoTime();
        synchronized (wakeup) {
            if (source == null || now - appMetricsSentAtNanos < APP_METRICS_INTERVAL_NANOS) {
                return;
            }
            appMetricsSentAtNanos = now;
        }
        String line;
        try {
            line = source.get();
        } catch (RuntimeException e) {
            return; // a meter that failed to measure: the next interval tries again
        }
        if (!line.equals(sentAppMetrics) && send(line)) {
            sentAppMetrics = line;
        }
    }

    private void requestReport() {
        synchronized (wakeup) {
            reportDue = true;
            wakeup.notifyAll();
        }
    }

    /**
     * The arbiter writes only to promote a standby ("promote SLOT GENERATION"); end-of-stream means it is gone, and
     * an orphaned worker exits.
     */
    private void watchArbiter() {
        try (java.io.BufferedReader in = new java.io.BufferedReader(new java.io.InputStreamReader(
                Channels.newInputStream(control), java.nio.charset.StandardCharsets.UTF_8))) {
            String line;
            while ((line = in.readLine()) != null) {
                if (line.startsWith(ControlProtocol.PROMOTE + " ")) {
                    String[] f = line.split(" ");
                    int slot = Integer.parseInt(f[1]);
                    long generation = Long.parseLong(f[2]);
                    daemon(() -> promote(slot, generation), "forksafe-arbiter-promotion");
                }
            }
        } catch (IOException | RuntimeException ignored) {
            // treated as gone
        }
        if (!shuttingDown) {
            System.err.println("forksafe arbiter worker " + worker.name() + ": the arbiter (pid " + worker.parentPid()
                    + ") is gone; exiting");
            Thread exit = new Thread(() -> System.exit(0), "forksafe-arbiter-orphan-exit");
            exit.start();
        }
    }

    /** A standby's server waits for the promotion: the arbiter may now count it as a booted standby. */
    private void standbyWaiting() {
        if (standbySent.compareAndSet(false, true)) {
            send(ControlProtocol.STANDBY);
        }
    }

    /**
     * The promotion of a standby: it becomes {@code worker-SLOT} of {@code generation}, takes the arbiter's socket,
     * and then everything that waited for it runs (adapters accept, PostWorkerInit), which reports it ready. A
     * standby that cannot take the socket would serve nothing: it reports a boot error and exits with code 3.
     */
    private void promote(int slot, long generation) {
        if (!gate.held()) {
            return; // promoted once
        }
        promotedAtNanos = System.nanoTime();
        WorkerInfo was = worker;
        WorkerInfo now = new WorkerInfo(slot, "worker-" + slot, was.kind(), was.pid(), was.parentPid(), generation);
        worker = now;
        host.identifyProcess(now);
        host.putSettings(Map.of("forksafe.arbiter.slot", String.valueOf(slot),
                "forksafe.arbiter.generation", String.valueOf(generation)));
        String failed = takeListener == null ? null : takeListener.get();
        long swappedAt = System.nanoTime();
        if (failed != null) {
            host.reportError("arbiter worker", "the promoted standby cannot serve: " + failed);
            bootError(failed);
            System.err.println("forksafe arbiter worker: promoted " + now.name() + " cannot serve: " + failed
                    + "; exiting with code " + BOOT_ERROR_EXIT_CODE);
            Runtime.getRuntime().halt(BOOT_ERROR_EXIT_CODE);
            return;
        }
        List<String> waiting = gate.waiting();
        for (String f : gate.open()) {
            host.reportError("arbiter worker", "starting to serve after the promotion failed in " + f);
        }
        long servingAt = System.nanoTime();
        promotionMillis = (servingAt - promotedAtNanos) / 1_000_000;
        System.err.println("forksafe arbiter worker: promoted " + was.name() + " to " + now.name() + " (generation "
                + generation + ") in " + promotionMillis + " ms: the arbiter's socket in "
                + (swappedAt - promotedAtNanos) / 1_000_000 + " ms, then serving (" + String.join(", ", waiting)
                + ") in " + (servingAt - swappedAt) / 1_000_000 + " ms");
        if (readySent.compareAndSet(false, true)) {
            send("ready"); // no adapter published PostWorkerInit at the promotion (the error above says why)
        }
    }

    private boolean send(String line) {
        return ControlProtocol.trySend(control, sendLock, line) == null;
    }

    /**
     * At JVM shutdown: publishes WorkerExit for this process, unless a container adapter published this process's
     * PostWorkerInit. Then that adapter owns the process's life cycle and publishes WorkerExit itself when its
     * server stops, exactly as in a stand-alone run, and a second one from here would duplicate it.
     */
    private void onShutdown() {
        shuttingDown = true;
        reporter.flush(); // a worker dying at boot (exit code 3) reports what went wrong first
        if (restoredCopy) {
            return; // PreloadWorker publishes a restored copy's WorkerExit
        }
        ContainerInfo owner = readyContainer;
        if (owner != null && !owner.equals(Supervisor.CONTAINER)) {
            return;
        }
        if (exitPublished.compareAndSet(false, true)) {
            try {
                host.workerExit(worker, Supervisor.CONTAINER, "jvm shutdown");
            } catch (RuntimeException e) {
                System.err.println("forksafe arbiter worker: a WorkerExit hook failed: " + e.getMessage());
            }
            reporter.flush();
        }
    }

    /**
     * For servers without a forksafe adapter: publishes {@link PostWorkerInit} for this process (container
     * {@code forksafe-arbiter}), which tells the arbiter that this worker serves. With the Jetty or Undertow adapter
     * this happens by itself when the server has started. Idempotent.
     */
    public void ready() {
        gate.whenServing("ArbiterWorker.ready()", () -> {
            if (!readySent.get() && readyContainer == null) {
                host.postWorkerInit(worker, Supervisor.CONTAINER);
            }
            if (readySent.compareAndSet(false, true)) {
                send("ready");
            }
        });
    }

    /**
     * Sends heartbeats only while {@code check} returns true. By default a heartbeat proves that the JVM runs (it
     * is not stopped, swapped out or stuck in a GC pause); a check can tie it to the application, for example
     * "the request executor made progress in the last 10 s", so that the arbiter replaces a worker that is alive
     * but stuck. A check that throws counts as false.
     *
     * <pre>{@code
     * ArbiterWorker.attach(Forksafe.registry()).livenessCheck(() -> executor.lastProgressAgeMillis() < 10_000);
     * }</pre>
     */
    public ArbiterWorker livenessCheck(java.util.function.BooleanSupplier check) {
        this.liveness = Objects.requireNonNull(check, "check must not be null");
        return this;
    }

    /**
     * For servers without a forksafe adapter: one request was served. With {@code --max-requests} the worker asks
     * the arbiter to recycle it once it served its limit (the Jetty, Undertow and Tomcat adapters count by themselves,
     * so do not call this with them); without it, this only counts.
     *
     * <pre>{@code
     * ArbiterWorker worker = ArbiterWorker.attach(Forksafe.registry());
     * // in the request loop, after each response:
     * worker.requestServed();
     * }</pre>
     */
    public void requestServed() {
        requests.end(requests.begin());
    }

    /** Whether readiness was reported. */
    public boolean isReady() {
        return readySent.get();
    }

    /**
     * Whether this JVM is a standby ({@code --standby K}) that is booted and waits for its promotion: its server
     * started, nothing accepted yet, no PostWorkerInit yet.
     */
    public boolean isStandby() {
        return standbySent.get() && gate.held();
    }

    /** This worker as the arbiter knows it (slot, generation, pid, the arbiter's pid as parent). */
    public WorkerInfo worker() {
        return worker;
    }

    /** The stable slot, from 1. */
    public int slot() {
        return worker.slot();
    }

    /** The generation in the slot, from 0. */
    public long generation() {
        return worker.generation();
    }

    /** The arbiter's pid. */
    public long arbiterPid() {
        return worker.parentPid();
    }

    /** The container the worker-side events report. */
    public static ContainerInfo container() {
        return Supervisor.CONTAINER;
    }

    /** The {@code arbiterWorker} status section of a worker JVM, rendered as JSON, text and JMX. */
    public record Status(int slot, long generation, long pid, long arbiterPid, String control, boolean connected,
                         String controlError, long heartbeatIntervalMillis, long heartbeatsSent,
                         long heartbeatsSkippedByLivenessCheck, boolean ready, String role, Long promotionMillis,
                         Requests requests) {
    }

    /**
     * The requests this worker served, as its adapters (or {@link #requestServed()}) counted them: {@code counted}
     * the adapters that count, {@code maxRequests} this worker's recycle limit ({@code --max-requests} plus its
     * jitter draw, null without one), {@code timeoutMillis} {@code --request-timeout} (null without one). Null when no
     * limit is set.
     */
    public record Requests(long served, Long maxRequests, Long timeoutMillis, List<String> countedBy) {
    }

    private Status statusDetail() {
        SocketChannel c = control;
        WorkerInfo w = worker;
        long promoted = promotionMillis;
        return new Status(w.slot(), w.generation(), w.pid(), w.parentPid(), controlPath,
                c != null && c.isOpen(), controlError, heartbeatMillis, heartbeats.get(), skippedBeats.get(),
                readySent.get(), gate.held() ? "standby" : "serving", promoted < 0 ? null : promoted,
                limits.any() ? new Requests(requests.served(), limits.maxRequests() > 0 ? limits.maxRequests() : null,
                        limits.timeoutMillis() > 0 ? limits.timeoutMillis() : null, requests.installers()) : null);
    }

    @Override
    public String toString() {
        return "ArbiterWorker[" + worker.name() + ", pid " + worker.pid() + ", generation " + worker.generation()
                + ", arbiter " + worker.parentPid() + "]";
    }
}
