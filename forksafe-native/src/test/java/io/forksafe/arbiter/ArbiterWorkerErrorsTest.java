package io.forksafe.arbiter;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;

import io.forksafe.arbiter.internal.WorkerReport;
import io.forksafe.arbiter.testapp.TestHooks;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import org.junit.jupiter.api.Test;

/**
 * A worker's configuration errors and failing hooks reach the arbiter's status, with real processes: the tiny worker
 * app reports a hostile error while its providers load (before it connects to the arbiter) and has a PostWorkerInit
 * hook that throws a hostile message.
 */
class ArbiterWorkerErrorsTest {

    private static final Duration BOOT = Duration.ofSeconds(30);
    private static final String ERROR = "testapp error: " + WorkerReport.oneLine(TestHooks.HOSTILE);

    @Test
    void aWorkersErrorsAndFailingHooksShowInItsSlotAndInTheArbitersErrors() throws Exception {
        try (ArbiterRun run = ArbiterRun.start(List.of("--workers", "2", "--bind", "127.0.0.1:0", "--status-port", "0",
                "--graceful-timeout", "7s", "--env", "TESTAPP_REPORT_ERROR=true",
                "--env", "TESTAPP_FAIL_POSTWORKERINIT=true"))) {
            List<JsonNode> ws = run.awaitWorkers(w -> ArbiterRun.allReady(w, 2) && w.stream().allMatch(x ->
                    x.path("errors").size() == 1 && x.path("hookFailures").size() == 1), BOOT);
            List<String> expectedArbiterErrors = new ArrayList<>();
            for (JsonNode w : ws) {
                assertThat(w.path("errors").get(0).asText()).isEqualTo(ERROR);
                JsonNode h = w.path("hookFailures").get(0);
                assertThat(h.path("subscriber").asText()).isEqualTo("testapp.failing-init");
                assertThat(h.path("event").asText()).isEqualTo("PostWorkerInit");
                assertThat(h.path("failures").asLong()).isEqualTo(1);
                assertThat(h.path("lastError").asText()).startsWith("java.lang.IllegalStateException")
                        .contains("fails on purpose: bad \"setting\", 100% ~\\nsecond line\\r\\n<script>")
                        .doesNotContain("\n", "\r", "\u2028");
                long pid = w.path("pid").asLong();
                expectedArbiterErrors.add("worker-" + w.path("slot").asInt() + " (pid " + pid + ") error: " + ERROR);

                // the arbiter passes its graceful timeout to each worker
                String environ = Files.readString(Path.of("/proc/" + pid + "/environ")).replace('\0', '\n');
                assertThat(environ.lines()).contains(ArbiterWorker.ENV_GRACEFUL_MILLIS + "=7000");
            }

            // the worker's summary: hook runs by event type and its notes (sent at most once a second)
            ws = run.awaitWorkers(w -> w.size() == 2 && w.stream().allMatch(x -> hookRuns(x, "PostWorkerInit") != null
                    && x.path("notes").size() == 1), BOOT);
            for (JsonNode w : ws) {
                JsonNode init = hookRuns(w, "PostWorkerInit");
                assertThat(init.path("failures").asLong()).isEqualTo(1);
                assertThat(init.path("runs").asLong()).as("testapp.counter, testapp.failing-init and the arbiter's own")
                        .isGreaterThanOrEqualTo(3);
                assertThat(hookRuns(w, "PostFork").path("failures").asLong()).isZero();
                JsonNode note = w.path("notes").get(0);
                assertThat(note.path("key").asText()).isEqualTo("testapp.note");
                assertThat(note.path("text").asText()).isEqualTo("a note: " + WorkerReport.oneLine(TestHooks.HOSTILE));
                assertThat(w.path("rssBytes").asLong()).as("VmRSS of a JVM").isGreaterThan(10L << 20);
                assertThat(w.path("uptimeMillis").asLong()).isPositive();
            }

            JsonNode status = run.status();
            assertThat(status.path("errors").toString()).isNotEqualTo("[]");
            List<String> errors = new ArrayList<>();
            status.path("errors").forEach(e -> errors.add(e.asText()));
            assertThat(errors).containsAll(expectedArbiterErrors);
            assertThat(status.path("status").asText()).startsWith("worker-").contains(" error: testapp error: ");

            // the raw JSON escapes the markup, and the text dump keeps one line per item
            String raw = ArbiterRun.http(run.statusPort, "/")[1];
            assertThat(raw).doesNotContain("<script>").contains("\\u003cscript\\u003e");
            String text = ArbiterRun.http(run.statusPort, "/?format=text")[1];
            assertThat(text.lines().filter(l -> l.contains("second line")))
                    .isNotEmpty().allMatch(l -> l.contains("bad \"setting\""));

            // an ended worker keeps what it reported, and the arbiter's recent events say what happened
            long victim = ws.get(0).path("pid").asLong();
            ArbiterRun.signal(victim, jnr.constants.platform.Signal.SIGKILL);
            List<JsonNode> after = run.awaitWorkers(w -> ArbiterRun.allReady(w, 2)
                    && w.get(0).path("pid").asLong() != victim, BOOT);
            JsonNode previous = after.get(0).path("previous");
            assertThat(previous.path("pid").asLong()).isEqualTo(victim);
            assertThat(previous.path("exitCause").asText()).isEqualTo("EXITED");
            assertThat(hookRuns(previous, "PostWorkerInit").path("failures").asLong()).isEqualTo(1);
            assertThat(previous.path("notes").get(0).path("key").asText()).isEqualTo("testapp.note");
            List<String> events = new ArrayList<>();
            run.status().path("details").path("arbiter").path("recentEvents").forEach(e -> events.add(
                    e.path("kind").asText() + " " + e.path("worker").asText() + " " + e.path("pid").asLong()));
            long newPid = after.get(0).path("pid").asLong();
            assertThat(events).containsSubsequence("SPAWN worker-1 " + victim, "READY worker-1 " + victim,
                    "EXIT worker-1 " + victim, "SPAWN worker-1 " + newPid, "READY worker-1 " + newPid);
        }
    }

    private static JsonNode hookRuns(JsonNode worker, String event) {
        for (JsonNode h : worker.path("hooks")) {
            if (h.path("event").asText().equals(event)) {
                return h;
            }
        }
        return null;
    }

    @Test
    void errorsOfAWorkerThatDiesAtBootReachTheArbiterBeforeItHalts() throws Exception {
        Path statusFile = ArbiterRun.tempDir().resolve("status.json");
        try (ArbiterRun run = ArbiterRun.start(List.of("--workers", "1", "--bind", "127.0.0.1:0",
                "--status-file", statusFile.toString(), "--env", "TESTAPP_REPORT_ERROR=true",
                "--env", "TESTAPP_FAIL_POSTFORK=true"))) {
            assertThat(run.awaitExit(BOOT)).as(run.output()).isEqualTo(3);
            assertThat(run.output()).contains("reports an error: " + ERROR);

            JsonNode status = ArbiterRun.parse(Files.readString(statusFile));
            List<String> errors = new ArrayList<>();
            status.path("errors").forEach(e -> errors.add(e.asText()));
            assertThat(errors).anyMatch(e -> e.startsWith("worker-1 (pid ") && e.endsWith(") error: " + ERROR));
            JsonNode slot = status.path("details").path("arbiter").path("workers").get(0);
            JsonNode ended = slot.path("previous");
            assertThat(ended.path("exitStatus").asInt()).isEqualTo(3);
            assertThat(ended.path("errors").get(0).asText()).isEqualTo(ERROR);
            JsonNode h = ended.path("hookFailures").get(0);
            assertThat(h.path("subscriber").asText()).isEqualTo("testapp.failing");
            assertThat(h.path("event").asText()).isEqualTo("PostFork");
            assertThat(h.path("failures").asLong()).isEqualTo(1);
        }
    }
}
