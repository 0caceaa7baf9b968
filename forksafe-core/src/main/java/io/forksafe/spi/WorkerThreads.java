package io.forksafe.spi;

import io.forksafe.ContainerInfo;
import io.forksafe.ForkHookException;
import io.forksafe.ForkRegistry;
import io.forksafe.WorkerInfo;

import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.IntFunction;
import java.util.function.Supplier;

/**
 * The worker-thread lifecycle every thread-pool adapter shares: each thread a pool creates becomes a forksafe worker
 * of kind {@link io.forksafe.WorkerKind#THREAD}, with
 * <ul>
 *   <li>a slot, the lowest free number from 1 up, whose generation grows each time it is filled again;</li>
 *   <li>{@link io.forksafe.PreFork} on the creating thread once the thread object exists, before it starts;</li>
 *   <li>{@link io.forksafe.PostForkParent} on the creating thread, once the host started the thread
 *       ({@link Worker#started()}) or, for a host that starts it out of sight, just before
 *       ({@link Worker#willStart()});</li>
 *   <li>{@link io.forksafe.PostFork} first on the new thread, after its PostForkParent (it waits for it at most
 *       {@value #PARENT_WAIT_SECONDS} s);</li>
 *   <li>{@link io.forksafe.WorkerExit} last on the thread, exactly once, whether its task returns or throws; then the
 *       slot is free again.</li>
 * </ul>
 * A failing hook never stops a thread: the registry records it in the status and {@link #publishQuietly} only logs it.
 * Thread events carry {@code registry.processWorker().childThread(...)}, so a restored copy's threads carry the
 * copy's pid.
 *
 * <p>An adapter wraps the pool's task in a {@link Worker}, lets the pool build the thread around it, and reports the
 * two moments it can see:
 *
 * <pre>{@code
 * WorkerThreads threads = new WorkerThreads(registry, container, "MyHost");
 *
 * public Thread newThread(Runnable task) {            // the host's thread factory
 *     WorkerThreads.Worker worker = threads.worker(task, () -> "idle timeout");
 *     Thread thread = hostFactory.newThread(worker);
 *     worker.created(thread);                         // slot + PreFork
 *     return thread;
 * }
 *
 * void startThread() {                                // where the host starts threads
 *     try {
 *         host.startThread();
 *     } finally {
 *         threads.startedOnThisThread();              // PostForkParent, or a never-started thread's clean-up
 *     }
 * }
 * }</pre>
 */
public final class WorkerThreads {

    /** How long a new thread waits for its PostForkParent before publishing PostFork anyway. */
    public static final int PARENT_WAIT_SECONDS = 10;

    private static final System.Logger LOG = System.getLogger("io.forksafe.threads");

    private final ForkRegistry registry;
    private final HostContext hostContext;
    private final ContainerInfo container;
    private final String host;
    private final SlotAllocator slots;
    private final AtomicLong created = new AtomicLong();
    private final AtomicLong retired = new AtomicLong();
    private final AtomicLong failedToStart = new AtomicLong();
    private final AtomicLong peak = new AtomicLong();
    /** Threads from their creation to the end of their WorkerExit. */
    private final Set<Thread> live = ConcurrentHashMap.newKeySet();
    /** Workers created on the current thread whose parent side is still to be published. */
    private final ThreadLocal<List<Worker>> createdHere = ThreadLocal.withInitial(ArrayList::new);

    /**
     * A lifecycle with its own slots, numbered from 1.
     *
     * @param host the host's name in log lines, for example {@code "Jetty"}
     */
    public WorkerThreads(ForkRegistry registry, ContainerInfo container, String host) {
        this(registry, container, host, new SlotAllocator(1));
    }

    /** A lifecycle leasing from {@code slots}, which the adapter may share with other pools of its host. */
    public WorkerThreads(ForkRegistry registry, ContainerInfo container, String host, SlotAllocator slots) {
        this.registry = Objects.requireNonNull(registry,
                "registry must not be null: pass Forksafe.registry() or your own ForkRegistry");
        this.hostContext = HostContext.of(this.registry);
        this.container = Objects.requireNonNull(container, "container must not be null");
        this.host = Objects.requireNonNull(host, "host must not be null");
        this.slots = Objects.requireNonNull(slots, "slots must not be null");
    }

    /** The registry the events go to. */
    public ForkRegistry registry() {
        return registry;
    }

    /**
     * Wraps {@code task}, the runnable the pool's thread will run, in a worker: build the thread around the returned
     * runnable, then call {@link Worker#created(Thread)}.
     *
     * @param exitReason the WorkerExit reason when the task returns (asked on the ending thread); a task that throws
     *                   gives {@code "failed: <exception>"}
     */
    public Worker worker(Runnable task, Supplier<String> exitReason) {
        return new Worker(Objects.requireNonNull(task, "task"), Objects.requireNonNull(exitReason, "exitReason"));
    }

    /**
     * Publishes the parent side of every worker created on the calling thread since the last call: call it once the
     * host's own start-thread code returned (in a {@code finally}). Threads the host never started release their slot
     * and get a WorkerExit saying so.
     */
    public void startedOnThisThread() {
        List<Worker> pending = createdHere.get();
        if (pending.isEmpty()) {
            return;
        }
        List<Worker> copy = List.copyOf(pending);
        pending.clear();
        for (Worker w : copy) {
            w.started();
        }
    }

    /** Whether {@code thread} is one of this lifecycle's threads that has not finished its WorkerExit. */
    public boolean owns(Thread thread) {
        return live.contains(thread);
    }

    /**
     * Waits, at most {@code timeoutMillis}, until every thread has finished its WorkerExit (the calling thread, if it
     * is one of them, is not waited for).
     *
     * @return true if no other thread is still running its lifecycle
     */
    public boolean awaitRetired(long timeoutMillis) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(timeoutMillis);
        for (Thread t : Set.copyOf(live)) {
            long left = TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime());
            if (t != Thread.currentThread() && left > 0) {
                t.join(left);
            }
        }
        return live.isEmpty() || live.equals(Set.of(Thread.currentThread()));
    }

    /** The figures shown in the status. */
    public Counts counts() {
        return new Counts(created.get(), retired.get(), failedToStart.get(), live.size(), peak.get(), slots.inUse());
    }

    /**
     * Runs {@code action} (a publication) and keeps the host running whatever the hooks do: hook failures are already
     * recorded in the status by the registry, so they are only logged at debug level; anything else is logged to the
     * status log and as a warning.
     *
     * @param host  the host's name in the log line, for example {@code "Jetty"}
     * @param event the event's name, for example {@code "PostFork"}
     */
    public static void publishQuietly(ForkRegistry registry, String host, String event, Runnable action) {
        try {
            action.run();
        } catch (ForkHookException e) {
            LOG.log(System.Logger.Level.DEBUG, () -> "forksafe: " + event + " hooks failed; see the status", e);
        } catch (RuntimeException e) {
            HostContext.of(registry).log(host + " could not publish " + event + ": " + e);
            LOG.log(System.Logger.Level.WARNING, "forksafe: " + host + " could not publish " + event, e);
        }
    }

    private void publish(String event, Runnable action) {
        publishQuietly(registry, host, event, action);
    }

    /**
     * A lifecycle's figures.
     *
     * @param threadsCreated       threads that got a slot and PreFork
     * @param threadsRetired       threads that finished their WorkerExit
     * @param threadsFailedToStart threads the host created but never started
     * @param liveThreads          threads between creation and the end of their WorkerExit
     * @param peakThreads          the most live threads at once
     * @param slotsInUse           slots leased now
     */
    public record Counts(long threadsCreated, long threadsRetired, long threadsFailedToStart, int liveThreads,
                         long peakThreads, int slotsInUse) {
    }

    /**
     * One thread's lifecycle: the runnable its thread runs (PostFork, the pool's task, WorkerExit). For hosts whose
     * threads run their own loop (a {@code ForkJoinWorkerThread}), {@link #begin()} and {@link #end(Throwable)} are
     * the two halves of {@link #run()}.
     */
    public final class Worker implements Runnable {

        private final Runnable task;
        private final Supplier<String> exitReason;
        private final CountDownLatch parentDone = new CountDownLatch(1);
        private volatile Thread thread;
        private volatile WorkerInfo info;
        private volatile SlotAllocator.Lease lease;
        private boolean began;
        private boolean ended;

        private Worker(Runnable task, Supplier<String> exitReason) {
            this.task = task;
            this.exitReason = exitReason;
        }

        /** The worker's description; null until {@link #created}. */
        public WorkerInfo info() {
            return info;
        }

        /** On the creating thread, once {@code thread} exists and before it starts: takes a slot, publishes PreFork. */
        public void created(Thread thread) {
            created(thread, null);
        }

        /**
         * As {@link #created(Thread)}, first naming the thread after its slot, for hosts whose names carry it.
         *
         * @param nameForSlot the thread's name for a slot, or null to keep its name
         */
        public void created(Thread thread, IntFunction<String> nameForSlot) {
            if (this.thread != null) {
                throw new IllegalStateException("worker already bound to " + this.thread.getName());
            }
            SlotAllocator.Lease l = slots.acquire();
            if (nameForSlot != null) {
                thread.setName(nameForSlot.apply(l.slot()));
            }
            WorkerInfo me = registry.processWorker().childThread(l.slot(), thread.getName(), l.generation());
            this.lease = l;
            this.info = me;
            this.thread = thread;
            created.incrementAndGet();
            live.add(thread);
            peak.accumulateAndGet(live.size(), Math::max);
            createdHere.get().add(this);
            publish("PreFork", () -> hostContext.preFork(me, container));
        }

        /**
         * On the creating thread, once the host's start returned: PostForkParent if the thread runs, otherwise (the
         * host gave up on it) the slot is released and WorkerExit says it never started.
         * {@link WorkerThreads#startedOnThisThread()} calls this for every worker created on the calling thread.
         */
        public void started() {
            finishParent(thread.getState() != Thread.State.NEW);
        }

        /**
         * On the creating thread, for a host that starts the thread after this returns, out of the adapter's sight
         * (a plain {@link java.util.concurrent.ThreadFactory}): publishes PostForkParent now.
         */
        public void willStart() {
            finishParent(true);
        }

        private void finishParent(boolean running) {
            createdHere.get().remove(this);
            if (parentDone.getCount() == 0) {
                return;
            }
            WorkerInfo me = info;
            try {
                if (running) {
                    publish("PostForkParent", () -> hostContext.postForkParent(me, container));
                } else {
                    failedToStart.incrementAndGet();
                    hostContext.log(host + " could not start thread " + me.name()
                            + " (PreFork ran, PostFork will not); the host logs the cause");
                    finish(me, "never started");
                }
            } finally {
                parentDone.countDown();
            }
        }

        @Override
        public void run() {
            begin();
            Throwable died = null;
            try {
                task.run();
            } catch (RuntimeException | Error e) {
                died = e;
                throw e;
            } finally {
                end(died);
            }
        }

        /** First on the new thread: waits for the parent side, then publishes PostFork. */
        public void begin() {
            if (began) {
                return;
            }
            began = true;
            awaitParent();
            WorkerInfo me = info;
            publish("PostFork", () -> hostContext.postFork(me, container));
        }

        /**
         * Last on the thread, once: finishes the parent side of threads this thread created, publishes WorkerExit and
         * frees the slot.
         *
         * @param died what ended the thread, or null if its task returned
         */
        public void end(Throwable died) {
            if (ended) {
                return;
            }
            ended = true;
            startedOnThisThread();
            String reason;
            try {
                reason = died != null ? "failed: " + died : exitReason.get();
            } catch (RuntimeException e) {
                reason = "failed to tell why: " + e;
            }
            finish(info, reason);
        }

        private void finish(WorkerInfo me, String reason) {
            try {
                publish("WorkerExit", () -> hostContext.workerExit(me, container, reason));
            } finally {
                retired.incrementAndGet();
                slots.release(lease);
                live.remove(thread);
            }
        }

        private void awaitParent() {
            boolean interrupted = false;
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(PARENT_WAIT_SECONDS);
            while (true) {
                try {
                    long left = deadline - System.nanoTime();
                    if (!parentDone.await(Math.max(0, left), TimeUnit.NANOSECONDS)) {
                        hostContext.log(host + " thread " + Thread.currentThread().getName() + " waited "
                                + PARENT_WAIT_SECONDS + " s for its PostForkParent; publishing PostFork anyway");
                    }
                    break;
                } catch (InterruptedException e) {
                    interrupted = true;
                }
            }
            if (interrupted) {
                Thread.currentThread().interrupt();
            }
        }

        @Override
        public String toString() {
            return "forksafe(" + task + ")";
        }
    }
}
