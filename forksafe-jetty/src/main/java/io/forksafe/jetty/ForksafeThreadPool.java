package io.forksafe.jetty;

import io.forksafe.ContainerInfo;
import io.forksafe.ForkRegistry;
import io.forksafe.Forksafe;
import io.forksafe.SlotAllocator;
import io.forksafe.WorkerInfo;
import io.forksafe.jetty.internal.JettyEvents;

import org.eclipse.jetty.util.thread.QueuedThreadPool;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Jetty's {@link QueuedThreadPool} with every worker thread reported as a forksafe worker
 * ({@link io.forksafe.WorkerKind#THREAD}). For each thread the pool creates:
 * <ul>
 *   <li>{@link io.forksafe.PreFork} on the creating thread, after the thread object exists and before it starts;</li>
 *   <li>{@link io.forksafe.PostFork} as the first thing that runs on the new thread;</li>
 *   <li>{@link io.forksafe.PostForkParent} on the creating thread once {@link Thread#start()} returned;</li>
 *   <li>{@link io.forksafe.WorkerExit} as the last thing on the thread when it ends: reason {@code "idle timeout"}
 *       when Jetty evicts it, {@code "pool stopping"} when the pool stops, {@code "failed: ..."} otherwise.</li>
 * </ul>
 * Threads keep Jetty's own names ({@code <name>-<id>}), daemon flag, priority and context class loader: the pool
 * delegates thread construction to {@link QueuedThreadPool#newThread(Runnable)} and only wraps the task. Slots are
 * the lowest free number from 1 up, and the generation grows each time a slot is filled again. A failing hook never
 * stops a thread: its failure is recorded in the status.
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
    private final ContainerInfo container = JettyEvents.container();
    private final SlotAllocator slots = new SlotAllocator(1);
    private final ThreadLocal<Worker> created = new ThreadLocal<>();
    private final AtomicLong threadsCreated = new AtomicLong();
    private final AtomicLong threadsRetired = new AtomicLong();
    private final AtomicLong threadsFailedToStart = new AtomicLong();
    /** Threads from their creation to the end of their WorkerExit. */
    private final Set<Thread> running = ConcurrentHashMap.newKeySet();

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
    }

    /** The registry this pool publishes to. */
    public ForkRegistry registry() {
        return registry;
    }

    /** How many threads this pool created and published {@code PreFork} for. */
    public long threadsCreated() {
        return threadsCreated.get();
    }

    /** How many of this pool's threads ended and published {@code WorkerExit}. */
    public long threadsRetired() {
        return threadsRetired.get();
    }

    /**
     * Creates the thread exactly as Jetty does, with its task wrapped so that {@code PostFork} runs first and
     * {@code WorkerExit} last on it, and publishes {@code PreFork} before returning it (so before it starts).
     */
    @Override
    public Thread newThread(Runnable runnable) {
        Worker worker = new Worker(runnable);
        Thread thread = super.newThread(worker);
        // Jetty sets getClass().getClassLoader(), which for this subclass would be forksafe's loader: keep the one
        // a plain QueuedThreadPool gives its threads.
        thread.setContextClassLoader(QueuedThreadPool.class.getClassLoader());
        SlotAllocator.Lease lease = slots.acquire();
        worker.bind(thread, registry.processWorker().childThread(lease.slot(), thread.getName(),
                lease.generation()), lease);
        threadsCreated.incrementAndGet();
        running.add(thread);
        created.set(worker);
        JettyEvents.publish(registry, "PreFork", () -> registry.preFork(worker.info, container));
        return thread;
    }

    /** Starts one thread through Jetty, then publishes {@code PostForkParent} on the creating thread. */
    @Override
    protected void startThread() {
        created.remove();
        try {
            super.startThread();
        } finally {
            Worker worker = created.get();
            created.remove();
            if (worker != null) {
                if (worker.thread.getState() != Thread.State.NEW) {
                    JettyEvents.publish(registry, "PostForkParent",
                            () -> registry.postForkParent(worker.info, container));
                } else {
                    threadsFailedToStart.incrementAndGet();
                    slots.release(worker.lease);
                    running.remove(worker.thread);
                    registry.log("Jetty pool " + getName() + " could not start thread " + worker.info.name()
                            + " (PreFork ran, PostFork will not); Jetty logs the cause");
                }
            }
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
        if (timeout <= 0) {
            return;
        }
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(timeout);
        for (Thread t : running) {
            long left = TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime());
            if (t == Thread.currentThread() || left <= 0) {
                continue;
            }
            t.join(left);
        }
        if (!running.isEmpty() && !running.equals(Set.of(Thread.currentThread()))) {
            registry.log("Jetty pool " + getName() + " stopped with " + running.size() + " thread(s) still running "
                    + "their WorkerExit hooks after the stop timeout (" + timeout + " ms)");
        }
    }

    /** A snapshot of the pool's figures, as shown in the {@code jetty} section of the status. */
    public Map<String, Object> statusDetails() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("pool", getName());
        m.put("class", getClass().getName());
        m.put("hooked", true);
        m.put("state", getState());
        m.put("threads", getThreads());
        m.put("idleThreads", getIdleThreads());
        m.put("minThreads", getMinThreads());
        m.put("maxThreads", getMaxThreads());
        m.put("idleTimeoutMillis", getIdleTimeout());
        m.put("threadsCreated", threadsCreated.get());
        m.put("threadsRetired", threadsRetired.get());
        m.put("threadsFailedToStart", threadsFailedToStart.get());
        m.put("slotsInUse", slots.inUse());
        m.put("virtualThreadsExecutor", getVirtualThreadsExecutor() == null ? null
                : getVirtualThreadsExecutor().toString());
        return m;
    }

    private String exitReason() {
        return isStopping() || isStopped() || isFailed() ? "pool stopping" : "idle timeout";
    }

    /** The task Jetty's thread runs: PostFork, Jetty's own runner, WorkerExit. */
    private final class Worker implements Runnable {

        private final Runnable jettyRunner;
        private Thread thread;
        private WorkerInfo info;
        private SlotAllocator.Lease lease;

        Worker(Runnable jettyRunner) {
            this.jettyRunner = jettyRunner;
        }

        void bind(Thread thread, WorkerInfo info, SlotAllocator.Lease lease) {
            this.thread = thread;
            this.info = info;
            this.lease = lease;
        }

        @Override
        public void run() {
            // bind() ran inside newThread, before anyone could start the thread: Thread.start() publishes it.
            WorkerInfo me = info;
            JettyEvents.publish(registry, "PostFork", () -> registry.postFork(me, container));
            String reason = null;
            try {
                jettyRunner.run();
                reason = exitReason();
            } catch (RuntimeException | Error e) {
                reason = "failed: " + e;
                throw e;
            } finally {
                String why = reason;
                try {
                    JettyEvents.publish(registry, "WorkerExit", () -> registry.workerExit(me, container, why));
                } finally {
                    threadsRetired.incrementAndGet();
                    slots.release(lease);
                    running.remove(Thread.currentThread());
                }
            }
        }

        @Override
        public String toString() {
            return "forksafe(" + jettyRunner + ")";
        }
    }
}
