package io.forksafe.undertow.internal;

import io.forksafe.ContainerInfo;
import io.forksafe.ForkRegistry;
import io.forksafe.SlotAllocator;
import io.forksafe.WorkerInfo;

import org.jboss.threads.EnhancedQueueExecutor;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.AbstractExecutorService;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The task pool forksafe hands to XNIO (and to servlet deployments): jboss-threads' {@link EnhancedQueueExecutor},
 * the executor XNIO itself uses for a bare Undertow, whose thread factory turns every thread it creates into a
 * forksafe worker of kind THREAD. (A {@code ThreadPoolExecutor} here served about half the requests per second of a
 * bare Undertow: see docs/forksafe-undertow.md, "Performance".)
 *
 * <p>Per thread, in this order: {@code PreFork} on the creating thread before the thread exists,
 * {@code PostForkParent} on the creating thread once the pool started it, {@code PostFork} as the first thing on the
 * new thread (which waits, at most {@value #PARENT_WAIT_SECONDS} s, for the parent's {@code PostForkParent} so the
 * order is always the same), and
 * {@code WorkerExit} as the last thing on the thread, whether it retires after the keep-alive, the executor's own
 * loop fails, or the pool shuts down. A task that throws does not end its thread (the executor hands the exception to
 * the thread's uncaught-exception handler and goes on), as on a bare Undertow. Hook failures are recorded by the
 * registry and never stop the pool.
 */
public final class HookedThreadPool extends AbstractExecutorService {

    private static final System.Logger LOG = System.getLogger("io.forksafe.undertow");

    private final String namePrefix;
    private final long keepAliveMillis;
    private final EnhancedQueueExecutor executor;
    private final Set<WorkerThread> liveThreads = ConcurrentHashMap.newKeySet();
    private final AtomicLong created = new AtomicLong();
    private final AtomicLong ended = new AtomicLong();
    private final AtomicLong peak = new AtomicLong();
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
        this(namePrefix, threads, keepAliveMillis, new Factory(namePrefix, daemon, registry, container, slots));
    }

    private HookedThreadPool(String namePrefix, int threads, long keepAliveMillis, Factory factory) {
        if (threads < 1) {
            throw new IllegalArgumentException("worker threads must be >= 1, got " + threads);
        }
        this.namePrefix = namePrefix;
        this.keepAliveMillis = keepAliveMillis;
        factory.pool = this;
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

    /**
     * Threads created on the current thread whose parent side (PostForkParent) is still to be published. The pool
     * starts a thread right after creating it, inside {@code execute} (or inside {@code resize}); once that call
     * returns the thread is started. This does not depend on how the executor
     * starts its threads (since JDK 21 a {@code ThreadPoolExecutor} starts them through a thread container,
     * bypassing an overridden {@link Thread#start()}).
     */
    private static final ThreadLocal<java.util.List<WorkerThread>> CREATED_HERE =
            ThreadLocal.withInitial(java.util.ArrayList::new);

    static final int PARENT_WAIT_SECONDS = 10;

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
        executor.shutdown();
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
    void afterThreadsStarted() {
        java.util.List<WorkerThread> created = CREATED_HERE.get();
        if (created.isEmpty()) {
            return;
        }
        java.util.List<WorkerThread> copy = java.util.List.copyOf(created);
        created.clear();
        for (WorkerThread t : copy) {
            t.afterStart();
        }
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
        return created.get();
    }

    /** Threads of this pool that have finished, including their WorkerExit. */
    public long threadsEnded() {
        return ended.get();
    }

    /** Threads of this pool that are alive (their WorkerExit has not finished). */
    public int liveThreads() {
        return liveThreads.size();
    }

    /**
     * Shuts the pool down and waits until every thread has run its WorkerExit and ended.
     *
     * @return true if all threads ended within the timeout
     */
    /** Whether the calling thread is one of this pool's task threads. */
    boolean isPoolThread() {
        return Thread.currentThread() instanceof WorkerThread own && own.pool == this;
    }

    public boolean shutdownAndJoin(long timeoutMillis) throws InterruptedException {
        shutdown();
        if (Thread.currentThread() instanceof WorkerThread own && own.pool == this) {
            // Called from one of this pool's own threads (a handler stopping its server): waiting would wait for
            // ourselves. The threads end, each with its WorkerExit, once their current task returns.
            LOG.log(System.Logger.Level.WARNING, "forksafe: pool " + namePrefix + " shut down from its own thread "
                    + own.getName() + "; not waiting for its threads to end");
            return false;
        }
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(timeoutMillis);
        if (!awaitTermination(timeoutMillis, TimeUnit.MILLISECONDS)) {
            shutdownNow();
        }
        for (WorkerThread t : Set.copyOf(liveThreads)) {
            long left = TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime());
            t.join(Math.max(1, left));
        }
        return liveThreads.isEmpty();
    }

    /** A status section describing the pool. */
    public Map<String, Object> describe() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("threadNamePrefix", namePrefix);
        m.put("maxThreads", getMaximumPoolSize());
        m.put("keepAliveMillis", keepAliveMillis);
        m.put("liveThreads", liveThreads.size());
        m.put("peakThreads", peak.get());
        m.put("threadsCreated", created.get());
        m.put("threadsEnded", ended.get());
        m.put("queuedTasks", executor.getQueueSize());
        m.put("shutdown", isShutdown());
        return m;
    }

    private static final class Factory implements ThreadFactory {
        private final String namePrefix;
        private final ForkRegistry registry;
        private final ContainerInfo container;
        private final SlotAllocator slots;
        private final boolean daemon;
        volatile HookedThreadPool pool;
        /** False while the executor is being built. */
        volatile boolean built;

        Factory(String namePrefix, boolean daemon, ForkRegistry registry, ContainerInfo container,
                SlotAllocator slots) {
            this.namePrefix = namePrefix;
            this.daemon = daemon;
            this.registry = registry;
            this.container = container;
            this.slots = slots;
        }

        @Override
        public Thread newThread(Runnable r) {
            if (!built) {
                // EnhancedQueueExecutor's constructor makes its scheduler thread (for schedule(...), which this pool
                // does not offer) and starts it only on first use: not a task thread, so not a forksafe worker.
                Thread scheduler = new Thread(r, namePrefix + " scheduler");
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
            SlotAllocator.Lease lease = slots.acquire();
            WorkerInfo info = registry.processWorker().childThread(lease.slot(), namePrefix + " task-" + lease.slot(),
                    lease.generation());
            publishQuietly(() -> registry.preFork(info, container), "PreFork", info);
            WorkerThread t = new WorkerThread(pool, r, info, lease, registry, container, slots);
            t.setDaemon(daemon);
            CREATED_HERE.get().add(t);
            return t;
        }
    }

    static void publishQuietly(Runnable publish, String what, WorkerInfo info) {
        try {
            publish.run();
        } catch (RuntimeException e) {
            // The registry already logged each failing hook and recorded it in the status.
            LOG.log(System.Logger.Level.DEBUG, () -> "forksafe: " + what + " hooks failed for " + info.name(), e);
        }
    }

    /** A task thread that is a forksafe worker. */
    static final class WorkerThread extends Thread {
        private final HookedThreadPool pool;
        private final Runnable work;
        private final WorkerInfo info;
        private final SlotAllocator.Lease lease;
        private final ForkRegistry registry;
        private final ContainerInfo container;
        private final SlotAllocator slots;
        private final CountDownLatch parentDone = new CountDownLatch(1);

        WorkerThread(HookedThreadPool pool, Runnable work, WorkerInfo info, SlotAllocator.Lease lease,
                     ForkRegistry registry, ContainerInfo container, SlotAllocator slots) {
            super(info.name());
            this.pool = pool;
            this.work = work;
            this.info = info;
            this.lease = lease;
            this.registry = registry;
            this.container = container;
            this.slots = slots;
        }

        /** On the creating thread, once the pool started (or discarded) this thread. */
        void afterStart() {
            try {
                if (getState() == State.NEW) {
                    // The pool discarded the thread without starting it (it was shutting down).
                    publishQuietly(() -> registry.workerExit(info, container, "never started: pool shutting down"),
                            "WorkerExit", info);
                    slots.release(lease);
                } else {
                    publishQuietly(() -> registry.postForkParent(info, container), "PostForkParent", info);
                }
            } finally {
                parentDone.countDown();
            }
        }

        @Override
        public void run() {
            pool.liveThreads.add(this);
            pool.created.incrementAndGet();
            pool.peak.accumulateAndGet(pool.liveThreads.size(), Math::max);
            Throwable died = null;
            try {
                awaitParent();
                publishQuietly(() -> registry.postFork(info, container), "PostFork", info);
                work.run();
            } catch (Throwable t) {
                died = t;
                throw t;
            } finally {
                // Should the executor have created a thread on this thread, finish that thread's parent side.
                pool.afterThreadsStarted();
                String reason = died != null ? "task thread died: " + died
                        : pool.isShutdown() ? "server stopping"
                        : "idle timeout (keep-alive " + pool.keepAliveMillis + " ms)";
                try {
                    publishQuietly(() -> registry.workerExit(info, container, reason), "WorkerExit", info);
                } finally {
                    slots.release(lease);
                    pool.ended.incrementAndGet();
                    pool.liveThreads.remove(this);
                }
            }
        }

        private void awaitParent() {
            boolean interrupted = false;
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(PARENT_WAIT_SECONDS);
            while (true) {
                try {
                    long left = deadline - System.nanoTime();
                    if (parentDone.await(Math.max(0, left), TimeUnit.NANOSECONDS)) {
                        break;
                    }
                    LOG.log(System.Logger.Level.WARNING, "forksafe: " + getName() + " waited " + PARENT_WAIT_SECONDS
                            + " s for its PostForkParent; publishing PostFork anyway");
                    break;
                } catch (InterruptedException e) {
                    interrupted = true;
                }
            }
            if (interrupted) {
                interrupt();
            }
        }
    }
}
