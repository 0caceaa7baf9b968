package io.forksafe.spi;

import io.forksafe.ForkRegistry;

import java.util.Objects;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.LongConsumer;

/**
 * The requests this process served and the ones in flight, for a host that recycles workers: the arbiter's
 * {@code --max-requests} (the worker asks to be replaced once it served its limit) and {@code --request-timeout}
 * (the arbiter aborts a worker whose oldest request in flight is older than that). One tracker per registry; the one
 * place that decides "limit reached", for every server adapter.
 *
 * <p>Adapter side: when {@link #enabled()} (a host asked for it before the server started), wrap each request once,
 * around the whole exchange, with {@link #begin()} and {@link #end}. Nothing else: the host decides what a count
 * means. When it is not enabled, install nothing, so a server outside the arbiter pays nothing.
 *
 * <pre>{@code
 * RequestTracker tracker = RequestTracker.of(registry);
 * if (tracker.enabled()) {
 *     handler = exchange -> {
 *         RequestTracker.Request r = tracker.begin();
 *         try {
 *             next.handle(exchange);
 *         } finally {
 *             tracker.end(r);
 *         }
 *     };
 *     tracker.installedBy("myhost");
 * }
 * }</pre>
 *
 * <p>Host side ({@link #enable}, {@link #oldestInFlight()}) belongs to the process's supervisor (the arbiter worker).
 * The cost per request is one {@link AtomicLong} increment; with in-flight tracking (a request timeout) also one
 * small object and a concurrent set insert and remove.
 */
public final class RequestTracker {

    /** A request being served: when it started, and on which thread (an I/O thread if the server dispatches later). */
    public static final class Request {
        private static final Request UNTRACKED = new Request(0, null);
        private final long startNanos;
        private final String thread;

        private Request(long startNanos, String thread) {
            this.startNanos = startNanos;
            this.thread = thread;
        }
    }

    /** The oldest request in flight: its age and the thread it started on (for the log; the dump shows where it is). */
    public record InFlight(long ageMillis, String thread) {
    }

    private final AtomicLong served = new AtomicLong();
    private final Set<Request> inFlight = ConcurrentHashMap.newKeySet();
    private final AtomicBoolean limitReported = new AtomicBoolean();
    private final Set<String> installedBy = ConcurrentHashMap.newKeySet();
    private volatile boolean enabled;
    private volatile boolean trackInFlight;
    private volatile long limit;
    private volatile LongConsumer onLimit = n -> {
    };

    private RequestTracker() {
    }

    /** The tracker of {@code registry}'s process (created disabled on first use). */
    public static RequestTracker of(ForkRegistry registry) {
        return HostContext.of(Objects.requireNonNull(registry, "registry must not be null"))
                .state(RequestTracker.class, RequestTracker::new);
    }

    // ------------------------------------------------------------------ adapter side

    /** Whether a host asked for request tracking: only then does an adapter install its per-request wrapper. */
    public boolean enabled() {
        return enabled;
    }

    /** Records that {@code who} (an adapter) installed its wrapper, for the status. */
    public void installedBy(String who) {
        installedBy.add(Objects.requireNonNull(who, "who must not be null"));
    }

    /** A request starts (on the current thread). Pass the result to {@link #end} exactly once. */
    public Request begin() {
        if (!trackInFlight) {
            return Request.UNTRACKED;
        }
        Request r = new Request(System.nanoTime(), Thread.currentThread().getName());
        inFlight.add(r);
        return r;
    }

    /** The request {@code r} from {@link #begin()} completed (answered, failed or abandoned): counts it as served. */
    public void end(Request r) {
        if (r != Request.UNTRACKED) {
            inFlight.remove(r);
        }
        long n = served.incrementAndGet();
        long max = limit;
        if (max > 0 && n >= max && limitReported.compareAndSet(false, true)) {
            onLimit.accept(n);
        }
    }

    // ------------------------------------------------------------------ host side

    /**
     * Host: turns tracking on. Call it before the server starts (adapters check {@link #enabled()} then).
     *
     * @param limit         the number of served requests at which {@code onLimit} runs, once (0: never)
     * @param trackInFlight whether to keep each request in flight, for {@link #oldestInFlight()}
     * @param onLimit       runs once, on the thread that completed the request that reached the limit, with the count
     */
    public void enable(long limit, boolean trackInFlight, LongConsumer onLimit) {
        if (limit < 0) {
            throw new IllegalArgumentException("limit must be 0 (none) or positive, got " + limit);
        }
        this.onLimit = Objects.requireNonNull(onLimit, "onLimit must not be null");
        this.limit = limit;
        this.trackInFlight = trackInFlight;
        this.enabled = true;
    }

    /**
     * Host: counts from 0 again, toward a new limit, as in a new process. For the copies of a checkpointed process
     * (the arbiter's preload mode): the template {@linkplain #enable enabled} tracking with no limit before its server
     * started, so the adapters' wrappers are in the image and it never asks to be recycled; each restored copy
     * restarts the count with its own limit before it serves. In-flight tracking stays as {@link #enable} set it.
     *
     * <pre>{@code
     * // in the template, before the server starts: count, never ask
     * tracker.enable(0, false, n -> { });
     * // in each restored copy, before it serves: its own limit, from 0
     * tracker.restart(10_000 + jitterDraw, n -> askToBeRecycled(n));
     * }</pre>
     *
     * @param limit   the number of requests served from now on at which {@code onLimit} runs, once (0: never)
     * @param onLimit runs once, on the thread that completed the request that reached the limit, with the count
     * @throws IllegalStateException if tracking was never enabled (the adapters installed nothing to count with)
     */
    public void restart(long limit, LongConsumer onLimit) {
        if (limit < 0) {
            throw new IllegalArgumentException("limit must be 0 (none) or positive, got " + limit);
        }
        Objects.requireNonNull(onLimit, "onLimit must not be null");
        if (!enabled) {
            throw new IllegalStateException("request tracking was never enabled in this process: call enable() "
                    + "before the server starts, then restart() in each copy");
        }
        this.limit = 0; // no report with the old limit while the new one is set
        this.onLimit = onLimit;
        served.set(0);
        limitReported.set(false);
        this.limit = limit;
    }

    /** The requests completed so far (since {@link #restart}, if it was called). */
    public long served() {
        return served.get();
    }

    /** The limit given to {@link #enable} or {@link #restart} (0: none). */
    public long limit() {
        return limit;
    }

    /** The adapters that installed their wrapper, sorted. */
    public java.util.List<String> installers() {
        return installedBy.stream().sorted().toList();
    }

    /** The oldest request in flight, or null when none is (or in-flight tracking is off). */
    public InFlight oldestInFlight() {
        Request oldest = null;
        for (Request r : inFlight) {
            if (oldest == null || r.startNanos - oldest.startNanos < 0) {
                oldest = r;
            }
        }
        return oldest == null ? null
                : new InFlight((System.nanoTime() - oldest.startNanos) / 1_000_000, oldest.thread);
    }
}
