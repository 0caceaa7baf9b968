package io.forksafe.internal;

import java.time.Instant;
import java.util.IdentityHashMap;
import java.util.Map;
import java.util.concurrent.atomic.LongAdder;

/**
 * Bookkeeping for one (subscriber name, event type) pair: how often it ran, when, how long, and how it failed.
 *
 * <p>Run counts cost nothing per hook on the dispatch path: every publish bumps one counter per event type
 * ({@link TypeCounter}), and a subscription's run count is that counter's growth while it was subscribed. Only
 * failures (rare) and sampled durations are written per hook.
 */
public final class HookStats {

    /** Durations are measured on one publish in 64 of each event type, on a hook's first run, and on every failure. */
    public static final int TIMING_SAMPLE_MASK = 63;

    /** Dispatches of one event type, and when the last one happened. */
    public static final class TypeCounter {
        private static final java.lang.invoke.VarHandle DISPATCHES;

        static {
            try {
                DISPATCHES = java.lang.invoke.MethodHandles.lookup()
                        .findVarHandle(TypeCounter.class, "dispatches", long.class);
            } catch (ReflectiveOperationException e) {
                throw new ExceptionInInitializerError(e);
            }
        }

        @SuppressWarnings("unused") // updated through DISPATCHES
        private volatile long dispatches;
        private volatile Instant last;

        /**
         * Called once per publish of this type, before the hooks run; returns the dispatch's number (1, 2, ...).
         * One atomic add: events come at worker creation and exit, rarely from many threads at the same instant.
         */
        public long dispatched(Instant at) {
            long n = (long) DISPATCHES.getAndAdd(this, 1L) + 1;
            if (last != at) {
                last = at;
            }
            return n;
        }

        public long sum() {
            return dispatches;
        }

        public Instant last() {
            return last;
        }
    }

    private final String subscriber;
    private final String event;
    private final TypeCounter counter;
    private final LongAdder failures = new LongAdder();
    private final Map<Object, Long> liveBases = new IdentityHashMap<>();
    private long retiredRuns;
    private Instant retiredLastRun;
    private volatile Instant lastFailure;
    private volatile long lastDurationNanos = -1;
    /** Plain mirror of {@code lastDurationNanos >= 0} for the dispatch path; a stale read only times one more run. */
    private boolean hasDuration;
    private volatile String lastError;

    public HookStats(String subscriber, String event, TypeCounter counter) {
        this.subscriber = subscriber;
        this.event = event;
        this.counter = counter;
    }

    /** A subscription starts counting from now. */
    public synchronized void attach(Object subscription) {
        liveBases.put(subscription, counter.sum());
    }

    /** A subscription stops counting; its runs so far are kept. */
    public synchronized void detach(Object subscription) {
        Long base = liveBases.remove(subscription);
        if (base != null) {
            long runs = counter.sum() - base;
            retiredRuns += runs;
            if (runs > 0) {
                retiredLastRun = counter.last();
            }
        }
    }

    /** One run outside a dispatch: a hook subscribed after its process's PostFork ran once for it at once. */
    public synchronized void recordLateRun(Instant at) {
        retiredRuns++;
        if (retiredLastRun == null || at.isAfter(retiredLastRun)) {
            retiredLastRun = at;
        }
    }

    /** A sampled duration of a successful run. */
    public void recordDuration(long durationNanos) {
        lastDurationNanos = durationNanos;
        hasDuration = durationNanos >= 0;
    }

    /** A failed run, with its duration and error. */
    public void recordFailure(Instant at, long durationNanos, Throwable failure) {
        failures.increment();
        lastFailure = at;
        lastDurationNanos = durationNanos;
        hasDuration = durationNanos >= 0;
        String message = failure.getMessage();
        lastError = failure.getClass().getName() + (message == null ? "" : ": " + message);
    }

    public String subscriber() {
        return subscriber;
    }

    public String event() {
        return event;
    }

    /** Runs so far: those of retired subscriptions plus the dispatches each live one has seen. */
    public synchronized long count() {
        long total = retiredRuns;
        long now = counter.sum();
        for (long base : liveBases.values()) {
            total += now - base;
        }
        return total;
    }

    public long failures() {
        return failures.sum();
    }

    /** When it last ran, or null. */
    public synchronized Instant lastRun() {
        Instant last = null;
        long now = counter.sum();
        for (long base : liveBases.values()) {
            if (now > base) {
                last = counter.last();
            }
        }
        if (last == null) {
            last = retiredLastRun;
        }
        Instant failure = lastFailure;
        return failure != null && (last == null || failure.isAfter(last)) ? failure : last;
    }

    /**
     * Whether a duration was recorded (the last run was timed), read without a memory barrier on the dispatch path.
     * A stale {@code false} only makes one more run timed.
     */
    public boolean hasDuration() {
        return hasDuration;
    }

    public long lastDurationNanos() {
        return lastDurationNanos;
    }

    public String lastError() {
        return lastError;
    }
}
