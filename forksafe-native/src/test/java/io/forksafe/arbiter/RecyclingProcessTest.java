package io.forksafe.arbiter;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;

import io.forksafe.arbiter.internal.ProcessMemory;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.junit.jupiter.api.Test;

/**
 * Worker recycling with real processes on 127.0.0.1: {@code --max-requests} (the worker counts through the user API,
 * {@code ArbiterWorker.requestServed()}), {@code --max-rss} and {@code --request-timeout} (the tiny worker counts
 * through the adapters' SPI, {@code RequestTracker}). The adapters' counting is covered by integration-tests'
 * {@code RecyclingAdaptersProcessTest}.
 */
class RecyclingProcessTest {

    private static final Duration BOOT = Duration.ofSeconds(30);
    private static final Pattern SERVED = Pattern.compile("worker-\\d \\(pid (\\d+), generation \\d+\\) served (\\d+) "
            + "requests \\(max requests");

    private static List<String> options(int workers, String... extra) {
        List<String> o = new ArrayList<>(List.of("--workers", String.valueOf(workers), "--bind", "127.0.0.1:0",
                "--status-port", "0"));
        o.addAll(List.of(extra));
        return o;
    }

    static JsonNode arbiter(ArbiterRun run) throws Exception {
        return run.status().path("details").path("arbiter");
    }

    /** The current, ready worker whose previous worker ended with {@code cause}, or null. */
    /**
     * A recycle for {@code --max-requests} under load: the worker table once {@code workers} current workers serve
     * and one replaced a worker that asked; the load that ran (no request failed); the recycled worker's pid and the
     * count at which it asked (the arbiter's "served N requests" line).
     */
    record Recycled(List<JsonNode> after, LoadLoop load, long oldPid, long counted) {
    }

    /** Loads {@code run}'s port with 4 clients until a worker is recycled for MAX_REQUESTS and its replacement serves. */
    static Recycled loadUntilRecycledForMaxRequests(ArbiterRun run, int workers, Duration within) throws Exception {
        try (LoadLoop load = new LoadLoop(run.port, 4)) {
            List<JsonNode> after = run.awaitWorkers(ws -> ws.stream().filter(w -> w.path("role").asText()
                    .equals("current")).count() == workers && replacedFor(ws, "MAX_REQUESTS") != null, within);
            load.awaitSuccesses(100, 30_000); // the replacement serves too
            load.close();
            System.out.println("--max-requests, under load: " + load);
            assertThat(load.refused.get() + load.failed.get()).as("no request fails: %s", load).isZero();
            Matcher m = SERVED.matcher(run.awaitLine(l -> SERVED.matcher(l).find(), Duration.ofSeconds(10)));
            assertThat(m.find()).isTrue();
            return new Recycled(after, load, Long.parseLong(m.group(1)), Long.parseLong(m.group(2)));
        }
    }

    static JsonNode replacedFor(List<JsonNode> workers, String cause) {
        for (JsonNode w : workers) {
            if (w.path("role").asText().equals("current") && w.path("state").asText().equals("ready")
                    && w.path("previous").path("exitCause").asText().equals(cause)) {
                return w;
            }
        }
        return null;
    }

    @Test
    void maxRequestsRecyclesAWorkerAfterItsLimitPlusJitterWithNoFailedRequest() throws Exception {
        int max = 150;
        int jitter = 30;
        try (ArbiterRun run = ArbiterRun.start(List.of(), Map.of("TESTAPP_READY_VIA", "api"),
                options(2, "--max-requests", String.valueOf(max), "--max-requests-jitter", String.valueOf(jitter)),
                ArbiterRun.APP)) {
            List<Long> pids = run.awaitReady(2, BOOT);
            Recycled r = loadUntilRecycledForMaxRequests(run, 2, Duration.ofSeconds(60));
            long oldPid = r.oldPid();
            assertThat(pids).contains(oldPid);
            assertThat(r.counted()).as("the worker's own limit: N + its draw of 0..J").isBetween((long) max,
                    (long) max + jitter);
            assertThat(r.load().byPid.get(String.valueOf(oldPid)).get())
                    .as("the load loop saw at least the requests the worker counted").isGreaterThanOrEqualTo(r.counted());
            run.awaitLine(l -> l.contains("(pid " + oldPid + ", generation 0) exited"), Duration.ofSeconds(30));
            JsonNode replacement = replacedFor(r.after(), "MAX_REQUESTS");
            assertThat(replacement.path("generation").asLong()).isEqualTo(1);
            assertThat(arbiter(run).path("exitsByCause").path("MAX_REQUESTS").asLong()).isGreaterThanOrEqualTo(1);
            assertThat(arbiter(run).path("exitsByCause").has("EXITED")).as("no worker died on its own").isFalse();
            // the replacement served before the old worker was stopped, as in a rolling restart
            List<String> lines = run.lines();
            int recycled = indexOf(lines, "recycled worker-");
            int exited = indexOf(lines, "generation 0) exited");
            assertThat(recycled).isNotNegative().isLessThan(exited);
        }
    }

    @Test
    void maxRssRecyclesAWorkerThatAllocatesPastItBeforeTheKernelKillsIt() throws Exception {
        long limit = 192L * 1024 * 1024;
        try (ArbiterRun run = ArbiterRun.start(options(1, "--max-rss", "192m"))) {
            long pid = run.awaitReady(1, BOOT).get(0);
            long rss = ProcessMemory.rssBytes(pid);
            assertThat(rss).as("the worker starts below the limit (VmRSS)").isPositive().isLessThan(limit);
            assertThat(run.get("/alloc?mb=256")).startsWith("allocated=256");
            List<JsonNode> after = run.awaitWorkers(ws -> ArbiterRun.allReady(ws, 1)
                    && replacedFor(ws, "MAX_RSS") != null, Duration.ofSeconds(60));
            JsonNode previous = after.get(0).path("previous");
            assertThat(previous.path("pid").asLong()).isEqualTo(pid);
            assertThat(previous.path("exitStatus").asInt()).as("stopped gracefully (SIGTERM), not killed")
                    .isNotIn(137, 128 + 9);
            assertThat(after.get(0).path("generation").asLong()).isEqualTo(1);
            assertThat(arbiter(run).path("exitsByCause").path("MAX_RSS").asLong()).isEqualTo(1);
            List<String> events = new java.util.ArrayList<>();
            arbiter(run).path("recentEvents").forEach(e -> events.add(e.path("kind").asText() + " "
                    + e.path("pid").asLong() + " " + e.path("detail").asText()));
            assertThat(events).anyMatch(e -> e.startsWith("RECYCLE " + pid + " MAX_RSS: resident memory"));
            assertThat(run.output()).contains("resident memory", "above max RSS 192 MiB", "recycled worker-1 (pid " + pid);
            assertThat(run.get("/")).startsWith("pid=").contains("generation=1");
        }
    }

    @Test
    void aRequestPastTheRequestTimeoutGetsItsWorkerAbortedWithAThreadDumpAndReplaced() throws Exception {
        try (ArbiterRun run = ArbiterRun.start(options(1, "--request-timeout", "1s", "--abort-grace", "2s"))) {
            long pid = run.awaitReady(1, BOOT).get(0);
            CompletableFuture<String> stuck = CompletableFuture.supplyAsync(() -> {
                try {
                    return ArbiterRun.http(run.port, "/slow?ms=60000")[0];
                } catch (java.io.IOException e) {
                    return "failed: " + e;
                }
            });
            List<JsonNode> after = run.awaitWorkers(ws -> ArbiterRun.allReady(ws, 1)
                    && replacedFor(ws, "REQUEST_TIMEOUT") != null, Duration.ofSeconds(30));
            assertThat(after.get(0).path("previous").path("pid").asLong()).isEqualTo(pid);
            assertThat(stuck.get(30, java.util.concurrent.TimeUnit.SECONDS))
                    .as("the stuck request fails with its worker").startsWith("failed");
            String out = run.output();
            assertThat(out).contains("a request ran", "(started on thread \"tiny-handler\"; request timeout 1 s)",
                    "aborting it (SIGQUIT thread dump");
            assertThat(out).as("the thread dump, with the stuck request's frame").contains("Full thread dump",
                    "\"tiny-handler\"", "at io.forksafe.arbiter.testapp.TinyHttpWorker.handle");
            assertThat(arbiter(run).path("exitsByCause").path("REQUEST_TIMEOUT").asLong()).isEqualTo(1);
            assertThat(run.get("/")).startsWith("pid=").contains("generation=1");
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
}
