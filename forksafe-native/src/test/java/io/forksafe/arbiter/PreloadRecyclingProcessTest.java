package io.forksafe.arbiter;

import static io.forksafe.arbiter.RecyclingProcessTest.arbiter;
import static io.forksafe.arbiter.RecyclingProcessTest.replacedFor;
import static io.forksafe.arbiter.TestHttp.freePort;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;

import io.forksafe.arbiter.internal.ProcessMemory;
import io.forksafe.arbiter.testapp.PreloadApp;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;

import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Recycling restored copies ({@code ArbiterMain --preload}) with real processes on 127.0.0.1: {@code --max-requests}
 * with its jitter (the template counts without a limit, each copy restarts its count and draws its own limit after
 * its restore), {@code --max-rss} and {@code --request-timeout}; each time a new restored copy takes the slot.
 * {@link PreloadApp} counts its requests as a server adapter does. Skipped, with the reason printed, where CRIU cannot
 * run.
 */
@Timeout(240)
class PreloadRecyclingProcessTest {

    private static final Duration BOOT = Duration.ofSeconds(60);

    @BeforeAll
    static void criuUsable() {
        var reason = Criu.unavailableReason();
        reason.ifPresent(r -> System.out.println("PreloadRecyclingProcessTest skipped: " + r));
        Assumptions.assumeTrue(reason.isEmpty(), () -> reason.orElse(""));
    }

    private static long currentCount(List<JsonNode> workers) {
        return workers.stream().filter(w -> w.path("role").asText().equals("current")
                && w.path("state").asText().equals("ready")).count();
    }

    /**
     * Each copy's own {@code requests} status section ({@code details.arbiterWorker.requests}), by host pid: asks the
     * shared socket for {@code /status} until every pid answered (at most 40 requests).
     */
    private static Map<Long, JsonNode> requestsByPid(int port, List<Long> pids) throws Exception {
        Map<Long, JsonNode> byPid = new TreeMap<>();
        for (int i = 0; i < 40 && byPid.size() < pids.size(); i++) {
            JsonNode s = ArbiterRun.parse(TestHttp.get(port, "/status")[1]);
            JsonNode me = s.path("details").path("arbiterWorker");
            byPid.putIfAbsent(me.path("pid").asLong(), me.path("requests"));
        }
        assertThat(byPid.keySet()).as("every copy answered /status").containsExactlyInAnyOrderElementsOf(pids);
        return byPid;
    }

    @Test
    void maxRequestsRecyclesARestoredCopyAtItsOwnDrawMadeAfterItsRestoreWithNoFailedRequest() throws Exception {
        int max = 100;
        int jitter = 1000;
        int warmUp = 300; // the template serves these before the checkpoint: past max, and nothing asks
        int port = freePort();
        try (ArbiterRun run = PreloadProcessTest.cli(List.of(), Map.of("PRELOADAPP_WARM_UP_REQUESTS",
                String.valueOf(warmUp)), 2, port, "--max-requests", String.valueOf(max), "--max-requests-jitter",
                String.valueOf(jitter))) {
            List<Long> pids = run.awaitReady(2, BOOT);
            assertThat(run.output()).contains("the template served " + warmUp + " warm-up requests");
            Map<Long, JsonNode> requests = requestsByPid(port, pids);
            System.out.println("--preload --max-requests " + max + " --max-requests-jitter " + jitter + ": " + requests);
            for (JsonNode r : requests.values()) {
                assertThat(r.path("maxRequests").asLong()).as("N + a draw of 0..J: %s", r)
                        .isBetween((long) max, (long) max + jitter);
                assertThat(r.path("served").asLong()).as("counted from the restore, not the template's %s warm-up "
                        + "requests: %s", warmUp, r).isLessThan(40);
                assertThat(r.path("countedBy").toString()).contains("preload-test-app");
            }
            List<Long> draws = requests.values().stream().map(r -> r.path("maxRequests").asLong()).toList();
            assertThat(draws.get(0)).as("each copy draws its own limit after its restore (the same draw: a 1 in %s "
                    + "chance, or the template's random state)", jitter + 1).isNotEqualTo(draws.get(1));

            RecyclingProcessTest.Recycled r = RecyclingProcessTest.loadUntilRecycledForMaxRequests(run, 2,
                    Duration.ofSeconds(120));
            long oldPid = r.oldPid();
            assertThat(pids).contains(oldPid);
            assertThat(r.counted()).as("the copy asked at exactly its own limit, drawn after its restore")
                    .isEqualTo(requests.get(oldPid).path("maxRequests").asLong());
            List<JsonNode> after = r.after();
            JsonNode replacement = replacedFor(after, "MAX_REQUESTS");
            assertThat(replacement.path("kind").asText()).as("a new restored copy takes the slot").isEqualTo("RESTORE");
            assertThat(replacement.path("pid").asLong()).isNotIn(pids);
            assertThat(replacement.path("previous").path("pid").asLong()).isIn(pids);
            run.awaitLine(l -> l.contains("(pid " + oldPid + ", generation") && l.contains(") exited"),
                    Duration.ofSeconds(30));
            assertThat(arbiter(run).path("exitsByCause").path("MAX_REQUESTS").asLong()).isGreaterThanOrEqualTo(1);
            assertThat(arbiter(run).path("exitsByCause").has("EXITED")).as("no copy died on its own").isFalse();
            assertThat(run.output()).contains("recycled worker-");
        }
    }

    @Test
    void maxRssRecyclesARestoredCopyThatAllocatesPastIt() throws Exception {
        long limit = 192L * 1024 * 1024;
        int port = freePort();
        try (ArbiterRun run = PreloadProcessTest.cli(List.of(), Map.of(), 1, port, "--max-rss", "192m")) {
            long pid = run.awaitReady(1, BOOT).get(0);
            assertThat(ProcessMemory.rssBytes(pid)).as("the copy starts below the limit (VmRSS)").isPositive()
                    .isLessThan(limit);
            assertThat(run.get("/alloc?mb=256")).startsWith("allocated=256");
            List<JsonNode> after = run.awaitWorkers(ws -> currentCount(ws) == 1 && replacedFor(ws, "MAX_RSS") != null,
                    Duration.ofSeconds(90));
            JsonNode replacement = replacedFor(after, "MAX_RSS");
            assertThat(replacement.path("previous").path("pid").asLong()).isEqualTo(pid);
            assertThat(replacement.path("kind").asText()).isEqualTo("RESTORE");
            assertThat(replacement.path("pid").asLong()).isNotEqualTo(pid);
            assertThat(arbiter(run).path("exitsByCause").path("MAX_RSS").asLong()).isEqualTo(1);
            assertThat(run.output()).contains("above max RSS 192 MiB", "recycled worker-1 (pid " + pid);
            assertThat(run.get("/")).contains("pid=" + replacement.path("pid").asLong());
        }
    }

    @Test
    void aRequestPastTheRequestTimeoutGetsItsRestoredCopyAbortedAndReplaced() throws Exception {
        int port = freePort();
        try (ArbiterRun run = PreloadProcessTest.cli(List.of(), Map.of(), 1, port, "--request-timeout", "1s",
                "--abort-grace", "2s")) {
            long pid = run.awaitReady(1, BOOT).get(0);
            CompletableFuture<String> stuck = CompletableFuture.supplyAsync(() -> {
                try {
                    return ArbiterRun.http(port, "/slow?ms=60000")[0];
                } catch (java.io.IOException e) {
                    return "failed: " + e;
                }
            });
            List<JsonNode> after = run.awaitWorkers(ws -> currentCount(ws) == 1
                    && replacedFor(ws, "REQUEST_TIMEOUT") != null, Duration.ofSeconds(90));
            JsonNode replacement = replacedFor(after, "REQUEST_TIMEOUT");
            assertThat(replacement.path("previous").path("pid").asLong()).isEqualTo(pid);
            assertThat(replacement.path("kind").asText()).isEqualTo("RESTORE");
            assertThat(stuck.get(60, java.util.concurrent.TimeUnit.SECONDS))
                    .as("the stuck request fails with its copy").startsWith("failed");
            String out = run.output();
            assertThat(out).contains("a request ran", "request timeout 1 s)", "aborting it (SIGQUIT thread dump");
            assertThat(out).as("the copy's thread dump, with the stuck request's frame").contains("Full thread dump",
                    "at io.forksafe.arbiter.testapp.PreloadApp.respond");
            assertThat(arbiter(run).path("exitsByCause").path("REQUEST_TIMEOUT").asLong()).isEqualTo(1);
            assertThat(run.get("/")).contains("pid=" + replacement.path("pid").asLong());
        }
    }
}
