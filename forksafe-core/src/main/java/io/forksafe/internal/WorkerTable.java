package io.forksafe.internal;

import io.forksafe.ForkEvent;
import io.forksafe.ForksafeStatus;
import io.forksafe.WorkerInfo;

import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The workers this process knows about, bounded in memory: at most {@code liveCapacity} live workers and the
 * {@code recentCapacity} most recently ended ones. Workers beyond the cap are counted, not stored.
 */
public final class WorkerTable {

    private final int liveCapacity;
    private final int recentCapacity;
    private final Map<String, ForksafeStatus.WorkerState> live = new HashMap<>();
    private final ArrayDeque<ForksafeStatus.WorkerState> recent = new ArrayDeque<>();
    private long started;
    private long ended;
    private long untracked;

    public WorkerTable(int liveCapacity, int recentCapacity) {
        this.liveCapacity = liveCapacity;
        this.recentCapacity = recentCapacity;
    }

    private static String key(WorkerInfo w) {
        return w.kind() + "/" + w.slot() + "/" + w.generation();
    }

    /** Updates the table for one published event. */
    public synchronized void record(ForkEvent event) {
        WorkerInfo w = event.worker();
        Instant at = event.at();
        switch (event.type()) {
            case PRE_FORK -> put(w, "starting", at, null);
            case POST_FORK -> {
                started++;
                put(w, "running", at, null);
            }
            case POST_FORK_PARENT -> {
                started++;
                put(w, "running", at, null);
            }
            case POST_WORKER_INIT -> put(w, "ready", at, null);
            case WORKER_EXIT -> end(w, "exiting", at, ((io.forksafe.WorkerExit) event).reason());
            case CHILD_EXIT -> end(w, "exited", at, "exit status " + ((io.forksafe.ChildExit) event).exitStatus());
        }
    }

    private void put(WorkerInfo w, String state, Instant at, String detail) {
        String k = key(w);
        if (!live.containsKey(k) && live.size() >= liveCapacity) {
            untracked++;
            return;
        }
        ForksafeStatus.WorkerState previous = live.get(k);
        WorkerInfo info = previous != null && w.pid() == WorkerInfo.UNKNOWN_PID ? previous.worker() : w;
        live.put(k, new ForksafeStatus.WorkerState(info, state, at, detail));
    }

    private void end(WorkerInfo w, String state, Instant at, String detail) {
        String k = key(w);
        ForksafeStatus.WorkerState previous = live.remove(k);
        if (previous == null) {
            // Already ended (WorkerExit, then ChildExit for the same worker): update, don't count twice.
            ForksafeStatus.WorkerState earlier = null;
            for (ForksafeStatus.WorkerState r : recent) {
                if (key(r.worker()).equals(k)) {
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
        ended++;
        if (recent.size() == recentCapacity) {
            recent.removeFirst();
        }
        WorkerInfo info = w.pid() == WorkerInfo.UNKNOWN_PID && previous != null ? previous.worker() : w;
        recent.addLast(new ForksafeStatus.WorkerState(info, state, at, detail));
    }

    public synchronized List<ForksafeStatus.WorkerState> live() {
        List<ForksafeStatus.WorkerState> out = new ArrayList<>(live.values());
        out.sort(Comparator.comparing((ForksafeStatus.WorkerState s) -> s.worker().kind())
                .thenComparingInt(s -> s.worker().slot())
                .thenComparingLong(s -> s.worker().generation()));
        return out;
    }

    public synchronized List<ForksafeStatus.WorkerState> recentlyEnded() {
        return new ArrayList<>(recent);
    }

    public synchronized Map<String, Long> counters() {
        Map<String, Long> c = new java.util.LinkedHashMap<>();
        c.put("started", started);
        c.put("ended", ended);
        c.put("live", (long) live.size());
        c.put("untracked", untracked);
        return c;
    }
}
