package io.forksafe.arbiter;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;

import java.time.Duration;
import java.util.List;
import java.util.Map;

import jnr.constants.platform.Signal;
import org.junit.jupiter.api.Test;

/**
 * {@code /metrics} on the arbiter's status port, read by the Prometheus client's own text parser, with real worker
 * processes: the gauges and counters agree with the JSON status and move when a worker is killed.
 */
class ArbiterMetricsProcessTest {

    private static final Duration BOOT = Duration.ofSeconds(30);

    @Test
    void eachWorkersOwnMicrometerMetersAreInTheArbitersScrapeLabelledByWorker() throws Exception {
        try (ArbiterRun run = ArbiterRun.start(List.of("--workers", "2", "--bind", "127.0.0.1:0", "--status-port", "0",
                "--env", "TESTAPP_METRICS=true"))) {
            run.awaitReady(2, BOOT);
            PrometheusText m = null;
            for (long end = System.nanoTime() + BOOT.toNanos(); System.nanoTime() < end; ) {
                String text = ArbiterRun.http(run.statusPort, "/metrics")[1];
                if (text.contains("testapp_slot{worker=\"worker-1\"") && text.contains("testapp_slot{worker=\"worker-2\"")) {
                    m = PrometheusText.parse(text);
                    break;
                }
                Thread.sleep(25);
            }
            assertThat(m).as("both workers' meters reach /metrics").isNotNull();
            for (int slot = 1; slot <= 2; slot++) {
                Map<String, String> w = Map.of("worker", "worker-" + slot, "generation", "0");
                assertThat(m.value("testapp_slot", w)).isEqualTo(slot);
                assertThat(m.value("testapp_events_total", w)).isGreaterThanOrEqualTo(1);
                assertThat(m.value("testapp_boot_seconds_count", w)).isEqualTo(1);
                assertThat(m.value("testapp_boot_seconds_sum", w)).isEqualTo(0.25);
                assertThat(m.value("testapp_tagged_total", Map.of("worker", "worker-" + slot,
                        "text", io.forksafe.arbiter.testapp.AppMeters.HOSTILE_TAG))).isEqualTo(3);
            }
            assertThat(m.type("testapp_events")).isEqualTo("counter");
            assertThat(m.type("testapp_slot")).isEqualTo("gauge");
            assertThat(m.type("testapp_boot_seconds")).isEqualTo("summary");
            assertThat(m.type("testapp_boot_seconds_max")).isEqualTo("gauge");
        }
    }

    @Test
    void metricsParseAndTheirCountersMoveWhenAWorkerIsKilled() throws Exception {
        try (ArbiterRun run = ArbiterRun.start(List.of("--workers", "2", "--bind", "127.0.0.1:0", "--status-port", "0",
                "--env", "TESTAPP_FAIL_POSTWORKERINIT=true"))) {
            List<Long> pids = run.awaitReady(2, BOOT);
            // the workers' hook counts arrive with their summary (at most once a second)
            run.awaitWorkers(w -> w.size() == 2 && w.stream().allMatch(x -> x.path("hooks").toString()
                    .contains("\"PostWorkerInit\"")), BOOT);
            String[] response = ArbiterRun.http(run.statusPort, "/metrics");
            assertThat(response[0]).startsWith("HTTP/1.1 200");
            PrometheusText before = PrometheusText.parse(response[1]);

            assertThat(before.type("forksafe_arbiter_workers")).isEqualTo("gauge");
            assertThat(before.type("forksafe_arbiter_exits")).isEqualTo("counter");
            assertThat(before.type("forksafe_arbiter_boot_duration_seconds")).isEqualTo("histogram");
            assertThat(before.value("forksafe_arbiter_workers", Map.of("state", "ready"))).isEqualTo(2);
            assertThat(before.value("forksafe_arbiter_workers", Map.of("state", "booting"))).isZero();
            assertThat(before.value("forksafe_arbiter_target_workers", Map.of())).isEqualTo(2);
            assertThat(before.value("forksafe_arbiter_restarts_total", Map.of())).isZero();
            assertThat(before.byLabel("forksafe_arbiter_exits_total", "cause")).containsEntry("exited", 0.0)
                    .containsEntry("heartbeat_timeout", 0.0).containsEntry("max_requests", 0.0);
            assertThat(before.value("forksafe_arbiter_boot_duration_seconds_count", Map.of("source", "spawn")))
                    .isEqualTo(2);
            assertThat(before.value("forksafe_arbiter_boot_duration_seconds_bucket",
                    Map.of("source", "spawn", "le", "+Inf"))).isEqualTo(2);
            assertThat(before.value("forksafe_arbiter_boot_duration_seconds_sum", Map.of("source", "spawn")))
                    .isPositive();
            assertThat(before.value("forksafe_arbiter_hook_runs_total", Map.of("event", "PreFork")))
                    .as("the arbiter's own PreFork hooks, once per spawn").isGreaterThanOrEqualTo(2);
            for (String worker : List.of("worker-1", "worker-2")) {
                Map<String, String> init = Map.of("worker", worker, "generation", "0", "event", "PostWorkerInit");
                assertThat(before.value("forksafe_worker_hook_failures_total", init)).isEqualTo(1);
                assertThat(before.value("forksafe_worker_hook_runs_total", init)).isGreaterThanOrEqualTo(3);
                assertThat(before.value("forksafe_worker_resident_memory_bytes",
                        Map.of("worker", worker, "generation", "0"))).isGreaterThan(10 << 20);
                assertThat(before.value("forksafe_worker_heartbeat_age_seconds",
                        Map.of("worker", worker, "generation", "0"))).isLessThan(30);
            }

            ArbiterRun.signal(pids.get(0), Signal.SIGKILL);
            List<JsonNode> after = run.awaitWorkers(w -> ArbiterRun.allReady(w, 2)
                    && w.get(0).path("pid").asLong() != pids.get(0), BOOT);
            assertThat(after.get(0).path("generation").asLong()).isEqualTo(1);
            PrometheusText moved = PrometheusText.parse(ArbiterRun.http(run.statusPort, "/metrics")[1]);
            assertThat(moved.value("forksafe_arbiter_exits_total", Map.of("cause", "exited"))).isEqualTo(1);
            assertThat(moved.value("forksafe_arbiter_restarts_total", Map.of())).isEqualTo(1);
            assertThat(moved.value("forksafe_arbiter_boot_duration_seconds_count", Map.of("source", "spawn")))
                    .isEqualTo(3);
            assertThat(moved.value("forksafe_arbiter_workers", Map.of("state", "ready"))).isEqualTo(2);
            assertThat(moved.value("forksafe_arbiter_hook_runs_total", Map.of("event", "ChildExit")))
                    .as("testapp.counter ran for the killed worker's ChildExit in the arbiter")
                    .isGreaterThan(before.value("forksafe_arbiter_hook_runs_total", Map.of("event", "ChildExit")));
            assertThat(moved.byLabel("forksafe_worker_resident_memory_bytes", "generation")).containsKey("1");
        }
    }
}
