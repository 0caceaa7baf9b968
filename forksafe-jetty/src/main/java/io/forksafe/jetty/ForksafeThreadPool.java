package io.forksafe.jetty;

import io.forksafe.spi.HostContext;
import io.forksafe.ForkRegistry;
import io.forksafe.Forksafe;
import io.forksafe.jetty.internal.JettyEvents;
import io.forksafe.spi.WorkerThreads;

import org.eclipse.jetty.util.thread.QueuedThreadPool;

import java.util.Objects;

/**
 * Jetty's {@link QueuedThreadPool} with every worker thread reported as a forksafe worker
 * ({@link io.forksafe.WorkerKind#THREAD}). For each thread the pool creates:
 * <ul>
 *   <li>{@link io.forksafe.PreFork} on the creating thread, after the thread object exists and before it starts;</li>
 *   <li>{@link io.forksafe.PostForkParent} on the creating thread once {@link Thread#start()} returned;</li>
 *   <li>{@link io.forksafe.PostFork} as the first thing that runs on the new thread, after its PostForkParent;</li>
 *   <li>{@link io.forksafe.WorkerExit} as the last thing on the thread when it ends: reason {@code "idle timeout"}
 *       when Jetty evicts it, {@code "pool stopping"} when the pool stops, {@code "failed: ..."} otherwise.</li>
 * </ul>
 * Threads keep Jetty's own names ({@code <name>-<id>}), daemon flag, priority and context class loader: the pool
 * delegates thread construction to {@link QueuedThreadPool#newThread(Runnable)} and only wraps the task. Slots are
 * the lowest free number from 1 up, and the generation grows each time a slot is filled again. A failing hook never
 * stops a thread: its failure is recorded in the status. The lifecycle is core's {@link WorkerThreads}, shared with the
 * other thread-pool adapters.
 *
 * <p>Create it with {@link ForksafeJetty#threadPool()} (or {@code <New class="io.forksafe.jetty.ForksafeThreadPool">}
 * in Jetty XML) and pass it to the {@code Server} constructor; every {@link QueuedThreadPool} setter works as usual.
 *
 * <pre>{@code
 * ForksafeThreadPool pool = ForksafeJetty.threadPool(200, 8, 60_000);
 * Server server = new Server(pool);
 * ForksafeJetty.install(server);
 * }</pre>
 *
 * <p>Tasks Jetty runs on virtual threads ({@link #setVirtualThreadsExecutor}) do not go through thread creation and
 * get no thread events; {@link ForksafeJetty#install} reports that in the status.
 */
public class ForksafeThreadPool extends QueuedThreadPool {

    private final ForkRegistry registry;
    private final WorkerThreads threads;
    /** Set while Jetty starts a thread on this thread; a {@code newThread} outside it is a plain factory call. */
    private final ThreadLocal<Boolean> starting = new ThreadLocal<>();

    /** Jetty's defaults (200 max, 8 min, 60 s idle timeout), reporting to {@link Forksafe#registry()}. */
    public ForksafeThreadPool() {
        this(Forksafe.registry());
    }

    /** Jetty's defaults, reporting to {@code registry}. */
    public ForksafeThreadPool(ForkRegistry registry) {
        this(registry, 200, 8, 60_000);
    }

    /** Sizes and idle timeout (milliseconds) as in {@link QueuedThreadPool}, reporting to the global registry. */
    public ForksafeThreadPool(int maxThreads, int minThreads, int idleTimeoutMillis) {
        this(Forksafe.registry(), maxThreads, minThreads, idleTimeoutMillis);
    }

    /**
     * Sizes and idle timeout (milliseconds) as in {@link QueuedThreadPool}, reporting to {@code registry}.
     *
     * @throws NullPointerException     if {@code registry} is null
     * @throws IllegalArgumentException if {@code maxThreads < minThreads}
     */
    public ForksafeThreadPool(ForkRegistry registry, int maxThreads, int minThreads, int idleTimeoutMillis) {
        super(maxThreads, minThreads, idleTimeoutMillis);
        this.registry = Objects.requireNonNull(registry,
                "registry must not be null: pass Forksafe.registry() or your own ForkRegistry");
        this.threads = new WorkerThreads(registry, JettyEvents.container(), JettyEvents.HOST + " pool");
        // server.dump() shows forksafe's view of the pool, under the pool
        addBean(org.eclipse.jetty.util.component.Dumpable.named("forksafe", new Object() {
            @Override
            public String toString() {
                WorkerThreads.Counts c = threads.counts();
                return "registry " + registry.name() + ", threadsCreated=" + c.threadsCreated() + ", threadsRetired="
                        + c.threadsRetired() + ", threadsFailedToStart=" + c.threadsFailedToStart() + ", slotsInUse="
                        + c.slotsInUse();
            }
        }), false);
    }

    /** The registry this pool publishes to. */
    public ForkRegistry registry() {
        return registry;
    }

    /** How many threads this pool created and published {@code PreFork} for. */
    public long threadsCreated() {
        return threads.counts().threadsCreated();
    }

    /** How many of this pool's threads ended and published {@code WorkerExit}. */
    public long threadsRetired() {
        return threads.counts().threadsRetired();
    }

    /**
     * Creates the thread exactly as Jetty does, with its task wrapped so that {@code PostFork} runs first and
     * {@code WorkerExit} last on it, and publishes {@code PreFork} before returning it (so before it starts).
     */
    @Override
    public Thread newThread(Runnable runnable) {
        WorkerThreads.Worker worker = threads.worker(runnable, this::exitReason);
        Thread thread = super.newThread(worker);
        // Jetty sets getClass().getClassLoader(), which for this subclass would be forksafe's loader: keep the one
        // a plain QueuedThreadPool gives its threads.
        thread.setContextClassLoader(QueuedThreadPool.class.getClassLoader());
        worker.created(thread);
        if (starting.get() == null) {
            // Called as a plain ThreadFactory: whoever starts the thread is out of sight.
            worker.willStart();
        }
        return thread;
    }

    /** Starts one thread through Jetty, then publishes {@code PostForkParent} on the creating thread. */
    @Override
    protected void startThread() {
        starting.set(Boolean.TRUE);
        try {
            super.startThread();
        } finally {
            starting.remove();
            threads.startedOnThisThread();
        }
    }

    /**
     * Stops as Jetty does, then waits, within the stop timeout, until every thread's {@code WorkerExit} hooks have
     * run: Jetty's own join ends when its runner returns, before the hooks that follow it on the same thread. So when
     * {@code stop()} returns, per-thread tear-down is done. With a stop timeout of 0, Jetty waits for nothing and
     * neither does this.
     */
    @Override
    protected void doStop() throws Exception {
        super.doStop();
        long timeout = getStopTimeout();
        if (timeout > 0 && !threads.awaitRetired(timeout)) {
            HostContext.of(registry).log("Jetty pool " + getName() + " stopped with " + threads.counts().liveThreads()
                    + " thread(s) still running their WorkerExit hooks after the stop timeout (" + timeout + " ms)");
        }
    }

    /**
     * The pool as the {@code threadPool} field of the status' {@code jetty} section shows it (JSON, text, JMX).
     *
     * @param hooked whether the pool publishes to the registry of the server's forksafe install
     */
    public record Status(String pool, String className, boolean hooked, String state, int threads, int idleThreads,
                         int minThreads, int maxThreads, int idleTimeoutMillis, long threadsCreated,
                         long threadsRetired, long threadsFailedToStart, int slotsInUse,
                         String virtualThreadsExecutor) {
    }

    /** A snapshot of the pool's figures; {@code hooked}: whether it publishes to the registry the caller reports to. */
    public Status status(boolean hooked) {
        WorkerThreads.Counts counts = threads.counts();
        return new Status(getName(), getClass().getName(), hooked, getState(), getThreads(), getIdleThreads(),
                getMinThreads(), getMaxThreads(), getIdleTimeout(), counts.threadsCreated(), counts.threadsRetired(),
                counts.threadsFailedToStart(), counts.slotsInUse(),
                getVirtualThreadsExecutor() == null ? null : getVirtualThreadsExecutor().toString());
    }

    private String exitReason() {
        return isStopping() || isStopped() || isFailed() ? "pool stopping" : "idle timeout";
    }
}
