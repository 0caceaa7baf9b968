package io.forksafe.internal;

import java.time.Instant;
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
    /** Durations are measured on the first run and then on every 64th run of a subscription. */
    public static final int TIMING_SAMPLE_MASK = 63;

    private volatile Instant lastRun;
    private volatile long lastDurationNanos = -1;
    private volatile String lastError;

    public HookStats(String subscriber, String event) {
        this.subscriber = subscriber;
        this.event = event;
    }

    /** Records a run; {@code durationNanos} is negative when this run was not timed. */
    public void recordSuccess(Instant at, long durationNanos) {
        count.increment();
        if (lastRun != at) {
            lastRun = at;
        }
        if (durationNanos >= 0) {
            lastDurationNanos = durationNanos;
        }
    }

    /** Records a failed run; failures are always kept with their message. */
    public void recordFailure(Instant at, long durationNanos, Throwable failure) {
        count.increment();
        failures.increment();
        lastRun = at;
        if (durationNanos >= 0) {
            lastDurationNanos = durationNanos;
        }
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

    public Instant lastRun() {
        return lastRun;
    }

    public long lastDurationNanos() {
        return lastDurationNanos;
    }

    public String lastError() {
        return lastError;
    }
}
