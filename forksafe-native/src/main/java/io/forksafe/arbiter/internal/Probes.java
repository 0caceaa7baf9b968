package io.forksafe.arbiter.internal;

import io.forksafe.StatusEndpoint.Response;

import java.time.Duration;
import java.util.function.Supplier;

/**
 * The arbiter's Kubernetes-style probes, as the status port serves them ({@code /healthz}, {@code /readyz}): 200 or
 * 503 with a one-line plain-text reason. Live while the supervision loop runs; ready while it is live, not stopping
 * (a drain delay counts as stopping) and at least {@code --min-ready} workers serve.
 */
final class Probes {

    /**
     * A supervision loop that has not run for this long is not live. Generous on purpose: a failed liveness probe
     * restarts the whole pod, and the loop may block briefly (a spawn, a restore) without anything being wrong.
     */
    static final Duration STALLED_AFTER = Duration.ofSeconds(10);

    /**
     * What the probes read from the supervisor, without its lock (volatile fields), so a probe answers even while the
     * loop is busy.
     *
     * @param started        the supervision loop was started
     * @param stopped        the supervision loop has ended
     * @param draining       a stop was requested and the drain delay runs: the workers still serve
     * @param stopping       the workers' graceful stop has begun
     * @param lastTickNanos  {@link System#nanoTime()} of the loop's last pass, 0 before the first
     * @param serving        workers of a slot in state ready at the last pass
     * @param needed         how many must serve ({@code --min-ready}, at most the current target)
     */
    record State(boolean started, boolean stopped, boolean draining, boolean stopping, long lastTickNanos, int serving,
                 int needed) {
    }

    private final Supplier<State> state;

    Probes(Supplier<State> state) {
        this.state = state;
    }

    /** {@code /healthz}: 200 while the supervision loop runs. */
    Response health() {
        String why = notLive(state.get(), System.nanoTime());
        return why == null ? answer(200, "ok: the supervision loop runs") : answer(503, why);
    }

    /** {@code /readyz}: 200 while live, not stopping, and at least the needed workers serve. */
    Response readiness() {
        State s = state.get();
        String why = notLive(s, System.nanoTime());
        if (why == null) {
            if (s.draining() && !s.stopping()) {
                why = "draining: the arbiter is stopping (--drain-delay); the workers still serve until it ends";
            } else if (s.stopping()) {
                why = "stopping: the workers finish their in-flight requests";
            } else if (s.serving() < s.needed()) {
                why = "not ready: " + s.serving() + " worker(s) serve, " + s.needed() + " needed (--min-ready)";
            }
        }
        return why == null ? answer(200, "ready: " + s.serving() + " worker(s) serve, " + s.needed() + " needed")
                : answer(503, why);
    }

    private static String notLive(State s, long now) {
        if (!s.started() || s.lastTickNanos() == 0) {
            return "starting: the supervision loop has not run yet";
        }
        if (s.stopped()) {
            return "stopped: the supervision loop has ended";
        }
        long silentNanos = now - s.lastTickNanos();
        if (silentNanos > STALLED_AFTER.toNanos()) {
            return "stalled: the supervision loop has not run for " + silentNanos / 1_000_000 + " ms";
        }
        return null;
    }

    private static Response answer(int status, String text) {
        return new Response(status, "text/plain; charset=utf-8", text + "\n");
    }
}
