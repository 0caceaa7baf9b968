package io.forksafe.arbiter.internal;

import io.forksafe.spi.HostContext;
import io.forksafe.ContainerInfo;
import io.forksafe.ForkEvent;
import io.forksafe.ForkRegistry;
import io.forksafe.Subscription;
import io.forksafe.WorkerInfo;
import io.forksafe.WorkerKind;
import io.forksafe.arbiter.Arbiter;
import io.forksafe.arbiter.ArbiterConfig;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

import jnr.constants.platform.Signal;

/**
 * The arbiter's engine: one supervisor thread owns all worker state and runs a short loop (take the exits that the
 * workers' reaper threads saw, promote ready workers, enforce boot and heartbeat timeouts, keep the slots filled with
 * backoff, promoting a booted standby first, keep the standbys booted, advance a rolling restart, drive a graceful
 * stop). Commands from signals, from the API and from the reapers are queued to that thread, so no state is shared
 * without the lock. Each child has a reaper thread blocked in {@code waitpid(pid)}: a death wakes the loop at once,
 * with no polling tick in between.
 */
public final class Supervisor {

    /** The container the arbiter's events report. */
    public static final ContainerInfo CONTAINER = ContainerInfo.of("forksafe-arbiter", version());

    private static final long TICK_MILLIS = 50;
    private static final long STABLE_NANOS = TimeUnit.SECONDS.toNanos(5);
    private static final int MAX_SPAWN_FAILURES = 3;
    private static final int MAX_NEVER_CONNECTED = 3;

    private enum Phase { NEW, RUNNING, STOPPING, STOPPED }

    private static final class Slot {
        final int number;
        long nextGeneration;
        WorkerProcess current;
        WorkerProcess incoming;
        int restarts;
        Integer lastExitStatus;
        int consecutiveFailures;
        int neverConnected;
        int spawnFailures;
        long nextSpawnAtNanos;
        /** The slot's last ended worker, kept for its reported errors and hook failures (one per slot). */
        WorkerProcess ended;

        Slot(int number) {
            this.number = number;
        }
    }

    private final ArbiterConfig config;
    private final ForkRegistry registry;
    private final HostContext host;
    private final long pid = ProcessHandle.current().pid();
    private final Object lock = new Object();
    private final TreeMap<Integer, Slot> slots = new TreeMap<>();
    /** Next generation of slots removed by scaling down, so a slot that comes back keeps counting up. */
    private final Map<Integer, Long> retiredGenerations = new java.util.HashMap<>();
    private final Map<Long, WorkerProcess> byPid = new ConcurrentHashMap<>();
    private final List<WorkerProcess> retiring = new ArrayList<>();
    /** Standbys not promoted yet: booting, booted, or being stopped (the order is the promotion order). */
    private final List<WorkerProcess> standbys = new ArrayList<>();
    /** The standbys' failure counters and backoff, as a slot has them. */
    private final Slot standbySlot = new Slot(0);
    private int standbysStarted;
    /** How many workers and standbys ended, by cause, since the arbiter started (guarded by lock). */
    private final java.util.EnumMap<ExitCause, Long> exitsByCause = new java.util.EnumMap<>(ExitCause.class);
    private final RecentEvents recent = new RecentEvents();
    private final ArbiterMetrics metrics = new ArbiterMetrics();
    private final long startedAtMillis = System.currentTimeMillis();
    /** Spawn mode: where a promoted standby takes the listening socket (restored copies have their source's). */
    private SocketHandoff.Server standbyHandoff;
    /** Exits seen by the reaper threads: pid and decoded status (-1 when someone else reaped it). */
    private final java.util.concurrent.ConcurrentLinkedQueue<long[]> reaped =
            new java.util.concurrent.ConcurrentLinkedQueue<>();
    private final LinkedBlockingQueue<String> commands = new LinkedBlockingQueue<>();
    private final CountDownLatch done = new CountDownLatch(1);
    private final List<Thread> pumps = new ArrayList<>();
    private final Deque<Integer> rollingQueue = new ArrayDeque<>();
    private Integer rollingSlot;
    /** Slots queued for a roll of one because their worker is recycled (max requests, max RSS), by slot. */
    private final Map<Integer, Recycle> recycles = new java.util.HashMap<>();

    /** A recycle of {@code worker}: why, in the exit cause and in the log's words. */
    private record Recycle(WorkerProcess worker, ExitCause cause, String detail) {
    }
    private int target;
    private volatile Phase phase = Phase.NEW;
    private volatile int exitCode;
    private volatile String haltReason;
    private long gracefulDeadlineNanos;
    private long lastStatusFileNanos;
    private volatile long lastTickNanos;
    /** A stop was requested and the drain delay runs until {@link #drainEndsNanos}: not ready, still serving. */
    private volatile boolean draining;
    private long drainEndsNanos;
    /** Workers of a slot in state ready, and how many must be for readiness: counted each pass, for the probes. */
    private volatile int servingWorkers;
    private volatile int neededForReady;
    private long heartbeatChecksResumeNanos;

    private ListenSocket listen;
    private ControlServer control;
    private StatusServer statusServer;
    private LogSink log;
    private Subscription printer;
    private Thread thread;
    private Thread shutdownHook;
    private final WorkerSource source;
    private final SystemdNotify systemd = SystemdNotify.fromEnvironment();
    /** Whether every slot had a ready worker once: the pid file is written and systemd told READY=1. */
    private volatile boolean serving;
    /** Opens when {@link #serving} turns true, or when the arbiter stops without ever serving. */
    private final CountDownLatch servingOrDone = new CountDownLatch(1);

    public Supervisor(ArbiterConfig config, ForkRegistry registry) {
        Libc.preload();
        this.config = config;
        this.source = config.preload()
                ? new RestoreSource(config, this::say, line -> log.stdout(line), line -> log.stderr(line))
                : new SpawnSource(config, () -> listen.fd());
        this.registry = registry;
        this.host = HostContext.of(this.registry);
        this.target = config.workers();
        this.neededForReady = config.minReady(); // before the first count: not ready with no worker serving
    }

    // ------------------------------------------------------------------ lifecycle

    /**
     * Binds the socket, opens the control channel, the status endpoint and the pid file, and starts supervising.
     *
     * @throws IOException if the address is in use (a {@link java.net.BindException} naming it) or a file cannot
     *                     be written
     */
    public void start() throws IOException {
        synchronized (lock) {
            if (phase != Phase.NEW) {
                throw new IllegalStateException("this arbiter was already started; create a new one to start again");
            }
            Libc.get();
            log = new LogSink(config.out(), config.err(), config.logFile(), config.logMaxBytes(), config.logMaxFiles());
            try {
                checkPidfile();
                listen = ListenSocket.bind(config.bind(), config.backlog());
                // with --image-dir, at a fixed path in it: a kept image names the control socket
                Path controlSocket = source instanceof RestoreSource restore ? restore.open() : null;
                control = new ControlServer(controlSocket, this::lookup, this::wake, (w, event) -> {
                    if (config.printEvents()) {
                        say(w.label() + " event " + event);
                    }
                }, this::forwardErrors);
                if (config.standby() > 0 && !(source instanceof RestoreSource)) {
                    standbyHandoff = new SocketHandoff.Server(control.path().resolveSibling("listener.sock"),
                            listen.fd());
                }
                if (source instanceof RestoreSource restore) {
                    control.acceptRestores(this::identifyRestored, restore::serveTemplate);
                    try {
                        restore.prepare(control.path(), listen.fd());
                    } catch (io.forksafe.arbiter.PreloadUnavailableException e) {
                        throw e; // this machine cannot run --preload: a usage error (exit 2), not a boot error
                    } catch (IllegalStateException e) {
                        throw new io.forksafe.arbiter.WorkerBootException(e.getMessage(), e);
                    }
                }
                if (config.statusAddress() != null) {
                    statusServer = StatusServer.start(registry, config.statusAddress(), new Probes(this::probeState),
                            this::metricsText);
                    String exposure = statusServer.exposure();
                    if (exposure != null) {
                        say(exposure);
                    }
                }
            } catch (IOException | RuntimeException e) {
                closeResources();
                phase = Phase.STOPPED;
                exitCode = e instanceof io.forksafe.arbiter.WorkerBootException ? ControlProtocol.BOOT_ERROR_EXIT
                        : e instanceof io.forksafe.arbiter.PreloadUnavailableException ? 2 : 1;
                haltReason = e.getMessage();
                servingOrDone.countDown();
                done.countDown(); // join() returns: nothing runs
                throw e;
            }
            host.statusDetail("arbiter", this::statusDetail);
            host.putSettings(Map.of("forksafe.arbiter.bind", ListenSocket.describe(address()),
                    "forksafe.arbiter.workers", String.valueOf(target),
                    "forksafe.arbiter.standby", String.valueOf(config.standby())));
            host.note("forksafe-arbiter", "arbiter pid " + pid + " listens on "
                    + ListenSocket.describe(listen.address()) + " and passes the socket to each worker as fd 0"
                    + (config.standby() > 0 ? " (a standby receives it at its promotion)" : "")
                    + (source instanceof RestoreSource ? " (restored copies receive it at restore; the template "
                    + "serves a private socket)" : ""));
            if (config.printEvents()) {
                printer = registry.subscribe(ForkEvent.class, "forksafe.arbiter.printEvents", Integer.MIN_VALUE,
                        e -> say("event " + e.type().displayName() + " " + e.worker().name() + " pid "
                                + e.worker().pid() + " generation " + e.worker().generation()
                                + (e instanceof io.forksafe.ChildExit c ? " exit status " + c.exitStatus() : "")));
            }
            phase = Phase.RUNNING;
            say("listening on " + ListenSocket.describe(address()) + " (fd " + listen.fd() + " via "
                    + listen.fdSource() + "), " + target + " worker(s)"
                    + (config.standby() > 0 ? " and " + config.standby() + " standby" : "") + " of "
                    + config.mainClass()
                    + (statusServer != null ? ", status http://" + ListenSocket.describe(statusServer.address()) + "/" : "")
                    + ", control " + control.path());
            shutdownHook = new Thread(this::terminateAllOnJvmExit, "forksafe-arbiter-shutdown");
            Runtime.getRuntime().addShutdownHook(shutdownHook);
            thread = new Thread(this::loop, "forksafe-arbiter");
            thread.start();
        }
    }

    /** Asks for a graceful stop (SIGTERM/SIGINT). */
    public void requestStop() {
        commands.offer("stop");
    }

    /** Asks for a rolling restart (SIGHUP). */
    public void requestReload() {
        commands.offer("reload");
    }

    /** One worker more (SIGTTIN). */
    public void requestIncrease() {
        commands.offer("ttin");
    }

    /** One worker fewer (SIGTTOU). */
    public void requestDecrease() {
        commands.offer("ttou");
    }

    private void wake() {
        commands.offer("wake");
    }

    /** Waits until the arbiter has stopped; returns its exit code (0, 3 after a boot error, 1 on failure). */
    public int join() throws InterruptedException {
        done.await();
        return exitCode;
    }

    /** Waits at most {@code timeout}; returns whether it stopped. */
    public boolean join(Duration timeout) throws InterruptedException {
        return done.await(timeout.toMillis(), TimeUnit.MILLISECONDS);
    }

    /**
     * Waits at most {@code timeout} until every worker is ready for the first time (when the pid file is written);
     * returns whether it served, false if it stopped first.
     */
    public boolean awaitServing(Duration timeout) throws InterruptedException {
        return servingOrDone.await(timeout.toMillis(), TimeUnit.MILLISECONDS) && serving;
    }

    /** Whether the arbiter has stopped. */
    public boolean stopped() {
        return done.getCount() == 0;
    }

    /** The exit code so far. */
    public int exitCode() {
        return exitCode;
    }

    /** Why the arbiter halted, or null. */
    public String haltReason() {
        return haltReason;
    }

    /** The bound listening address. */
    public InetSocketAddress address() {
        return listen != null ? listen.address() : null;
    }

    /** The status endpoint's address, or null. */
    public InetSocketAddress statusAddress() {
        return statusServer == null ? null : statusServer.address();
    }

    /** The current target number of workers. */
    public int targetWorkers() {
        synchronized (lock) {
            return target;
        }
    }

    // ------------------------------------------------------------------ the loop

    private void loop() {
        try {
            boolean configured = false;
            while (true) {
                String cmd = commands.poll(TICK_MILLIS, TimeUnit.MILLISECONDS);
                synchronized (lock) {
                    while (cmd != null) {
                        handle(cmd);
                        cmd = commands.poll();
                    }
                    if (draining && phase == Phase.RUNNING && System.nanoTime() - drainEndsNanos >= 0) {
                        gracefulStop();
                    }
                    long now = System.nanoTime();
                    noticeStall(now);
                    reap();
                    promoteReady(now);
                    announceServingOnce();
                    checkTimeouts(now);
                    if (phase == Phase.RUNNING) {
                        checkReload();
                        // now, not the tick's start: a worker reaped above is replaced in this pass, not the next
                        maintain(System.nanoTime());
                        checkRecycling(now);
                        advanceRolling();
                    } else if (phase == Phase.STOPPING && byPid.isEmpty()) {
                        break;
                    }
                    countServing();
                }
                if (!configured) {
                    // after the first workers were spawned: this registers the status MBean, which takes a while
                    configured = true;
                    host.configured("forksafe-arbiter", CONTAINER);
                }
                writeStatusFileIfDue();
            }
        } catch (Throwable t) {
            exitCode = 1;
            say("supervisor failed: " + t + "; stopping workers");
            killAllNow();
        } finally {
            synchronized (lock) {
                phase = Phase.STOPPED;
            }
            drainOutput();
            say(haltReason != null ? "halted (exit code " + exitCode + ")" : "stopped (exit code " + exitCode + ")");
            writeStatusFile();
            try {
                closeResources();
            } catch (RuntimeException e) {
                say("closing the arbiter's resources failed: " + e); // join() must still return
            }
            try {
                Runtime.getRuntime().removeShutdownHook(shutdownHook);
            } catch (IllegalStateException ignored) {
                // the JVM is already shutting down
            }
            servingOrDone.countDown();
            done.countDown();
        }
    }

    /**
     * If this loop itself did not run for a while (the arbiter was stopped with SIGSTOP, the machine suspended, a
     * long GC pause), the workers' heartbeats are still queued unread: judging them now would abort every healthy
     * worker. Heartbeat checks pause for two intervals instead.
     */
    private void noticeStall(long now) {
        long gap = lastTickNanos == 0 ? 0 : now - lastTickNanos;
        lastTickNanos = now;
        if (gap > TimeUnit.SECONDS.toNanos(1) + config.heartbeatInterval().toNanos()) {
            heartbeatChecksResumeNanos = now + 2 * config.heartbeatInterval().toNanos();
            say("the supervisor did not run for " + gap / 1_000_000 + " ms (arbiter paused?); heartbeat checks resume in "
                    + 2 * config.heartbeatInterval().toMillis() + " ms");
        }
    }

    private void handle(String cmd) {
        switch (cmd) {
            case "stop" -> {
                if (phase != Phase.RUNNING) {
                    return;
                }
                if (draining) {
                    say("second stop request: the drain delay ends now");
                    drainEndsNanos = System.nanoTime();
                } else if (config.drainDelay().isZero()) {
                    gracefulStop();
                } else {
                    draining = true;
                    drainEndsNanos = System.nanoTime() + config.drainDelay().toNanos();
                    say("draining: /readyz answers 503 now; the workers keep serving for "
                            + seconds(config.drainDelay()) + ", then stop gracefully (a second SIGTERM ends the delay)");
                }
            }
            case "reload" -> {
                if (phase == Phase.RUNNING && !draining) {
                    if (source instanceof RestoreSource restore) {
                        // a new version: a new template from the current class path, warmed and checkpointed, first
                        say("reload: booting a new template and checkpointing it; the copies roll onto its image "
                                + "once it is ready, and keep serving from the current one if that fails");
                        restore.beginReload();
                    } else {
                        beginRoll();
                    }
                }
            }
            case "ttin" -> {
                if (phase == Phase.RUNNING) {
                    target++;
                    say("workers +1 -> " + target);
                    host.putSettings(Map.of("forksafe.arbiter.workers", String.valueOf(target)));
                }
            }
            case "ttou" -> {
                if (phase == Phase.RUNNING) {
                    if (target > 1) {
                        target--;
                        say("workers -1 -> " + target);
                        host.putSettings(Map.of("forksafe.arbiter.workers", String.valueOf(target)));
                    } else {
                        say("already at 1 worker: SIGTTOU ignored");
                    }
                }
            }
            default -> {
                // "wake": just run the loop
            }
        }
    }

    private void beginRoll() {
        rollingQueue.clear();
        rollingSlot = null;
        recycles.clear(); // every worker is replaced anyway
        slots.forEach((n, s) -> {
            if (n <= target && s.current != null) {
                rollingQueue.add(n);
            }
        });
        recent.add(RecentEvents.Kind.ROLL_START, rollingQueue.size() + " worker(s)");
        say("rolling restart of " + rollingQueue.size() + " worker(s): each new generation serves before the old one stops"
                + (standbys.isEmpty() ? "" : "; the standbys are replaced by new ones"));
        long deadline = System.nanoTime() + config.gracefulTimeout().toNanos();
        for (WorkerProcess p : new ArrayList<>(standbys)) {
            terminate(p, ExitCause.RELOAD, "replaced by the reload", deadline);
        }
    }

    /** A reload in preload mode rolls once its new image is ready; a failed one leaves the copies as they are. */
    private void checkReload() {
        if (!(source instanceof RestoreSource restore)) {
            return;
        }
        String outcome = restore.takeReloadOutcome();
        if (outcome == null) {
            return;
        }
        if (outcome.isEmpty()) {
            host.note("forksafe-arbiter.reload", "the copies roll onto image " + restore.imageGeneration());
            beginRoll();
        } else {
            host.note("forksafe-arbiter.reload", "reload failed; the copies keep serving image "
                    + restore.imageGeneration() + ": " + outcome);
        }
    }

    private void gracefulStop() {
        say("graceful stop: workers finish in-flight requests within " + seconds(config.gracefulTimeout()));
        beginStop();
    }

    /** For the probes (any thread, no lock): see {@link Probes.State}. */
    private Probes.State probeState() {
        Phase p = phase;
        return new Probes.State(p != Phase.NEW, p == Phase.STOPPED, draining, p == Phase.STOPPING, lastTickNanos,
                servingWorkers, neededForReady);
    }

    /** Counts the serving workers for the probes, at the end of each pass. */
    private void countServing() {
        int n = 0;
        for (Slot s : slots.values()) {
            if (s.number <= target && s.current != null && s.current.state == WorkerProcess.State.READY) {
                n++;
            }
        }
        servingWorkers = n;
        neededForReady = Math.min(config.minReady(), target);
    }

    private void beginStop() {
        phase = Phase.STOPPING;
        notifySystemd("STOPPING=1", systemd.stopping());
        rollingQueue.clear();
        rollingSlot = null;
        recycles.clear();
        gracefulDeadlineNanos = System.nanoTime() + config.gracefulTimeout().toNanos();
        if (listen != null) {
            Closing.quietly(listen); // our copy only; the workers keep serving in-flight requests
        }
        for (WorkerProcess p : new ArrayList<>(byPid.values())) {
            terminate(p, ExitCause.SHUTDOWN, "arbiter stopping", gracefulDeadlineNanos);
        }
    }

    private void halt(String reason, int code) {
        haltReason = reason;
        exitCode = code;
        recent.add(RecentEvents.Kind.HALT, reason);
        say(reason);
        host.reportError("forksafe-arbiter", reason);
        beginStop();
    }

    // ------------------------------------------------------------------ spawning

    private WorkerProcess spawn(Slot s) {
        WorkerProcess p = launch(s.number, s.nextGeneration, 0, s);
        if (p != null) {
            s.nextGeneration++;
        }
        return p;
    }

    /** Boots one more standby (slot 0 until its promotion; its number doubles as its generation). */
    private WorkerProcess spawnStandby() {
        int n = standbysStarted + 1;
        WorkerProcess p = launch(0, n, n, standbySlot);
        if (p != null) {
            standbysStarted = n;
            standbys.add(p);
        }
        return p;
    }

    /**
     * Starts one worker (or standby {@code standby} &gt; 0): PreFork, the source starts it, PostForkParent once it
     * has its pid. A failure counts against {@code failures}; the third in a row halts the arbiter.
     */
    private WorkerProcess launch(int slot, long generation, int standby, Slot failures) {
        String name = standby > 0 ? ControlProtocol.standbyName(standby) : WorkerProcess.name(slot);
        WorkerInfo pre = new WorkerInfo(slot, name, source.kind(), WorkerInfo.UNKNOWN_PID, pid, generation);
        publishQuietly(() -> host.preFork(pre, CONTAINER));
        Map<String, String> env = environment(slot, generation);
        if (standby > 0) {
            env.put(ControlProtocol.ENV_STANDBY, String.valueOf(standby));
            if (standbyHandoff != null) {
                env.put(PreloadProtocol.ENV_LISTENER, standbyHandoff.path());
            }
        }
        Spawner.Child child;
        try {
            child = source.start(slot, generation, env);
        } catch (IOException e) {
            failures.spawnFailures++;
            say("cannot spawn " + name + ": " + e.getMessage());
            if (failures.spawnFailures >= MAX_SPAWN_FAILURES) {
                halt("cannot spawn workers (" + e.getMessage() + "); halting", 1);
            } else {
                failures.nextSpawnAtNanos = System.nanoTime() + backoffNanos(failures.spawnFailures + 1);
            }
            return null;
        }
        failures.spawnFailures = 0;
        WorkerProcess p = new WorkerProcess(slot, generation, child.pid(), pid, source.kind(), standby);
        byPid.put(p.pid, p);
        watchExit(p);
        java.util.function.Supplier<String> prefix = () -> "[" + p.name() + " pid "
                + (p.workerPid > 0 ? p.workerPid : p.pid) + "] ";
        pumps.add(OutputPump.start(child.stdoutFd(), prefix, log::stdout, "forksafe-arbiter-out-" + p.pid));
        pumps.add(OutputPump.start(child.stderrFd(), prefix, log::stderr, "forksafe-arbiter-err-" + p.pid));
        pumps.removeIf(t -> !t.isAlive());
        if (p.kind == WorkerKind.RESTORE) {
            say("restoring " + p.label() + " from image " + ((RestoreSource) source).imageGeneration());
            recent.add(RecentEvents.Kind.RESTORE, p, "image " + ((RestoreSource) source).imageGeneration());
        } else {
            say("spawned " + p.label());
            recent.add(RecentEvents.Kind.SPAWN, p, null);
            publishQuietly(() -> host.postForkParent(p.info(), CONTAINER)); // a copy's, once it has its pid
        }
        return p;
    }

    /**
     * A reaper thread for one child, blocked in {@code waitpid(pid)}: its exit is queued and wakes the loop at once.
     * Only this thread waits for that pid, so no status is lost to a poll; the pid is marked reaped before anyone may
     * reuse it, so no signal goes astray.
     */
    private void watchExit(WorkerProcess p) {
        Thread t = new Thread(() -> {
            Libc.C c = Libc.get();
            int[] status = new int[1];
            long decoded;
            while (true) {
                int r = c.waitpid((int) p.pid, status, 0);
                if (r == p.pid) {
                    decoded = decode(status[0]);
                    break;
                }
                if (r < 0 && Libc.errno() == Libc.EINTR) {
                    continue;
                }
                decoded = -1; // someone else reaped it (a waitpid(-1) elsewhere in this JVM)
                break;
            }
            p.reaped = true;
            reaped.add(new long[] {p.pid, decoded});
            wake();
        }, "forksafe-arbiter-reaper-" + p.pid);
        t.setDaemon(true);
        t.start();
    }

    private Map<String, String> environment(int slot, long generation) {
        Map<String, String> env = new TreeMap<>(System.getenv());
        env.remove(SystemdNotify.ENV); // the service's main process is the arbiter, not its workers
        env.putAll(config.environment());
        env.put(ControlProtocol.ENV_ARBITER_PID, String.valueOf(pid));
        env.put(ControlProtocol.ENV_SLOT, String.valueOf(slot));
        env.put(ControlProtocol.ENV_GENERATION, String.valueOf(generation));
        env.put(ControlProtocol.ENV_CONTROL, control.path().toString());
        env.put(ControlProtocol.ENV_HEARTBEAT_MILLIS, String.valueOf(config.heartbeatInterval().toMillis()));
        env.put(ControlProtocol.ENV_GRACEFUL_MILLIS, String.valueOf(config.gracefulTimeout().toMillis()));
        env.put(ControlProtocol.ENV_BIND, ListenSocket.describe(address()));
        env.putAll(RequestLimits.environment(config));
        return env;
    }

    private WorkerProcess lookup(long workerPid) {
        return byPid.get(workerPid);
    }

    /**
     * On the control thread: a restored copy asks who it is, naming its pid namespace. The copy restoring in that
     * namespace gets its host pid, and the arbiter's PostForkParent runs for it.
     */
    private WorkerProcess identifyRestored(String namespace) {
        for (WorkerProcess p : byPid.values()) {
            if (p.kind != WorkerKind.RESTORE || p.workerPid > 0 || !p.alive()) {
                continue;
            }
            try {
                if (RestoreSource.namespaceOf(p.pid).equals(namespace)) {
                    p.workerPid = RestoreSource.copyPid(p.pid);
                    publishQuietly(() -> host.postForkParent(p.info(), CONTAINER));
                    return p;
                }
            } catch (IOException e) {
                // not forked yet, or already gone
            }
        }
        return null;
    }

    /**
     * On the control thread, when a worker reported its errors: each new one becomes an error of the arbiter's own
     * status ("worker-1 (pid N) error: ..."), so the arbiter's top-level errors show that a worker is misconfigured.
     */
    private void forwardErrors(WorkerProcess w) {
        for (String e : w.unforwardedErrors()) {
            // a restored copy by its own host pid, not its unshare process's
            host.reportError(WorkerProcess.name(w.slot) + " (pid " + (w.workerPid > 0 ? w.workerPid : w.pid) + ")",
                    e);
            say(w.label() + " reports an error: " + e);
        }
    }

    /**
     * A dead worker's last report lines may still be unread on its control connection; they end with its EOF,
     * which follows its death at once, so this waits briefly for the reader to reach it.
     */
    private static void awaitLastReport(WorkerProcess p) {
        if (!p.connected) {
            return;
        }
        try {
            p.controlDone.await(500, TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    // ------------------------------------------------------------------ supervising

    private void reap() {
        for (long[] r = reaped.poll(); r != null; r = reaped.poll()) {
            WorkerProcess p = byPid.get(r[0]);
            if (p != null) {
                exited(p, (int) r[1]);
            }
        }
    }

    static int decode(int status) {
        int signal = status & 0x7f;
        return signal == 0 ? (status >> 8) & 0xff : 128 + signal;
    }

    private void exited(WorkerProcess p, int reaped) {
        awaitLastReport(p);
        // criu restore, the copy's parent in its namespace, does not pass the copy's exit status on: 0 means unknown
        int status = p.bootError ? ControlProtocol.BOOT_ERROR_EXIT
                : p.kind == WorkerKind.RESTORE && reaped == 0 ? -1 : reaped;
        long now = System.nanoTime();
        p.state = WorkerProcess.State.EXITED;
        p.exitStatus = status;
        byPid.remove(p.pid);
        retiring.remove(p);
        boolean wasStandby = standbys.remove(p);
        Slot s = wasStandby ? null : slots.get(p.slot);
        if (s != null) {
            s.lastExitStatus = status;
            s.ended = p;
        }
        exitsByCause.merge(p.exitCause(), 1L, Long::sum);
        recent.add(RecentEvents.Kind.EXIT, p, describeStatus(status) + ", " + p.exitCause()
                + (p.stopDetail != null ? ": " + p.stopDetail : ""));
        say(p.label() + " exited with " + describeStatus(status)
                + (p.stopDetail != null ? " (" + p.stopDetail + ")" : ""));
        try {
            if (wasStandby) {
                standbyExited(p, status, now);
            } else if (s != null) {
                vacated(s, p, status, now);
            }
        } finally {
            // after the slot got its standby, if one was booted: the source's clean-up and the ChildExit hooks (the
            // user's code) do not delay the replacement. A spawned replacement still follows ChildExit (maintain).
            String sourceLine = source.ended(p.pid, p.connected);
            if (sourceLine != null) {
                say(sourceLine);
            }
            publishQuietly(() -> host.childExit(p.info(), CONTAINER, status));
        }
    }

    /** The slot's worker {@code p} ended: a rolling replacement takes over, or the slot is refilled (backoff). */
    private void vacated(Slot s, WorkerProcess p, int status, long now) {
        boolean neverReady = p.readyAtNanos == 0;
        if (s.incoming == p) {
            s.incoming = null;
            if (phase == Phase.RUNNING) {
                rollingQueue.clear();
                rollingSlot = null;
                String why = "rolling restart aborted: the new " + p.label() + " exited with " + describeStatus(status)
                        + " before it was ready; the old generation keeps serving. Fix the worker and send SIGHUP again";
                say(why);
                recent.add(RecentEvents.Kind.ROLL_ABORTED, why);
                host.note("forksafe-arbiter.rollingRestart", why);
            }
            return;
        }
        if (s.current != p) {
            return; // a retired generation: nothing to replace
        }
        s.current = null;
        if (phase != Phase.RUNNING) {
            return;
        }
        if (s.incoming != null) {
            s.current = s.incoming; // the rolling replacement takes over the slot
            s.incoming = null;
            rollingSlot = null;
            recycles.remove(s.number);
            return;
        }
        if (p.slot > target || p.stopCause == ExitCause.SCALED_DOWN) {
            return;
        }
        if (haltedOnBootFailure(s, p, status, neverReady)) {
            return;
        }
        s.restarts++;
        metrics.restarted();
        boolean quick = neverReady || now - p.readyAtNanos < STABLE_NANOS;
        s.consecutiveFailures = quick ? s.consecutiveFailures + 1 : 0;
        long delay = backoffNanos(s.consecutiveFailures);
        s.nextSpawnAtNanos = now + delay;
        if (delay == 0) {
            s.current = promoteStandby(s);
            if (s.current != null) {
                return;
            }
        }
        say("respawning " + WorkerProcess.name(p.slot) + (delay == 0 ? " now" : " in " + delay / 1_000_000 + " ms"
                + " (" + s.consecutiveFailures + " quick failures in a row)"));
    }

    /**
     * A worker (or standby) that ended before it served: a boot error (exit 3) halts the arbiter, and so do three in
     * a row that never reached it. Returns whether it halted.
     */
    private boolean haltedOnBootFailure(Slot s, WorkerProcess p, int status, boolean neverReady) {
        if (status == ControlProtocol.BOOT_ERROR_EXIT && neverReady && !p.killed) {
            halt("worker boot error: " + p.label() + " exited with code " + ControlProtocol.BOOT_ERROR_EXIT
                    + " before it served (a PostFork hook threw, or the application's main failed or was not found; "
                    + "see its output above). Halting instead of respawning: fix the worker and start the arbiter again", 3);
            return true;
        }
        if (neverReady && !p.connected) {
            s.neverConnected++;
            if (s.neverConnected >= MAX_NEVER_CONNECTED) {
                halt(p.kind == WorkerKind.RESTORE
                        ? "restored copies end before they reach the arbiter (" + s.neverConnected + " in a row): "
                          + "criu restore fails; see its error above"
                        : "worker JVMs exit before forksafe's worker bootstrap runs (" + s.neverConnected + " in a row, "
                          + "last " + describeStatus(status) + "): check --java, --jvm-opts and --classpath; see the "
                          + "worker output above", 1);
                return true;
            }
        } else {
            s.neverConnected = 0;
        }
        return false;
    }

    /** A standby ended before its promotion: another boots, after a backoff if they keep ending before booting. */
    private void standbyExited(WorkerProcess p, int status, long now) {
        if (phase != Phase.RUNNING || p.stopCause != null) {
            return; // stopped on purpose (a reload, the arbiter stopping)
        }
        boolean neverBooted = !p.standbyReported;
        if (haltedOnBootFailure(standbySlot, p, status, neverBooted)) {
            return;
        }
        standbySlot.consecutiveFailures = neverBooted ? standbySlot.consecutiveFailures + 1 : 0;
        long delay = backoffNanos(standbySlot.consecutiveFailures);
        standbySlot.nextSpawnAtNanos = now + delay;
        say("a new standby boots" + (delay == 0 ? " now" : " in " + delay / 1_000_000 + " ms"));
    }

    private long backoffNanos(int consecutiveFailures) {
        if (consecutiveFailures <= 1) {
            return 0;
        }
        long ms = 100L << Math.min(16, consecutiveFailures - 2);
        return TimeUnit.MILLISECONDS.toNanos(Math.min(ms, config.maxBackoff().toMillis()));
    }

    private void promoteReady(long now) {
        for (WorkerProcess p : byPid.values()) {
            if (p.state == WorkerProcess.State.BOOTING && p.standby > 0 && p.standbyReported) {
                p.state = WorkerProcess.State.STANDBY;
                p.lastBeatNanos = now;
                say(p.label() + " booted as a standby in " + (now - p.spawnedAtNanos) / 1_000_000 + " ms");
                metrics.observeBoot(bootSource(p), now - p.spawnedAtNanos);
                recent.add(RecentEvents.Kind.STANDBY_BOOTED, p, "in " + (now - p.spawnedAtNanos) / 1_000_000 + " ms");
            } else if (p.state == WorkerProcess.State.BOOTING && p.standby == 0 && p.readyReported) {
                p.state = WorkerProcess.State.READY;
                p.readyAtNanos = now;
                p.lastBeatNanos = now;
                say(p.label() + " ready in " + (now - p.spawnedAtNanos) / 1_000_000 + " ms");
                if (p.standbyName == null) { // a promoted standby's boot was counted when it booted
                    metrics.observeBoot(bootSource(p), now - p.spawnedAtNanos);
                }
                recent.add(RecentEvents.Kind.READY, p, "in " + (now - p.spawnedAtNanos) / 1_000_000 + " ms");
            }
        }
    }

    private void checkTimeouts(long now) {
        for (WorkerProcess p : new ArrayList<>(byPid.values())) {
            switch (p.state) {
                case BOOTING -> {
                    if (phase == Phase.RUNNING && now - p.spawnedAtNanos > config.bootTimeout().toNanos()) {
                        abort(p, ExitCause.BOOT_TIMEOUT, "not ready within the boot timeout of " + seconds(config.bootTimeout()), now);
                    }
                }
                case READY, STANDBY -> {
                    if (phase == Phase.RUNNING && now >= heartbeatChecksResumeNanos
                            && now - p.lastBeatNanos > config.timeout().toNanos()) {
                        abort(p, ExitCause.HEARTBEAT_TIMEOUT, "no heartbeat for " + (now - p.lastBeatNanos) / 1_000_000 + " ms (timeout "
                                + seconds(config.timeout()) + ")", now);
                    }
                }
                case STOPPING, ABORTING -> {
                    if (!p.killed && now >= p.killAtNanos) {
                        p.killed = true;
                        say("killing " + p.label() + " (SIGKILL): " + (p.state == WorkerProcess.State.STOPPING
                                ? "still running after the graceful timeout" : "timed out"));
                        signal(p, Signal.SIGKILL);
                    }
                }
                default -> {
                }
            }
        }
    }

    /** gunicorn's abort: here SIGQUIT (the JVM prints a thread dump, echoed above), then SIGKILL. */
    private void abort(WorkerProcess p, ExitCause cause, String why, long now) {
        p.stopCause = cause;
        p.stopDetail = "timed out: " + why;
        p.state = WorkerProcess.State.ABORTING;
        p.killAtNanos = now + config.abortGrace().toNanos();
        say(p.label() + " " + why + ": aborting it (SIGQUIT thread dump, SIGKILL in "
                + config.abortGrace().toMillis() + " ms) and replacing it");
        signal(p, Signal.SIGQUIT);
    }

    private void terminate(WorkerProcess p, ExitCause cause, String detail, long killAtNanos) {
        if (!p.alive() || p.state == WorkerProcess.State.STOPPING || p.state == WorkerProcess.State.ABORTING) {
            return;
        }
        p.stopCause = cause;
        p.stopDetail = detail;
        p.state = WorkerProcess.State.STOPPING;
        p.killAtNanos = killAtNanos;
        signal(p, Signal.SIGTERM);
    }

    /**
     * Signals the worker JVM. A restored copy is signalled by its host pid once known; SIGKILL also goes to its
     * unshare process, whose death (unshare --kill-child) ends the copy's whole pid namespace, restoring or not.
     */
    private void signal(WorkerProcess p, Signal sig) {
        if (!p.alive() || p.reaped) {
            return; // a reaped pid may already belong to another process
        }
        if (p.workerPid > 0) {
            Libc.get().kill((int) p.workerPid, sig.intValue());
        }
        if (p.workerPid != p.pid && (sig == Signal.SIGKILL || p.workerPid <= 0)) {
            Libc.get().kill((int) p.pid, sig.intValue());
        }
    }

    private void maintain(long now) {
        for (int n = 1; n <= target; n++) {
            Slot s = slots.computeIfAbsent(n, number -> {
                Slot fresh = new Slot(number);
                fresh.nextGeneration = retiredGenerations.getOrDefault(number, 0L);
                return fresh;
            });
            if (s.current == null && s.incoming != null) {
                s.current = s.incoming;
                s.incoming = null;
            }
            if (s.current == null && now >= s.nextSpawnAtNanos) {
                WorkerProcess promoted = promoteStandby(s);
                s.current = promoted != null ? promoted : spawn(s);
                if (phase != Phase.RUNNING) {
                    return;
                }
            }
        }
        fillStandbys(now);
        for (Slot s : new ArrayList<>(slots.tailMap(target, false).values())) {
            long deadline = now + config.gracefulTimeout().toNanos();
            if (s.incoming != null) {
                terminate(s.incoming, ExitCause.SCALED_DOWN, "scaled down", deadline);
            }
            if (s.current != null) {
                terminate(s.current, ExitCause.SCALED_DOWN, "scaled down", deadline);
            }
            if ((s.current == null || !s.current.alive()) && (s.incoming == null || !s.incoming.alive())) {
                retiredGenerations.put(s.number, s.nextGeneration);
                slots.remove(s.number);
            }
        }
    }

    /**
     * Promotes the longest-booted standby into slot {@code s}: it takes the slot and the slot's next generation, and
     * is a booting worker until it reports ready (its adapters accept and PostWorkerInit ran). Null if none is booted.
     */
    private WorkerProcess promoteStandby(Slot s) {
        for (WorkerProcess p : new ArrayList<>(standbys)) {
            if (p.state != WorkerProcess.State.STANDBY) {
                continue;
            }
            long generation = s.nextGeneration;
            String failure = ControlProtocol.trySend(p.control, p.controlWriteLock,
                    ControlProtocol.PROMOTE + " " + s.number + " " + generation);
            if (failure != null) {
                say("cannot promote " + p.label() + " (" + failure + "); stopping it");
                terminate(p, ExitCause.PROMOTION_FAILED, "promotion failed", System.nanoTime() + config.abortGrace().toNanos());
                continue;
            }
            String was = p.label();
            standbys.remove(p);
            s.nextGeneration++;
            p.standby = 0;
            p.slot = s.number;
            p.generation = generation;
            p.spawnedAtNanos = System.nanoTime();
            p.lastBeatNanos = p.spawnedAtNanos;
            p.state = WorkerProcess.State.BOOTING;
            say("promoted " + was + " to " + p.label());
            recent.add(RecentEvents.Kind.PROMOTION, p, "was " + was);
            return p;
        }
        return null;
    }

    /**
     * Keeps {@code --standby} standbys booting or booted. They boot once every slot's worker serves, so standbys
     * never slow down the workers' own boot.
     */
    private void fillStandbys(long now) {
        if (config.standby() == 0 || phase != Phase.RUNNING || now < standbySlot.nextSpawnAtNanos) {
            return;
        }
        for (int n = 1; n <= target; n++) {
            Slot s = slots.get(n);
            if (s == null || s.current == null || s.current.state != WorkerProcess.State.READY) {
                return;
            }
        }
        long active = standbys.stream().filter(p -> p.state == WorkerProcess.State.BOOTING
                || p.state == WorkerProcess.State.STANDBY).count();
        for (long k = active; k < config.standby() && phase == Phase.RUNNING; k++) {
            if (spawnStandby() == null) {
                return;
            }
        }
    }

    private void advanceRolling() {
        if (rollingSlot == null) {
            rollingSlot = rollingQueue.poll();
            if (rollingSlot == null) {
                return;
            }
        }
        Slot s = slots.get(rollingSlot);
        Recycle recycle = recycles.get(rollingSlot);
        if (s == null || rollingSlot > target || s.current == null
                || recycle != null && s.incoming == null && s.current != recycle.worker()) {
            recycles.remove(rollingSlot);
            rollingSlot = null; // gone or being respawned anyway (which gives a new generation)
            return;
        }
        if (s.incoming == null) {
            s.incoming = spawn(s);
            if (s.incoming == null) {
                rollingQueue.clear();
                rollingSlot = null;
            }
            return;
        }
        if (s.incoming.state == WorkerProcess.State.READY) {
            WorkerProcess old = s.current;
            s.current = s.incoming;
            s.incoming = null;
            retiring.add(old);
            recycles.remove(rollingSlot);
            boolean recycled = recycle != null && recycle.worker() == old;
            String replaced = "replaced by generation " + s.current.generation;
            terminate(old, recycled ? recycle.cause() : ExitCause.RELOAD,
                    recycled ? recycle.detail() + ", " + replaced : replaced,
                    System.nanoTime() + config.gracefulTimeout().toNanos());
            rollingSlot = null;
            if (recycled) {
                say("recycled " + old.label() + ": " + s.current.label() + " serves; it stops gracefully");
            } else if (rollingQueue.isEmpty()) {
                say("rolling restart complete");
                recent.add(RecentEvents.Kind.ROLL_COMPLETE, null);
            }
        }
    }

    // ------------------------------------------------------------------ recycling

    /**
     * {@code --max-requests}, {@code --max-rss} and {@code --request-timeout} for each slot's serving worker: a
     * worker that asked to be recycled, or whose resident memory (read at most once a second per worker) is above the
     * limit, is recycled; one that reported a request past the timeout is aborted.
     */
    private void checkRecycling(long now) {
        for (Slot s : slots.values()) {
            WorkerProcess p = s.current;
            if (p == null || p.state != WorkerProcess.State.READY) {
                continue;
            }
            String stuck = p.stuckRequest;
            if (stuck != null && config.requestTimeout() != null) {
                String[] f = stuck.split(" ", 2);
                abort(p, ExitCause.REQUEST_TIMEOUT, "a request ran " + f[0] + " ms (started on thread \""
                        + (f.length > 1 ? f[1] : "?") + "\"; request timeout " + seconds(config.requestTimeout())
                        + ")", now);
                continue;
            }
            long served = p.servedAtRecycleRequest;
            if (served > 0) {
                recycle(s, p, ExitCause.MAX_REQUESTS, "served " + served + " requests (max requests "
                        + config.maxRequests() + (config.maxRequestsJitter() > 0 ? " + jitter up to "
                        + config.maxRequestsJitter() : "") + ")");
            }
            if (config.maxRss() != null && now - p.nextRssCheckNanos >= 0) {
                p.nextRssCheckNanos = now + TimeUnit.SECONDS.toNanos(1);
                long rss = ProcessMemory.rssBytes(p.workerPid);
                if (rss > config.maxRss()) {
                    recycle(s, p, ExitCause.MAX_RSS, "resident memory " + rss / (1024 * 1024) + " MiB above max RSS "
                            + config.maxRss() / (1024 * 1024) + " MiB");
                }
            }
        }
    }

    /**
     * Replaces slot {@code s}'s worker {@code p} gracefully, once: a roll of that one slot (queued behind a roll in
     * progress), so its replacement serves before it is stopped with {@code cause}.
     */
    private void recycle(Slot s, WorkerProcess p, ExitCause cause, String detail) {
        if (p.recycling) {
            return;
        }
        p.recycling = true;
        recycles.put(s.number, new Recycle(p, cause, detail));
        boolean busy = rollingSlot != null || !rollingQueue.isEmpty();
        if (!Integer.valueOf(s.number).equals(rollingSlot) && !rollingQueue.contains(s.number)) {
            rollingQueue.add(s.number);
        }
        recent.add(RecentEvents.Kind.RECYCLE, p, cause + ": " + detail);
        say(p.label() + " " + detail + ": recycling it (" + cause.label() + "); its replacement serves before it "
                + "stops" + (busy ? ", after the roll in progress" : ""));
    }

    // ------------------------------------------------------------------ status

    /**
     * The {@code arbiter} status section, rendered as JSON, text and JMX. {@code preload} (restored copies) or
     * {@code cdsArchive} (spawned workers with an AppCDS archive) is null when it does not apply.
     */
    public record Status(long pid, long startedAtMillis, String bind, String workerSource, String phase,
                         int targetWorkers, int standby, long timeoutMillis, long bootTimeoutMillis,
                         long gracefulTimeoutMillis, long heartbeatIntervalMillis, boolean rollingRestart,
                         String haltReason, Map<ExitCause, Long> exitsByCause, List<WorkerRow> workers,
                         List<RecentEvents.Entry> recentEvents, RestoreSource.Status preload,
                         CdsArchive.Status cdsArchive) {
    }

    /** A worker source's part of the status. */
    public record SourceStatus(RestoreSource.Status preload, CdsArchive.Status cdsArchive) {
    }

    /**
     * One worker of the table: {@code role} current, incoming (during a roll), retiring, or standby (slot 0, booted
     * or booting, not serving; its generation is its standby number); {@code previous}, on a current row, the slot's
     * last ended worker.
     */
    public record WorkerRow(int slot, String role, String kind, Long pid, Long generation, String state, int restarts,
                            Long uptimeMillis, Long heartbeatAgeMillis, Long rssBytes, Integer lastExitStatus,
                            Long bootMillis, List<String> events, List<String> errors,
                            List<WorkerReport.HookFailure> hookFailures, List<WorkerReport.HookRuns> hooks,
                            List<WorkerReport.Note> notes, EndedWorker previous) {
    }

    /** A slot's last ended worker, with what it last reported. */
    public record EndedWorker(Long pid, long generation, int exitStatus, ExitCause exitCause, List<String> errors,
                              List<WorkerReport.HookFailure> hookFailures, List<WorkerReport.HookRuns> hooks,
                              List<WorkerReport.Note> notes) {
    }

    private Status statusDetail() {
        synchronized (lock) {
            List<WorkerRow> ws = new ArrayList<>();
            for (Slot s : slots.values()) {
                ws.add(slotRow(s, s.current, "current"));
                if (s.incoming != null) {
                    ws.add(slotRow(s, s.incoming, "incoming"));
                }
            }
            for (WorkerProcess p : retiring) {
                ws.add(slotRow(slots.get(p.slot), p, "retiring"));
            }
            for (WorkerProcess p : standbys) {
                ws.add(slotRow(null, p, "standby"));
            }
            SourceStatus fromSource = source.status();
            return new Status(pid, startedAtMillis, address() == null ? null : ListenSocket.describe(address()),
                    source instanceof RestoreSource ? "restore" : "spawn",
                    draining && phase == Phase.RUNNING ? "draining" : phase.name().toLowerCase(java.util.Locale.ROOT),
                    target, config.standby(), config.timeout().toMillis(), config.bootTimeout().toMillis(),
                    config.gracefulTimeout().toMillis(), config.heartbeatInterval().toMillis(),
                    rollingSlot != null || !rollingQueue.isEmpty(), haltReason,
                    java.util.Collections.unmodifiableMap(new java.util.EnumMap<>(exitsByCause)), ws, recent.entries(),
                    fromSource.preload(),
                    fromSource.cdsArchive());
        }
    }

    private static WorkerRow slotRow(Slot s, WorkerProcess p, String role) {
        WorkerReport report = p == null ? WorkerReport.NONE : p.report;
        WorkerProcess ended = s == null ? null : s.ended;
        EndedWorker previous = role.equals("current") && ended != null && ended != p
                ? new EndedWorker(ended.workerPid > 0 ? ended.workerPid : null, ended.generation, ended.exitStatus,
                        ended.exitCause(), ended.report.errors(), ended.report.hookFailures(), ended.report.hooks(),
                        ended.report.notes())
                : null;
        return new WorkerRow(p != null ? p.slot : s.number, role, p == null ? null : p.kind.name(),
                p == null ? null : p.workerPid > 0 ? p.workerPid : null, p == null ? null : p.generation,
                p == null ? "respawning" : p.state.label(), s == null ? 0 : s.restarts,
                p == null ? null : System.currentTimeMillis() - p.spawnedAtMillis,
                p == null || !p.connected ? null : p.heartbeatAgeMillis(), rss(p), s == null ? null : s.lastExitStatus,
                p == null || p.readyAtNanos == 0 ? null : (p.readyAtNanos - p.spawnedAtNanos) / 1_000_000,
                p == null ? List.of() : p.events(), report.errors(), report.hookFailures(), report.hooks(),
                report.notes(), previous);
    }

    /** A live worker's resident memory in bytes, or null (gone, still restoring, unknown). */
    private static Long rss(WorkerProcess p) {
        if (p == null || p.reaped || p.workerPid <= 0) {
            return null;
        }
        long rss = ProcessMemory.rssBytes(p.workerPid);
        return rss < 0 ? null : rss;
    }


    private static ArbiterMetrics.BootSource bootSource(WorkerProcess p) {
        return p.kind == WorkerKind.RESTORE ? ArbiterMetrics.BootSource.RESTORE : ArbiterMetrics.BootSource.SPAWN;
    }

    /** The arbiter's metrics in the Prometheus text format ({@code /metrics}). */
    String metricsText() {
        List<ArbiterMetrics.WorkerAppMetrics> apps = new ArrayList<>();
        for (WorkerProcess p : byPid.values()) {
            AppMetrics m = p.appMetrics;
            if (p.alive() && !m.samples().isEmpty()) {
                apps.add(new ArbiterMetrics.WorkerAppMetrics(p.name(), p.generation, m));
            }
        }
        apps.sort(java.util.Comparator.comparing(ArbiterMetrics.WorkerAppMetrics::worker)
                .thenComparingLong(ArbiterMetrics.WorkerAppMetrics::generation));
        return metrics.render(statusDetail(), registry.status(), apps);
    }

    /** A snapshot of the worker table for the API. */
    public List<Arbiter.WorkerStatus> workers() {
        synchronized (lock) {
            List<Arbiter.WorkerStatus> out = new ArrayList<>();
            for (Slot s : slots.values()) {
                for (WorkerProcess p : new WorkerProcess[] {s.current, s.incoming}) {
                    if (p != null) {
                        out.add(view(s, p));
                    }
                }
            }
            for (WorkerProcess p : retiring) {
                out.add(view(slots.get(p.slot), p));
            }
            for (WorkerProcess p : standbys) {
                out.add(view(null, p));
            }
            return out;
        }
    }

    private static Arbiter.WorkerStatus view(Slot s, WorkerProcess p) {
        return new Arbiter.WorkerStatus(p.slot, p.workerPid, p.generation, p.state.label(), s == null ? 0 : s.restarts,
                p.connected ? p.heartbeatAgeMillis() : -1, s == null ? null : s.lastExitStatus);
    }

    private void writeStatusFileIfDue() {
        if (config.statusFile() == null) {
            return;
        }
        long now = System.nanoTime();
        if (now - lastStatusFileNanos >= TimeUnit.SECONDS.toNanos(1)) {
            lastStatusFileNanos = now;
            writeStatusFile();
        }
    }

    private void writeStatusFile() {
        Path file = config.statusFile();
        if (file == null) {
            return;
        }
        try {
            Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
            Files.writeString(tmp, registry.status().toJson(), StandardCharsets.UTF_8);
            Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException | RuntimeException e) {
            // the next tick tries again
        }
    }

    // ------------------------------------------------------------------ pid file, cleanup, messages

    private void checkPidfile() throws IOException {
        Path f = config.pidfile();
        if (f == null || !Files.exists(f)) {
            return;
        }
        String text = Files.readString(f).strip();
        try {
            long other = Long.parseLong(text);
            if (other != pid && ProcessHandle.of(other).map(ProcessHandle::isAlive).orElse(false)) {
                throw new IOException("pid file " + f + " names a running process (pid " + other
                        + "): another arbiter is running; stop it or use another --pidfile");
            }
        } catch (NumberFormatException e) {
            // stale or foreign content: overwritten below
        }
    }

    /**
     * Once, when every slot first has a ready worker: writes the pid file (so a start script, and {@code --daemon}'s
     * caller, can wait for it) and tells systemd READY=1. A pid file that cannot be written stops the arbiter: a
     * start script would wait for it in vain.
     */
    private void announceServingOnce() {
        if (serving || phase != Phase.RUNNING || slots.size() < target) {
            return;
        }
        for (Slot s : slots.values()) {
            if (s.current == null || s.current.state != WorkerProcess.State.READY) {
                return;
            }
        }
        serving = true;
        servingOrDone.countDown();
        try {
            writePidfile();
        } catch (IOException e) {
            exitCode = 1;
            haltReason = "cannot write the pid file " + config.pidfile() + " (" + e + "): fix its directory's "
                    + "permissions or choose another --pidfile";
            say(haltReason + "; stopping");
            beginStop();
            return;
        }
        notifySystemd("READY=1", systemd.ready(target + " worker(s) serving on " + ListenSocket.describe(address())));
    }

    private void notifySystemd(String state, String problem) {
        if (problem != null) {
            say(problem);
        } else if (systemd.active()) {
            say("told systemd " + state);
        }
    }

    private void writePidfile() throws IOException {
        Path f = config.pidfile();
        if (f != null) {
            Path parent = f.toAbsolutePath().getParent();
            if (parent != null) {
                Files.createDirectories(parent);
            }
            // atomically: a start script polling for the file never reads it half written
            Path tmp = f.resolveSibling(f.getFileName() + ".tmp");
            Files.writeString(tmp, pid + "\n");
            Files.move(tmp, f, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        }
    }

    private void closeResources() {
        source.close();
        if (standbyHandoff != null) {
            standbyHandoff.close();
        }
        if (printer != null) {
            printer.close();
        }
        if (control != null) {
            control.close();
        }
        if (statusServer != null) {
            statusServer.close();
        }
        if (listen != null) {
            Closing.quietly(listen);
        }
        if (config.pidfile() != null) {
            try {
                Path f = config.pidfile();
                if (Files.exists(f) && Files.readString(f).strip().equals(String.valueOf(pid))) {
                    Files.delete(f);
                }
            } catch (IOException ignored) {
                // a stale pid file names a dead process; checkPidfile tolerates it
            }
        }
        if (log != null) {
            log.close();
        }
    }

    /** Lets the pumps echo the workers' last lines (their shutdown output) before the arbiter returns. */
    private void drainOutput() {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(2);
        for (Thread t : new ArrayList<>(pumps)) {
            long left = deadline - System.nanoTime();
            if (left <= 0) {
                return;
            }
            try {
                t.join(Math.max(1, left / 1_000_000));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
    }

    private void killAllNow() {
        for (WorkerProcess p : byPid.values()) {
            signal(p, Signal.SIGKILL);
        }
    }

    private void terminateAllOnJvmExit() {
        if (phase == Phase.RUNNING || phase == Phase.STOPPING) {
            for (WorkerProcess p : byPid.values()) {
                signal(p, Signal.SIGTERM);
            }
        }
    }

    private void publishQuietly(Runnable publish) {
        try {
            publish.run();
        } catch (RuntimeException e) {
            say("a forksafe hook failed (see the status): " + e.getMessage());
        }
    }

    private void say(String message) {
        LogSink l = log;
        String line = "[arbiter pid " + pid + "] " + message;
        if (l != null) {
            l.stderr(line);
        } else {
            config.err().println(line);
        }
    }

    static String describeStatus(int status) {
        if (status < 0) {
            return "an unknown status";
        }
        if (status > 128) {
            Signal sig = Signal.valueOf(status - 128);
            return "status " + status + " (killed by " + (sig != null && sig.defined() ? sig.name() : "signal " + (status - 128)) + ")";
        }
        return "exit code " + status;
    }

    private static String seconds(Duration d) {
        return d.toMillis() % 1000 == 0 ? d.toSeconds() + " s" : d.toMillis() + " ms";
    }

    static String version() {
        String v = Supervisor.class.getPackage() != null ? Supervisor.class.getPackage().getImplementationVersion() : null;
        return v != null ? v : "0.1.0-SNAPSHOT";
    }
}
