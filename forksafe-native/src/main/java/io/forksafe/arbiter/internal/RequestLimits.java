package io.forksafe.arbiter.internal;

import io.forksafe.spi.ArbiterContract;
import io.forksafe.spi.RequestTracker;

import java.util.function.Function;
import java.util.function.LongConsumer;

/**
 * A worker's side of the arbiter's request limits ({@code --max-requests} with its jitter, {@code --request-timeout}),
 * read from the environment the arbiter set: it enables the process's {@link RequestTracker} (so the server adapters
 * count requests) with this worker's own limit, and turns the tracker's oldest request in flight into the control
 * line that asks for an abort. Not API.
 *
 * @param maxRequests   the requests after which this worker asks to be recycled: {@code --max-requests} plus this
 *                      worker's draw of 0..{@code --max-requests-jitter}; 0 for never
 * @param timeoutMillis {@code --request-timeout} in milliseconds, 0 for none
 */
public record RequestLimits(long maxRequests, long timeoutMillis) {

    /** No limits: the tracker stays off and adapters install nothing. */
    public static final RequestLimits NONE = new RequestLimits(0, 0);

    /**
     * The limits in {@code environment}, the jitter drawn with {@code seed} (mix the pid in: the copies of one image
     * share their random state).
     *
     * @throws IllegalStateException if a value is malformed (only the arbiter sets them)
     */
    public static RequestLimits fromEnvironment(Function<String, String> environment, long seed) {
        long max = ArbiterContract.nonNegative(environment, ArbiterContract.ENV_MAX_REQUESTS);
        long jitter = ArbiterContract.nonNegative(environment, ArbiterContract.ENV_MAX_REQUESTS_JITTER);
        long timeout = ArbiterContract.nonNegative(environment, ArbiterContract.ENV_REQUEST_TIMEOUT_MILLIS);
        long draw = max > 0 && jitter > 0 ? new java.util.SplittableRandom(seed).nextLong(jitter + 1) : 0;
        return new RequestLimits(max > 0 ? max + draw : 0, timeout);
    }

    /** Whether any limit is set. */
    public boolean any() {
        return maxRequests > 0 || timeoutMillis > 0;
    }

    /**
     * Turns {@code tracker} on if a limit is set; {@code send} gets the control line asking for the recycle, once.
     * In a restored copy (preload mode), whose template already turned it on ({@link #enableInTemplate}), the count
     * restarts from 0 toward this copy's own limit instead.
     */
    public void enable(RequestTracker tracker, java.util.function.Consumer<String> send) {
        if (!any()) {
            return;
        }
        LongConsumer onLimit = n -> send.accept(ControlProtocol.RECYCLE_MAX_REQUESTS + " " + n);
        if (tracker.enabled()) {
            tracker.restart(maxRequests, onLimit);
        } else {
            tracker.enable(maxRequests, timeoutMillis > 0, onLimit);
        }
    }

    /**
     * In a preload template, before the application's main: turns {@code tracker} on if a limit is set, so that the
     * server adapters install their counting wrapper before the checkpoint, but with no limit: the template never
     * asks to be recycled, and each restored copy draws its own limit ({@link #enable}).
     */
    public void enableInTemplate(RequestTracker tracker) {
        if (any()) {
            tracker.enable(0, timeoutMillis > 0, n -> {
            });
        }
    }

    /** The {@code stuck} line when {@code tracker}'s oldest request in flight is past the timeout, else null. */
    public String stuckLine(RequestTracker tracker) {
        if (timeoutMillis <= 0) {
            return null;
        }
        RequestTracker.InFlight oldest = tracker.oldestInFlight();
        if (oldest == null || oldest.ageMillis() <= timeoutMillis) {
            return null;
        }
        return ControlProtocol.STUCK + " " + oldest.ageMillis() + " " + oldest.thread();
    }

    /**
     * The environment for {@code config}'s workers: a spawned worker's, and a preload template's (its restored copies
     * inherit it).
     */
    public static java.util.Map<String, String> environment(io.forksafe.arbiter.ArbiterConfig config) {
        return environment(config.maxRequests(), config.maxRequestsJitter(),
                config.requestTimeout() == null ? 0 : config.requestTimeout().toMillis());
    }

    /** The environment for workers of {@code maxRequests}, {@code jitter} and {@code timeoutMillis} (0: unset). */
    public static java.util.Map<String, String> environment(long maxRequests, long jitter, long timeoutMillis) {
        java.util.Map<String, String> env = new java.util.TreeMap<>();
        if (maxRequests > 0) {
            env.put(ArbiterContract.ENV_MAX_REQUESTS, String.valueOf(maxRequests));
            env.put(ArbiterContract.ENV_MAX_REQUESTS_JITTER, String.valueOf(jitter));
        }
        if (timeoutMillis > 0) {
            env.put(ArbiterContract.ENV_REQUEST_TIMEOUT_MILLIS, String.valueOf(timeoutMillis));
        }
        return env;
    }
}
