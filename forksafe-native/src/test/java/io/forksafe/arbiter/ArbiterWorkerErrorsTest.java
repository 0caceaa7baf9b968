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
        }
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
