package io.forksafe.internal;

import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;

/**
 * Bookkeeping for one (subscriber, event type) pair: how often it ran, when, how long, and how it failed.
 * Updated on the dispatch path, so it uses only adders and plain volatile writes.
 */
public final class HookStats {

    private final String subscriber;
    private final String event;
    private final LongAdder count = new LongAdder();
    private final LongAdder failures = new LongAdder();
    private final AtomicLong lastRunEpochMillis = new AtomicLong();
    private volatile long lastDurationNanos;
    private volatile String lastError;

    public HookStats(String subscriber, String event) {
        this.subscriber = subscriber;
        this.event = event;
    }

    public void recordSuccess(long startMillis, long durationNanos) {
        count.increment();
        lastRunEpochMillis.lazySet(startMillis);
        lastDurationNanos = durationNanos;
    }

    public void recordFailure(long startMillis, long durationNanos, Throwable failure) {
        count.increment();
        failures.increment();
        lastRunEpochMillis.lazySet(startMillis);
        lastDurationNanos = durationNanos;
        String message = failure.getMessage();
        lastError = failure.getClass().getName() + (message == null ? "" : ": " + message);
    }

    public String subscriber() {
        return subscriber;
    }

    public String event() {
        return event;
    }

    public long count() {
        return count.sum();
    }

    public long failures() {
        return failures.sum();
    }

    public long lastRunEpochMillis() {
        return lastRunEpochMillis.get();
    }

    public long lastDurationNanos() {
        return lastDurationNanos;
    }

    public String lastError() {
        return lastError;
    }
}
