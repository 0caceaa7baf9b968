package io.forksafe.internal;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;

/** A thread-safe list of the newest {@code capacity} lines; older lines are counted, not kept. */
public final class BoundedLog {

    private final int capacity;
    private final ArrayDeque<String> lines;
    private long dropped;

    public BoundedLog(int capacity) {
        this.capacity = capacity;
        this.lines = new ArrayDeque<>(capacity);
    }

    public synchronized void add(String line) {
        if (lines.size() == capacity) {
            lines.removeFirst();
            dropped++;
        }
        lines.addLast(line);
    }

    /** The kept lines, oldest first, preceded by a note when some were dropped. */
    public synchronized List<String> snapshot() {
        List<String> out = new ArrayList<>(lines.size() + 1);
        if (dropped > 0) {
            out.add("(" + dropped + " earlier lines dropped)");
        }
        out.addAll(lines);
        return out;
    }
}
