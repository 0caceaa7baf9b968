package io.forksafe.arbiter;

import io.forksafe.ForkRegistry;
import io.forksafe.Forksafe;
import io.forksafe.arbiter.internal.Signals;
import io.forksafe.arbiter.internal.Supervisor;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * A pre-fork arbiter for JVM workers (gunicorn's model, uFork's shape): it binds the listening socket once,
 * <b>spawns</b> worker JVMs with {@code posix_spawnp} (a JVM cannot {@code fork()}), passes each the socket as its
 * fd 0 ({@link System#inheritedChannel()}) and supervises them: heartbeats and timeouts, respawn with backoff, halt
 * on a boot error, graceful stop, rolling restart, scaling by one. It publishes {@code PreFork},
 * {@code PostForkParent} and {@code ChildExit} in this process; the workers publish {@code PostFork},
 * {@code PostWorkerInit} and {@code WorkerExit} in theirs (see {@link ArbiterWorker}).
 *
 * <p>With {@link ArbiterConfig#preload()} it restores its workers instead: one template worker is booted, checkpointed
 * with CRIU once it is ready, and restored once per slot (docs/preload.md). The same supervisor runs both: restored
 * copies heartbeat, time out, back off and report like spawned workers, and {@link #reload()} checkpoints a new
 * template from the current class path, then rolls every slot onto its image.
 *
 * <p>It is a library object: build, {@link #start()}, {@link #stop()}, {@link #join()} from any {@code main} or
 * from {@code jshell}; {@link ArbiterMain} is the command line.
 *
 * <pre>{@code
 * Arbiter arbiter = Arbiter.create(ArbiterConfig.builder()
 *         .workers(2).bind("127.0.0.1:8080").app("com.example.AppMain").statusPort(0).build());
 * arbiter.start();
 * System.out.println(arbiter.workers());
 * arbiter.stop();
 * int exitCode = arbiter.join();
 * }</pre>
 */
public final class Arbiter {

    /**
     * One worker as the arbiter sees it.
     *
     * @param slot               stable slot, from 1; 0 for a standby ({@link ArbiterConfig.Builder#standby(int)})
     * @param pid                the worker JVM's pid
     * @param generation         how many workers this slot had before, from 0; a standby's number
     * @param state              booting, standby (booted, waiting for its promotion), ready, stopping, aborting or
     *                           exited
     * @param restarts           how often the slot's worker was replaced after dying
     * @param heartbeatAgeMillis milliseconds since the last heartbeat, -1 before the worker connected
     * @param lastExitStatus     the slot's last exit status (exit code, or 128 + signal), or null
     */
    public record WorkerStatus(int slot, long pid, long generation, String state, int restarts,
                               long heartbeatAgeMillis, Integer lastExitStatus) {
    }

    /** What runs the workers behind this API: the one supervisor, whose worker source the configuration chooses. */
    interface Engine {
        void start() throws IOException;

        void stop();

        void reload();

        void increment();

        void decrement();

        int join() throws InterruptedException;

        boolean join(Duration timeout) throws InterruptedException;

        boolean awaitServing(Duration timeout) throws InterruptedException;

        boolean stopped();

        String haltReason();

        InetSocketAddress address();

        InetSocketAddress statusAddress();

        int targetWorkers();

        List<WorkerStatus> workers();
    }

    private final ArbiterConfig config;
    private final Engine engine;

    private Arbiter(ArbiterConfig config, ForkRegistry registry) {
        this.config = config;
        this.engine = engine(config, registry);
    }

    /** Runs exactly what the configuration says: restored copies with {@code preload}, spawned workers otherwise. */
    private static Engine engine(ArbiterConfig config, ForkRegistry registry) {
        Supervisor supervisor = new Supervisor(config, registry);
        return new Engine() {
            @Override
            public void start() throws IOException {
                supervisor.start();
            }

            @Override
            public void stop() {
                supervisor.requestStop();
            }

            @Override
            public void reload() {
                supervisor.requestReload();
            }

            @Override
            public void increment() {
                supervisor.requestIncrease();
            }

            @Override
            public void decrement() {
                supervisor.requestDecrease();
            }

            @Override
            public int join() throws InterruptedException {
                return supervisor.join();
            }

            @Override
            public boolean join(Duration timeout) throws InterruptedException {
                return supervisor.join(timeout);
            }

            @Override
            public boolean awaitServing(Duration timeout) throws InterruptedException {
                return supervisor.awaitServing(timeout);
            }

            @Override
            public boolean stopped() {
                return supervisor.stopped();
            }

            @Override
            public String haltReason() {
                return supervisor.haltReason();
            }

            @Override
            public InetSocketAddress address() {
                return supervisor.address();
            }

            @Override
            public InetSocketAddress statusAddress() {
                return supervisor.statusAddress();
            }

            @Override
            public int targetWorkers() {
                return supervisor.targetWorkers();
            }

            @Override
            public List<WorkerStatus> workers() {
                return supervisor.workers();
            }
        };
    }

    /** An arbiter publishing to the global registry ({@link Forksafe#registry()}). */
    public static Arbiter create(ArbiterConfig config) {
        return create(config, Forksafe.registry());
    }

    /** An arbiter publishing to {@code registry}. */
    public static Arbiter create(ArbiterConfig config, ForkRegistry registry) {
        return new Arbiter(Objects.requireNonNull(config, "config must not be null"),
                Objects.requireNonNull(registry, "registry must not be null"));
    }

    /**
     * Binds the socket and starts the workers (returns at once; workers become ready in the background). With
     * {@code preload}, it first boots the template and checkpoints it, which takes about one cold start.
     *
     * @throws java.net.BindException if the address (or the status port) is in use, naming it
     * @throws IOException            if the pid file or log file cannot be written
     * @throws IllegalStateException  if native POSIX access is unavailable or it was already started
     * @throws PreloadUnavailableException with {@code preload}, if this machine cannot checkpoint and restore (the
     *                                     message names the missing piece; it never falls back to spawning)
     * @throws WorkerBootException         with {@code preload}, if the template did not become ready, its PreFork
     *                                     hooks failed or CRIU could not dump it (the message says which)
     */
    public Arbiter start() throws IOException {
        engine.start();
        return this;
    }

    /**
     * Routes SIGTERM/SIGINT to {@link #stop()}, SIGHUP to {@link #reload()}, SIGTTIN/SIGTTOU to
     * {@link #increment()}/{@link #decrement()}. Not done by {@link #start()}: a library should not take a
     * process's signals unasked.
     *
     * @return for each signal, "handled" or why not
     */
    public Map<String, String> installSignalHandlers() {
        return Signals.install(this::stop, this::reload, this::increment, this::decrement);
    }

    /**
     * Graceful stop: workers get SIGTERM, finish in-flight requests, and are killed after the graceful timeout. With a
     * drain delay ({@link ArbiterConfig.Builder#drainDelay}) readiness turns false first and the workers keep serving
     * for that long; calling stop again ends the delay.
     */
    public void stop() {
        engine.stop();
    }

    /** Rolling restart: each slot's new generation is ready before its old worker is stopped gracefully. */
    public void reload() {
        engine.reload();
    }

    /** One worker more. */
    public void increment() {
        engine.increment();
    }

    /** One worker fewer (never below one). */
    public void decrement() {
        engine.decrement();
    }

    /** Waits until stopped; returns the exit code: 0, 3 after a worker boot error, 1 after another failure. */
    public int join() throws InterruptedException {
        return engine.join();
    }

    /** Waits at most {@code timeout}; returns whether the arbiter stopped. */
    public boolean join(Duration timeout) throws InterruptedException {
        return engine.join(timeout);
    }

    /**
     * Waits at most {@code timeout} until it serves: every worker ready for the first time (then the pid file is
     * written, and systemd told READY=1). {@link #start()} returns before that.
     *
     * <pre>{@code
     * arbiter.start();
     * if (!arbiter.awaitServing(Duration.ofSeconds(60))) throw new IllegalStateException(arbiter.haltReason());
     * }</pre>
     *
     * @return true once it serves; false if it stopped first (see {@link #haltReason()}) or the time ran out
     */
    public boolean awaitServing(Duration timeout) throws InterruptedException {
        return engine.awaitServing(timeout);
    }

    /** Whether it has stopped. */
    public boolean isStopped() {
        return engine.stopped();
    }

    /** Why it halted on its own (for example a worker boot error), or null. */
    public String haltReason() {
        return engine.haltReason();
    }

    /** The listening address (the real port when 0 was configured), or null before {@link #start()}. */
    public InetSocketAddress address() {
        return engine.address();
    }

    /** The loopback status endpoint's address, or null when not configured. */
    public InetSocketAddress statusAddress() {
        return engine.statusAddress();
    }

    /** The number of workers it keeps running now. */
    public int targetWorkers() {
        return engine.targetWorkers();
    }

    /** A snapshot of the workers (during a rolling restart a slot can list two). */
    public List<WorkerStatus> workers() {
        return engine.workers();
    }

    /** The configuration. */
    public ArbiterConfig config() {
        return config;
    }

    @Override
    public String toString() {
        return "Arbiter[" + config + ", address=" + address() + "]";
    }
}
