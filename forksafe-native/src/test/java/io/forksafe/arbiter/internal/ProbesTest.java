package io.forksafe.arbiter.internal;

import static org.assertj.core.api.Assertions.assertThat;

import io.forksafe.StatusEndpoint.Response;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** The probes' rules on given supervisor states, and which Accept headers get the dashboard page. */
class ProbesTest {

    private static Response health(Probes.State s) {
        return new Probes(() -> s).health();
    }

    private static Response readiness(Probes.State s) {
        return new Probes(() -> s).readiness();
    }

    private static Probes.State running(int serving, int needed) {
        return new Probes.State(true, false, false, false, System.nanoTime(), serving, needed);
    }

    @Test
    void liveWhileTheLoopRunsRecently() {
        assertThat(health(running(0, 2)).status()).isEqualTo(200);
        assertThat(health(new Probes.State(false, false, false, false, 0, 0, 2)).body()).startsWith("starting:");
        assertThat(health(new Probes.State(true, true, false, true, System.nanoTime(), 0, 2)).status()).isEqualTo(503);
        long stalled = System.nanoTime() - Probes.STALLED_AFTER.toNanos() - 1_000_000_000L;
        Response r = health(new Probes.State(true, false, false, false, stalled, 2, 2));
        assertThat(r.status()).isEqualTo(503);
        assertThat(r.body()).startsWith("stalled: the supervision loop has not run for");
        assertThat(health(new Probes.State(true, false, true, true, System.nanoTime(), 0, 2)).status())
                .as("live while stopping: a liveness failure would kill the pod mid-drain").isEqualTo(200);
    }

    @Test
    void readyWhileEnoughWorkersServeAndNotStopping() {
        assertThat(readiness(running(2, 2)).status()).isEqualTo(200);
        assertThat(readiness(running(2, 2)).body()).isEqualTo("ready: 2 worker(s) serve, 2 needed\n");
        assertThat(readiness(running(1, 1)).status()).isEqualTo(200);
        Response short1 = readiness(running(1, 2));
        assertThat(short1.status()).isEqualTo(503);
        assertThat(short1.body()).isEqualTo("not ready: 1 worker(s) serve, 2 needed (--min-ready)\n");
        Response draining = readiness(new Probes.State(true, false, true, false, System.nanoTime(), 2, 2));
        assertThat(draining.status()).isEqualTo(503);
        assertThat(draining.body()).startsWith("draining:");
        assertThat(readiness(new Probes.State(true, false, true, true, System.nanoTime(), 2, 2)).body())
                .startsWith("stopping:");
        long stalled = System.nanoTime() - Probes.STALLED_AFTER.toNanos() - 1_000_000_000L;
        assertThat(readiness(new Probes.State(true, false, false, false, stalled, 2, 2)).status())
                .as("not ready when not live: the count is stale").isEqualTo(503);
    }

    @ParameterizedTest(name = "{0} -> html {1}")
    @CsvSource(delimiter = '|', value = {
            "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8 | true",
            "text/html | true",
            "application/xhtml+xml | true",
            "TEXT/HTML; charset=utf-8 | true",
            "*/* | false",
            "application/json | false",
            "application/json, text/html;q=0.5 | false",
            "text/html;q=0.9, application/json;q=0.9 | true",
            "text/html;q=0 | false",
            "text/html;q=oops | false",
            "text/plain | false",
            "'' | false"})
    void browsersGetThePage(String accept, boolean html) {
        assertThat(StatusServer.prefersHtml(accept)).isEqualTo(html);
        assertThat(StatusServer.prefersHtml(null)).isFalse();
    }
}
