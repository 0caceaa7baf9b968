package io.forksafe.undertow.internal;

import io.forksafe.ContainerInfo;
import io.forksafe.ForkRegistry;
import io.forksafe.spi.SlotAllocator;
import io.forksafe.spi.WorkerThreads;

import org.jboss.threads.EnhancedQueueExecutor;

import java.util.List;
import java.util.concurrent.AbstractExecutorService;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.TimeUnit;

/**
 * The task pool forksafe hands to XNIO (and to servlet deployments): jboss-threads' {@link EnhancedQueueExecutor},
 * the executor XNIO itself uses for a bare Undertow, whose thread factory turns every thread it creates into a
 * forksafe worker of kind THREAD. (A {@code ThreadPoolExecutor} here served about half the requests per second of a
 * bare Undertow: see docs/forksafe-undertow.md, "Performance".)
 *
 * <p>Per thread, core's {@link WorkerThreads} lifecycle: {@code PreFork} on the creating thread before the thread
 * starts, {@code PostForkParent} on the creating thread once the pool started it, {@code PostFork} as the first thing
 * on the new thread (after its {@code PostForkParent}), and {@code WorkerExit} as the last thing on the thread,
 * whether it retires after the keep-alive, the executor's own loop fails, or the pool shuts down. A task that throws does not end its thread (the executor hands the exception to
 * the thread's uncaught-exception handler and goes on), as on a bare Undertow. Hook failures are recorded by the
 * registry and never stop the pool.
 */
public final class HookedThreadPool extends AbstractExecutorService {

    private static final System.Logger LOG = System.getLogger("io.forksafe.undertow");

    private final String namePrefix;
    private final long keepAliveMillis;
    private final EnhancedQueueExecutor executor;
    private final WorkerThreads threads;
    private volatile Runnable beforeFirstThread;

    /**
     * @param namePrefix      thread names are {@code namePrefix + " task-" + slot}
     * @param threads         core and maximum pool size
     * @param keepAliveMillis idle threads retire after this long; 0 keeps them until shutdown
     */
    public HookedThreadPool(String namePrefix, int threads, long keepAliveMillis, ForkRegistry registry,
                            ContainerInfo container, SlotAllocator slots) {
        this(namePrefix, threads, keepAliveMillis, false, registry, container, slots);
    }

    /** As above; {@code daemon} marks the threads as daemon threads (XNIO's {@code Options.THREAD_DAEMON}). */
    public HookedThreadPool(String namePrefix, int threads, long keepAliveMillis, boolean daemon,
                            ForkRegistry registry, ContainerInfo container, SlotAllocator slots) {
        if (threads < 1) {
            throw new IllegalArgumentException("worker threads must be >= 1, got " + threads);
        }
        this.namePrefix = namePrefix;
        this.keepAliveMillis = keepAliveMillis;
        this.threads = new WorkerThreads(registry, container, "Undertow", slots);
        Factory factory = new Factory(this, daemon);
        this.executor = new EnhancedQueueExecutor.Builder()
                .setCorePoolSize(threads)
                .setMaximumPoolSize(threads)
                .setKeepAliveTime(keepAliveMillis > 0 ? keepAliveMillis : 60_000, TimeUnit.MILLISECONDS)
                .allowCoreThreadTimeOut(keepAliveMillis > 0)
                .setThreadFactory(factory)
                // What a ThreadPoolExecutor does with a failing task, minus ending the thread.
                .setExceptionHandler((t, e) -> t.getUncaughtExceptionHandler().uncaughtException(t, e))
                .setRegisterMBean(false)
                .build();
        factory.built = true;
    }

    @Override
    public void execute(Runnable command) {
        try {
            executor.execute(command);
        } finally {
            afterThreadsStarted();
        }
    }

    @Override
    public void shutdown() {
        try {
            executor.shutdown();
        } finally {
            afterThreadsStarted(); // the executor may start a thread to run what is queued, here on this thread
        }
    }

    @Override
    public List<Runnable> shutdownNow() {
        try {
            return executor.shutdownNow();
        } finally {
            afterThreadsStarted();
        }
    }

    @Override
    public boolean isShutdown() {
        return executor.isShutdown();
    }

    @Override
    public boolean isTerminated() {
        return executor.isTerminated();
    }

    @Override
    public boolean awaitTermination(long timeout, TimeUnit unit) throws InterruptedException {
        return executor.awaitTermination(timeout, unit);
    }

    /** The number of task threads the pool may have. */
    public int getMaximumPoolSize() {
        return executor.getMaximumPoolSize();
    }

    /** Publishes PostForkParent for the threads this thread created and the pool has started since. */
    private void afterThreadsStarted() {
        threads.startedOnThisThread();
    }

    /** Runs {@code check} on the creating thread before the pool's first thread is created. */
    public void beforeFirstThread(Runnable check) {
        this.beforeFirstThread = check;
    }

    /** Changes the number of threads, for example to what the server was built with. */
    public void resize(int threads) {
        if (threads < 1 || threads == getMaximumPoolSize()) {
            return;
        }
        try {
            if (threads > getMaximumPoolSize()) {
                executor.setMaximumPoolSize(threads);
                executor.setCorePoolSize(threads);
            } else {
                executor.setCorePoolSize(threads);
                executor.setMaximumPoolSize(threads);
            }
        } finally {
            afterThreadsStarted();
        }
    }

    /** The thread-name prefix. */
    public String namePrefix() {
        return namePrefix;
    }

    /** Threads this pool created. */
    public long threadsCreated() {
        return threads.counts().threadsCreated();
    }

    /** Threads of this pool that have finished, including their WorkerExit. */
    public long threadsEnded() {
        return threads.counts().threadsRetired();
    }

    /** Threads of this pool that are alive (their WorkerExit has not finished). */
    public int liveThreads() {
        return threads.counts().liveThreads();
    }

    /** Whether the calling thread is one of this pool's task threads. */
    boolean isPoolThread() {
        return threads.owns(Thread.currentThread());
    }

    /**
     * Shuts the pool down and waits until every thread has run its WorkerExit and ended.
     *
     * @return true if all threads ended within the timeout
     */
    public boolean shutdownAndJoin(long timeoutMillis) throws InterruptedException {
        shutdown();
        if (isPoolThread()) {
            // Called from one of this pool's own threads (a handler stopping its server): waiting would wait for
            // ourselves. The threads end, each with its WorkerExit, once their current task returns.
            LOG.log(System.Logger.Level.WARNING, "forksafe: pool " + namePrefix + " shut down from its own thread "
                    + Thread.currentThread().getName() + "; not waiting for its threads to end");
            return false;
        }
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(timeoutMillis);
        if (!awaitTermination(timeoutMillis, TimeUnit.MILLISECONDS)) {
            shutdownNow();
        }
        return threads.awaitRetired(Math.max(1, TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime())));
    }

    /** The pool as the status shows it ({@code taskPool}). */
    public record Status(String threadNamePrefix, int maxThreads, long keepAliveMillis, int liveThreads,
                         long peakThreads, long threadsCreated, long threadsEnded, int queuedTasks, boolean shutdown) {
    }

    /** A status section describing the pool. */
    public Status status() {
        WorkerThreads.Counts counts = threads.counts();
        return new Status(namePrefix, getMaximumPoolSize(), keepAliveMillis, counts.liveThreads(),
                counts.peakThreads(), counts.threadsCreated(), counts.threadsRetired(), executor.getQueueSize(),
                isShutdown());
    }

    private String exitReason() {
        return isShutdown() ? "server stopping" : "idle timeout (keep-alive " + keepAliveMillis + " ms)";
    }

    /** Makes each task thread a forksafe worker named after its slot. */
    private static final class Factory implements ThreadFactory {
        private final HookedThreadPool pool;
        private final boolean daemon;
        /** False while the executor is being built. */
        volatile boolean built;

        Factory(HookedThreadPool pool, boolean daemon) {
            this.pool = pool;
            this.daemon = daemon;
        }

        @Override
        public Thread newThread(Runnable r) {
            if (!built) {
                // EnhancedQueueExecutor's constructor makes its scheduler thread (for schedule(...), which this pool
                // does not offer) and starts it only on first use: not a task thread, so not a forksafe worker.
                Thread scheduler = new Thread(r, pool.namePrefix + " scheduler");
                scheduler.setDaemon(true);
                return scheduler;
            }
            Runnable check = pool.beforeFirstThread;
            if (check != null) {
                pool.beforeFirstThread = null;
                try {
                    check.run();
                } catch (RuntimeException e) {
                    LOG.log(System.Logger.Level.WARNING, "forksafe: first-thread check failed", e);
                }
            }
            WorkerThreads.Worker worker = pool.threads.worker(r, pool::exitReason);
            Thread t = new Thread(worker);
            t.setDaemon(daemon);
            worker.created(t, slot -> pool.namePrefix + " task-" + slot);
            return t;
        }
    }
}
