package io.forksafe.arbiter.internal;

import io.forksafe.WorkerInfo;
import io.forksafe.WorkerKind;

import java.util.ArrayList;
import java.util.List;

/** One spawned worker JVM as the arbiter tracks it. State changes happen on the supervisor thread. */
final class WorkerProcess {

    enum State {
        /** spawned (or promoted from standby), not yet ready */
        BOOTING,
        /** a booted standby: its server waits for the promotion; not serving, not in a slot */
        STANDBY,
        /** reported readiness (its container serves) */
        READY,
        /** asked to stop gracefully (SIGTERM), killed at {@link #killAt} */
        STOPPING,
        /** timed out: thread dump requested (SIGQUIT), killed at {@link #killAt} */
        ABORTING,
        /** reaped */
        EXITED;

        String label() {
            return name().toLowerCase(java.util.Locale.ROOT);
        }
    }

    /** The slot it serves; 0 for a standby until its promotion. */
    volatile int slot;
    /** PROCESS for a spawned worker, RESTORE for a restored copy. */
    final WorkerKind kind;
    /** Its generation in the slot; for a standby until its promotion, its standby number. */
    volatile long generation;
    /** The standby number while it is a standby (1, 2, ...), or 0: a worker of a slot (or a promoted standby). */
    volatile int standby;
    /** The name it had as a standby, kept after its promotion for the log ("standby-3"), or null. */
    volatile String standbyName;
    final long pid;
    final long arbiterPid;
    /** When it was spawned, or promoted: its boot timeout and "ready in" count from here. */
    volatile long spawnedAtNanos;
    final long spawnedAtMillis;

    volatile State state = State.BOOTING;
    /**
     * The pid of the worker JVM itself: the spawned process for a spawned worker; for a restored copy its host pid,
     * known once it asked for its identity (-1 before). {@link #pid} is the process the supervisor reaps (unshare).
     */
    volatile long workerPid;
    /** A restored copy reported that its PostFork failed (exit status 3 is hidden behind criu's). */
    volatile boolean bootError;
    volatile long lastBeatNanos;
    volatile boolean connected;
    volatile boolean readyReported;
    /** A standby reported that it is booted and waits for its promotion. */
    volatile boolean standbyReported;
    /** Its control connection, once it said hello (the arbiter writes on it to promote a standby). */
    volatile java.nio.channels.SocketChannel control;
    final Object controlWriteLock = new Object();
    volatile boolean controlClosed;
    /** Its reaper thread saw it exit: its pid may already be reused, so it is never signalled again. */
    volatile boolean reaped;
    volatile long readyAtNanos;
    /** Why the arbiter asked it to end (set with the request), or null: it was not asked. */
    volatile ExitCause stopCause;
    /** The log's words for that request ("replaced by generation 2", "timed out: no heartbeat for ..."). */
    volatile String stopDetail;

    /** Why it ended, or ends: the cause the arbiter asked for, otherwise {@link ExitCause#EXITED}. */
    ExitCause exitCause() {
        ExitCause c = stopCause;
        return c != null ? c : ExitCause.EXITED;
    }
    /** It asked to be recycled after this many requests ({@code recycle max-requests}), or 0. */
    volatile long servedAtRecycleRequest;
    /** It reported a request in flight past {@code --request-timeout} ({@code stuck}): its age and thread, or null. */
    volatile String stuckRequest;
    /** A recycle was asked for it (max requests, max RSS): it is not asked again. Supervisor thread only. */
    boolean recycling;
    /** When its RSS is read next (--max-rss). Supervisor thread only. */
    long nextRssCheckNanos;
    long killAtNanos;
    boolean killed;
    int exitStatus = Integer.MIN_VALUE;
    private final List<String> events = new ArrayList<>();
    /** The last errors and hook failures the worker reported (replaced by each report line). */
    volatile WorkerReport report = WorkerReport.NONE;
    /** The application metrics the worker last sent ({@code ArbiterMetricsBinder}). */
    volatile AppMetrics appMetrics = AppMetrics.NONE;
    /** Errors already copied into the arbiter's own status, so a repeated report adds nothing. */
    private final java.util.Set<String> forwarded = new java.util.HashSet<>();
    /** Counted down when the control connection has been read to its end. */
    final java.util.concurrent.CountDownLatch controlDone = new java.util.concurrent.CountDownLatch(1);

    WorkerProcess(int slot, long generation, long pid, long arbiterPid, WorkerKind kind, int standby) {
        this.kind = kind;
        this.standby = standby;
        this.standbyName = standby > 0 ? ControlProtocol.standbyName(standby) : null;
        this.slot = slot;
        this.generation = generation;
        this.pid = pid;
        this.arbiterPid = arbiterPid;
        this.spawnedAtNanos = System.nanoTime();
        this.spawnedAtMillis = System.currentTimeMillis();
        this.lastBeatNanos = spawnedAtNanos;
        this.workerPid = kind == WorkerKind.RESTORE ? -1 : pid;
    }

    static String name(int slot) {
        return "worker-" + slot;
    }

    /** Its name now: "worker-SLOT", or "standby-N" until a standby's promotion. */
    String name() {
        return standby > 0 ? ControlProtocol.standbyName(standby) : name(slot);
    }

    WorkerInfo info() {
        return new WorkerInfo(slot, name(), kind, workerPid, arbiterPid, generation);
    }

    boolean alive() {
        return state != State.EXITED;
    }

    synchronized void event(String name) {
        if (events.size() < 32) {
            events.add(name);
        }
    }

    synchronized List<String> events() {
        return List.copyOf(events);
    }

    /** The reported errors not yet copied into the arbiter's status (at most {@link WorkerReport#MAX_ITEMS} ever). */
    synchronized List<String> unforwardedErrors() {
        List<String> out = new ArrayList<>();
        for (String e : report.errors()) {
            if (forwarded.size() < WorkerReport.MAX_ITEMS && forwarded.add(e)) {
                out.add(e);
            }
        }
        return out;
    }

    long heartbeatAgeMillis() {
        return (System.nanoTime() - lastBeatNanos) / 1_000_000;
    }

    String label() {
        return name() + " (pid " + (workerPid > 0 ? workerPid : pid + " restoring")
                + (standby > 0 ? "" : ", generation " + generation) + ")";
    }
}
