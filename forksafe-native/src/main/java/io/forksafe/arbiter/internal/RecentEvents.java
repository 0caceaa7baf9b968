package io.forksafe.arbiter.internal;

import java.util.ArrayDeque;
import java.util.List;

/**
 * The arbiter's recent life, for the status and the dashboard: spawns, restores, readiness, promotions, exits with
 * their status and cause, rolls and halts. Bounded ({@link #MAX}); the oldest entries go first. Thread-safe. Not API.
 */
public final class RecentEvents {

    /** How many entries are kept. */
    public static final int MAX = 64;

    /** What happened. */
    public enum Kind {
        /** A worker JVM was spawned (spawn mode), or a standby. */
        SPAWN,
        /** A worker is being restored from the preload image. */
        RESTORE,
        /** A worker reported that it serves. */
        READY,
        /** A standby booted and waits for its promotion. */
        STANDBY_BOOTED,
        /** A standby took a slot. */
        PROMOTION,
        /** A worker is recycled (--max-requests, --max-rss): its replacement serves before it stops. */
        RECYCLE,
        /** A worker or standby exited. */
        EXIT,
        /** A rolling restart began. */
        ROLL_START,
        /** A rolling restart finished: every slot serves on its new generation. */
        ROLL_COMPLETE,
        /** A rolling restart stopped because a new worker ended before it served. */
        ROLL_ABORTED,
        /** The arbiter halted (a boot error, workers that never start). */
        HALT
    }

    /**
     * One entry.
     *
     * @param atMillis   when (epoch milliseconds)
     * @param kind       what happened
     * @param worker     the worker's name then ("worker-1", "standby-2"), or null for the arbiter itself
     * @param pid        the worker's pid, or null
     * @param generation its generation in its slot, or null
     * @param detail     what the log said of it ("exit code 137 (killed by SIGKILL), EXITED"), or null
     */
    public record Entry(long atMillis, Kind kind, String worker, Long pid, Long generation, String detail) {
    }

    private final ArrayDeque<Entry> entries = new ArrayDeque<>(MAX);

    /** Records an event of worker {@code p} (its name, pid and generation as they are now). */
    void add(Kind kind, WorkerProcess p, String detail) {
        long pid = p.workerPid > 0 ? p.workerPid : p.pid;
        add(new Entry(System.currentTimeMillis(), kind, p.name(), pid, p.standby > 0 ? null : p.generation, detail));
    }

    /** Records an event of the arbiter itself. */
    void add(Kind kind, String detail) {
        add(new Entry(System.currentTimeMillis(), kind, null, null, null, detail));
    }

    private synchronized void add(Entry e) {
        if (entries.size() == MAX) {
            entries.removeFirst();
        }
        entries.addLast(e);
    }

    /** The entries, oldest first. */
    public synchronized List<Entry> entries() {
        return List.copyOf(entries);
    }
}
