package io.forksafe.internal;

import io.forksafe.ChildExit;
import io.forksafe.ForkEvent;
import io.forksafe.ForksafeStatus;
import io.forksafe.WorkerExit;
import io.forksafe.WorkerInfo;
import io.forksafe.WorkerKind;

import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The workers this process knows about, bounded in memory: at most {@code liveCapacity} live workers and the
 * {@code recentCapacity} most recently ended ones. Workers beyond the cap are counted, not stored. A repeated event
 * that does not change a worker's state costs one lock-free lookup.
 */
public final class WorkerTable {

    /** Slot and generation identify a worker across parent and child; threads also need their name. */
    private record Key(WorkerKind kind, int slot, long generation, String threadName) {
        static Key of(WorkerInfo w) {
            return new Key(w.kind(), w.slot(), w.generation(), w.kind() == WorkerKind.THREAD ? w.name() : null);
        }
    }

    private final int liveCapacity;
    private final int recentCapacity;
    private final ConcurrentHashMap<Key, ForksafeStatus.WorkerState> live = new ConcurrentHashMap<>();
    private final ArrayDeque<ForksafeStatus.WorkerState> recent = new ArrayDeque<>();
    private final AtomicLong started = new AtomicLong();
    private final AtomicLong ended = new AtomicLong();
    private final AtomicLong untracked = new AtomicLong();
    /** Grows on every change to {@link #live}; a {@link Memo} is valid only while it has not moved. */
    private final AtomicLong version = new AtomicLong();
    /** The last repeated event that changed nothing, so the next identical one skips the map lookup. */
    private volatile Memo memo;

    /** {@code worker} (this very instance) was live in {@code state} when the table was at {@code version}. */
    private record Memo(WorkerInfo worker, String state, long version) {
    }

    public WorkerTable(int liveCapacity, int recentCapacity) {
        this.liveCapacity = liveCapacity;
        this.recentCapacity = recentCapacity;
    }

    /** Updates the table for one published event. */
    public void record(ForkEvent event) {
        WorkerInfo w = event.worker();
        switch (event.type()) {
            case PRE_FORK -> put(w, "starting", event.at());
            case POST_FORK, POST_FORK_PARENT -> running(w, event.at());
            case POST_WORKER_INIT -> put(w, "ready", event.at());
            case WORKER_EXIT -> end(w, "exiting", event.at(), ((WorkerExit) event).reason());
            case CHILD_EXIT -> end(w, "exited", event.at(), "exit status " + ((ChildExit) event).exitStatus());
        }
    }

    /** PostFork and PostForkParent both mark a worker running (threads get both); it is counted once, atomically. */
    private void running(WorkerInfo w, Instant at) {
        Key k = Key.of(w);
        boolean[] counted = {false};
        live.compute(k, (key, previous) -> {
            if (previous != null && !previous.state().equals("starting")) {
                return previous.worker().pid() == WorkerInfo.UNKNOWN_PID
                        ? new ForksafeStatus.WorkerState(w, previous.state(), previous.since(), null) : previous;
            }
            if (previous == null && live.size() >= liveCapacity) {
                untracked.incrementAndGet();
                return null;
            }
            counted[0] = true;
            WorkerInfo info = w.pid() == WorkerInfo.UNKNOWN_PID && previous != null ? previous.worker() : w;
            return new ForksafeStatus.WorkerState(info, "running", at, null);
        });
        version.incrementAndGet();
        if (counted[0]) {
            started.incrementAndGet();
        }
    }

    private void put(WorkerInfo w, String state, Instant at) {
        Memo m = memo;
        if (m != null && m.worker == w && m.state == state && m.version == version.get()) {
            return; // the same worker repeated the same state and nothing changed since: no lookup, no allocation
        }
        long seen = version.get();
        Key k = Key.of(w);
        ForksafeStatus.WorkerState previous = live.get(k);
        if (previous != null && previous.state().equals(state) && (previous.worker() == w || previous.worker().equals(w))) {
            memo = new Memo(w, state, seen);
            return;
        }
        if (previous == null && live.size() >= liveCapacity) {
            untracked.incrementAndGet();
            return;
        }
        WorkerInfo info = previous != null && w.pid() == WorkerInfo.UNKNOWN_PID ? previous.worker() : w;
        live.put(k, new ForksafeStatus.WorkerState(info, state, at, null));
        version.incrementAndGet();
    }

    private synchronized void end(WorkerInfo w, String state, Instant at, String detail) {
        Key k = Key.of(w);
        ForksafeStatus.WorkerState previous = live.remove(k);
        version.incrementAndGet();
        if (previous == null) {
            // Already ended (WorkerExit, then ChildExit for the same worker): update, don't count twice.
            ForksafeStatus.WorkerState earlier = null;
            for (ForksafeStatus.WorkerState r : recent) {
                if (Key.of(r.worker()).equals(k)) {
                    earlier = r;
                }
            }
            if (earlier != null) {
                recent.remove(earlier);
                WorkerInfo info = w.pid() == WorkerInfo.UNKNOWN_PID ? earlier.worker() : w;
                recent.addLast(new ForksafeStatus.WorkerState(info, state, at, detail));
                return;
            }
        }
        ended.incrementAndGet();
        if (recent.size() == recentCapacity) {
            recent.removeFirst();
        }
        WorkerInfo info = w.pid() == WorkerInfo.UNKNOWN_PID && previous != null ? previous.worker() : w;
        recent.addLast(new ForksafeStatus.WorkerState(info, state, at, detail));
    }

    public List<ForksafeStatus.WorkerState> live() {
        List<ForksafeStatus.WorkerState> out = new ArrayList<>(live.values());
        out.sort(Comparator.comparing((ForksafeStatus.WorkerState s) -> s.worker().kind())
                .thenComparingInt(s -> s.worker().slot())
                .thenComparingLong(s -> s.worker().generation()));
        return out;
    }

    public synchronized List<ForksafeStatus.WorkerState> recentlyEnded() {
        return new ArrayList<>(recent);
    }

    public Map<String, Long> counters() {
        Map<String, Long> c = new LinkedHashMap<>();
        c.put("started", started.get());
        c.put("ended", ended.get());
        c.put("live", (long) live.size());
        c.put("untracked", untracked.get());
        return c;
    }
}
