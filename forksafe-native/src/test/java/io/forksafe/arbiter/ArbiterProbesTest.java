package io.forksafe.arbiter;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

import jnr.constants.platform.Signal;
import org.junit.jupiter.api.Test;

/**
 * The status port's Kubernetes probes through real stop sequences: {@code /readyz} turns 503 on SIGTERM while the
 * workers still serve ({@code --drain-delay}; a second SIGTERM ends the delay), and {@code /healthz} (and
 * {@code /readyz}) stay 200 through a rolling restart.
 */
class ArbiterProbesTest {

    private static final Duration BOOT = Duration.ofSeconds(60);

    private static TestHttp.Reply probe(ArbiterRun run, String path) throws Exception {
        return TestHttp.get(run.statusPort, path, Map.of());
    }

    /** Polls {@code path} until it answers {@code status} (bounded); returns that reply. */
    private static TestHttp.Reply awaitProbe(ArbiterRun run, String path, int status) throws Exception {
        long deadline = System.nanoTime() + BOOT.toNanos();
        TestHttp.Reply last = null;
        while (System.nanoTime() < deadline) {
            last = probe(run, path);
            if (last.status() == status) {
                return last;
            }
            Thread.sleep(20);
        }
        throw new AssertionError(path + " never answered " + status + " within " + BOOT + "; last: " + last
                + "\noutput:\n" + run.output());
    }

    @Test
    void readinessTurnsFalseOnSigtermWhileTheWorkersStillServeAndASecondSigtermEndsTheDrainDelay() throws Exception {
        try (ArbiterRun run = ArbiterRun.start(List.of("--workers", "2", "--bind", "127.0.0.1:0", "--status-port", "0",
                "--drain-delay", "60s", "--graceful-timeout", "10s"), ArbiterRun.APP)) {
            List<Long> pids = run.awaitReady(2, BOOT);
            assertThat(awaitProbe(run, "/readyz", 200).body()).startsWith("ready: 2 worker(s) serve, 2 needed");
            assertThat(probe(run, "/healthz").status()).isEqualTo(200);

            run.signal(Signal.SIGTERM);
            TestHttp.Reply notReady = awaitProbe(run, "/readyz", 503);
            assertThat(notReady.body()).startsWith("draining:");
            assertThat(notReady.contentType()).startsWith("text/plain");
            // readiness is false, and nothing has stopped: the same workers are ready, alive and serve both slots
            assertThat(probe(run, "/healthz").status()).as("live while draining").isEqualTo(200);
            JsonNode arbiter = run.status().path("details").path("arbiter");
            assertThat(arbiter.path("phase").asText()).isEqualTo("draining");
            assertThat(ArbiterRun.allReady(run.workers(), 2)).isTrue();
            assertThat(run.workers()).extracting(w -> w.path("pid").asLong()).containsExactlyElementsOf(pids);
            Map<Integer, Map<String, String>> bySlot = TestHttp.firstResponsePerSlot(run.port, 2);
            assertThat(bySlot.values()).extracting(m -> Long.parseLong(m.get("pid")))
                    .containsExactlyInAnyOrderElementsOf(pids);
            assertThat(run.output()).doesNotContain("graceful stop", "tiny worker: stopped accepting");

            run.signal(Signal.SIGTERM); // the second one ends the 60 s delay
            assertThat(run.awaitExit(Duration.ofSeconds(30))).isZero();
            List<String> lines = run.lines();
            int draining = indexOf(lines, "draining: /readyz answers 503 now");
            int second = indexOf(lines, "second stop request: the drain delay ends now");
            int graceful = indexOf(lines, "graceful stop:");
            assertThat(draining).as("output:\n%s", run.output()).isNotNegative();
            assertThat(second).isGreaterThan(draining);
            assertThat(graceful).isGreaterThan(second);
            assertThat(run.countLines(l -> l.contains("tiny worker: stopped accepting"))).isEqualTo(2);
        }
    }

    private static int indexOf(List<String> lines, String text) {
        for (int i = 0; i < lines.size(); i++) {
            if (lines.get(i).contains(text)) {
                return i;
            }
        }
        return -1;
    }

    @Test
    void readinessWaitsForTheWorkersAndLivenessAndReadinessStayUpThroughARollingRestart() throws Exception {
        try (ArbiterRun run = ArbiterRun.start(List.of(), Map.of(), List.of("--workers", "2", "--bind", "127.0.0.1:0",
                "--status-port", "0", "--env", "TESTAPP_BOOT_DELAY_MS=3000"), ArbiterRun.APP)) {
            // the listening line comes before the workers are spawned, and they take 3 s more to be ready
            TestHttp.Reply early = probe(run, "/readyz");
            assertThat(early.status()).as("before the workers serve: %s", early.body()).isEqualTo(503);
            assertThat(early.body()).containsAnyOf("starting:", "not ready: 0 worker(s) serve, 2 needed");
            List<Long> before = run.awaitReady(2, BOOT);
            awaitProbe(run, "/readyz", 200);

            run.signal(Signal.SIGHUP);
            List<Integer> healthz = new ArrayList<>();
            Set<String> readyz = new TreeSet<>();
            long deadline = System.nanoTime() + BOOT.toNanos();
            boolean rolled = false;
            while (!rolled && System.nanoTime() < deadline) {
                healthz.add(probe(run, "/healthz").status());
                TestHttp.Reply r = probe(run, "/readyz");
                readyz.add(r.status() + " " + r.body().strip());
                List<JsonNode> ws = run.workers();
                rolled = ArbiterRun.allReady(ws, 2)
                        && ws.stream().allMatch(w -> w.path("generation").asLong() == 1)
                        && ws.stream().noneMatch(w -> before.contains(w.path("pid").asLong()));
                Thread.sleep(20);
            }
            assertThat(rolled).as("the roll completed; output:\n%s", run.output()).isTrue();
            assertThat(healthz).as("polls during the roll").hasSizeGreaterThan(5).containsOnly(200);
            assertThat(readyz).as("every worker slot kept a ready worker").containsExactly(
                    "200 ready: 2 worker(s) serve, 2 needed");
        }
    }
}
