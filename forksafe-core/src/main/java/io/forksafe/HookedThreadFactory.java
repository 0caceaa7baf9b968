package io.forksafe;

import io.forksafe.spi.HostContext;
import io.forksafe.spi.WorkerThreads;

import java.util.Objects;
import java.util.concurrent.Executors;
import java.util.concurrent.ForkJoinPool;
import java.util.concurrent.ForkJoinWorkerThread;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A thread factory that makes every thread of any pool a forksafe worker ({@link WorkerKind#THREAD}): pass it to a
 * {@code ThreadPoolExecutor}, a {@code ScheduledThreadPoolExecutor}, {@code Executors.newFixedThreadPool} (any
 * {@link ThreadFactory} taker) or, as a {@link ForkJoinPool.ForkJoinWorkerThreadFactory}, to a {@link ForkJoinPool}.
 * Per thread, exactly once each and in this order:
 * <ul>
 *   <li>{@link PreFork} then {@link PostForkParent} on the creating thread, inside {@code newThread}, before the pool
 *       starts the thread (a factory cannot see the start itself);</li>
 *   <li>{@link PostFork} as the first thing on the new thread;</li>
 *   <li>{@link WorkerExit} as the last thing on it, when the pool retires it (idle keep-alive, shutdown) or its task
 *       loop throws.</li>
 * </ul>
 * Slots are the lowest free number from 1 up, and a slot filled again gets the next generation. A failing hook never
 * stops a thread: the failure is in the status, as is a section {@code "threads <poolName>"} with this factory's
 * figures. Threads keep the delegate's name, daemon flag, priority and context class loader; {@link ForkJoinPool}
 * threads are the JDK's own {@link ForkJoinWorkerThread}s (named by the pool), hooked through {@code onStart} and
 * {@code onTermination}.
 *
 * <pre>{@code
 * HookedThreadFactory threads = HookedThreadFactory.hooked(registry, "orders", Executors.defaultThreadFactory());
 * ExecutorService pool = Executors.newFixedThreadPool(4, threads);
 * }</pre>
 *
 * <p>A pool's {@code awaitTermination} can return while its last threads still run their WorkerExit hooks (a
 * {@code ThreadPoolExecutor} counts a thread as gone before the thread ends); {@link #awaitRetired(long)} waits for
 * those. A thread the pool creates but never starts (a race with its shutdown) keeps its slot and gets no WorkerExit.
 * The JDK's common {@code ForkJoinPool} and pools that take no factory cannot be hooked.
 */
public final class HookedThreadFactory implements ThreadFactory, ForkJoinPool.ForkJoinWorkerThreadFactory {

    private static final AtomicInteger UNNAMED = new AtomicInteger();

    private final String poolName;
    private final ThreadFactory delegate;
    private final WorkerThreads threads;

    private HookedThreadFactory(ForkRegistry registry, String poolName, ThreadFactory delegate) {
        this.poolName = Objects.requireNonNull(poolName, "poolName must not be null");
        this.delegate = Objects.requireNonNull(delegate,
                "delegate must not be null: pass Executors.defaultThreadFactory() or the pool's own factory");
        this.threads = new WorkerThreads(registry, ContainerInfo.of("java.util.concurrent",
                String.valueOf(Runtime.version().feature())), "Pool " + poolName);
        HostContext.of(registry).statusDetail("threads " + poolName, this::status);
    }

    /** Hooks {@code delegate}'s threads, reporting to {@link Forksafe#registry()} as pool {@code threads-<n>}. */
    public static HookedThreadFactory hooked(ThreadFactory delegate) {
        return hooked(Forksafe.registry(), "threads-" + UNNAMED.incrementAndGet(), delegate);
    }

    /** Hooks the JDK's default threads ({@link Executors#defaultThreadFactory()}), reporting to {@code registry}. */
    public static HookedThreadFactory hooked(ForkRegistry registry, String poolName) {
        return hooked(registry, poolName, Executors.defaultThreadFactory());
    }

    /**
     * Hooks {@code delegate}'s threads, reporting to {@code registry}; {@code poolName} names the status section
     * (a second factory with the same name replaces it).
     *
     * @throws NullPointerException if an argument is null
     */
    public static HookedThreadFactory hooked(ForkRegistry registry, String poolName, ThreadFactory delegate) {
        Objects.requireNonNull(registry, "registry must not be null: pass Forksafe.registry() or your own");
        return new HookedThreadFactory(registry, poolName, delegate);
    }

    /** A thread made by the delegate around {@code task}, with PreFork and PostForkParent already published. */
    @Override
    public Thread newThread(Runnable task) {
        WorkerThreads.Worker worker = threads.worker(task, () -> "thread ended");
        Thread thread = delegate.newThread(worker);
        if (thread == null) {
            return null; // the delegate refused: no slot taken, no event
        }
        worker.created(thread);
        worker.willStart();
        return thread;
    }

    /** A {@link ForkJoinPool} worker thread, with PreFork and PostForkParent already published. */
    @Override
    public ForkJoinWorkerThread newThread(ForkJoinPool pool) {
        WorkerThreads.Worker worker = threads.worker(() -> { },
                () -> pool.isShutdown() ? "pool shutting down" : "idle timeout");
        HookedForkJoinThread thread = new HookedForkJoinThread(pool, worker);
        worker.created(thread);
        worker.willStart();
        return thread;
    }

    /** The pool name in the status and log lines. */
    public String poolName() {
        return poolName;
    }

    /** How many threads this factory made, retired, and holds now. */
    public WorkerThreads.Counts counts() {
        return threads.counts();
    }

    /**
     * Waits, at most {@code timeoutMillis}, until every thread of this factory has finished its WorkerExit: after a
     * pool's {@code awaitTermination}, this is when per-thread tear-down is done.
     *
     * @return true if all had
     */
    public boolean awaitRetired(long timeoutMillis) throws InterruptedException {
        return threads.awaitRetired(timeoutMillis);
    }

    /**
     * This factory's status section ({@code "threads <poolName>"}), rendered as JSON, text and JMX.
     *
     * @param pool     the pool's name
     * @param delegate the class of the factory that makes the threads
     */
    public record Status(String pool, String delegate, long threadsCreated, long threadsRetired,
                         long threadsFailedToStart, int liveThreads, long peakThreads, int slotsInUse) {
    }

    /** A snapshot of this factory's figures: its status section. */
    public Status status() {
        WorkerThreads.Counts c = threads.counts();
        return new Status(poolName, delegate.getClass().getName(), c.threadsCreated(), c.threadsRetired(),
                c.threadsFailedToStart(), c.liveThreads(), c.peakThreads(), c.slotsInUse());
    }

    @Override
    public String toString() {
        return "HookedThreadFactory[" + poolName + ", " + threads.counts() + "]";
    }

    /** The JDK's worker thread, with PostFork first and WorkerExit last. */
    private static final class HookedForkJoinThread extends ForkJoinWorkerThread {
        private final WorkerThreads.Worker worker;

        HookedForkJoinThread(ForkJoinPool pool, WorkerThreads.Worker worker) {
            super(pool);
            this.worker = worker;
        }

        @Override
        protected void onStart() {
            super.onStart();
            worker.begin();
        }

        @Override
        protected void onTermination(Throwable exception) {
            try {
                worker.end(exception);
            } finally {
                super.onTermination(exception);
            }
        }
    }
}
