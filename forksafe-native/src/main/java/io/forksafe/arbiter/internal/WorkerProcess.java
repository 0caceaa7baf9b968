package io.forksafe.arbiter.internal;

import io.forksafe.WorkerInfo;
import io.forksafe.WorkerKind;

import java.util.ArrayList;
import java.util.List;

/** One spawned worker JVM as the arbiter tracks it. State changes happen on the supervisor thread. */
final class WorkerProcess {

    enum State {
        /** spawned, not yet ready */
        BOOTING,
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

    final int slot;
    /** PROCESS for a spawned worker, RESTORE for a restored copy. */
    final WorkerKind kind;
    final long generation;
    final long pid;
    final long arbiterPid;
    final long spawnedAtNanos;
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
    volatile boolean controlClosed;
    volatile long readyAtNanos;
    volatile String stopReason;
    long killAtNanos;
    boolean killed;
    int exitStatus = Integer.MIN_VALUE;
    private final List<String> events = new ArrayList<>();
    /** The last errors and hook failures the worker reported (replaced by each report line). */
    volatile WorkerReport report = WorkerReport.NONE;
    /** Errors already copied into the arbiter's own status, so a repeated report adds nothing. */
    private final java.util.Set<String> forwarded = new java.util.HashSet<>();
    /** Counted down when the control connection has been read to its end. */
    final java.util.concurrent.CountDownLatch controlDone = new java.util.concurrent.CountDownLatch(1);

    WorkerProcess(int slot, long generation, long pid, long arbiterPid, WorkerKind kind) {
        this.kind = kind;
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

    WorkerInfo info() {
        return new WorkerInfo(slot, name(slot), kind, workerPid, arbiterPid, generation);
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
        return name(slot) + " (pid " + (workerPid > 0 ? workerPid : pid + " restoring") + ", generation "
                + generation + ")";
    }
}
