package io.forksafe.it;

import io.forksafe.arbiter.LoadLoop;
import io.forksafe.arbiter.TestHttp;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The forksafe arbiter ({@code io.forksafe.arbiter.ArbiterMain}) running the real demo workers, Jetty
 * ({@code io.forksafe.demo.JettyWorkerApp}) and Undertow ({@code io.forksafe.demo.UndertowWorkerApp}), on one shared
 * port: every process is real, every request goes over 127.0.0.1.
 */
class ArbiterWorkersProcessTest {

    private static final ObjectMapper JSON = new ObjectMapper();

    private ArbiterProcess arbiter;
    private final List<Long> workerPids = Collections.synchronizedList(new ArrayList<>());
    private int port;

    @AfterEach
    void cleanUp() throws Exception {
        if (arbiter != null) {
            workerPids.forEach(arbiter.run::alsoKill);
            arbiter.close();
        }
    }

    @Test
    void jettyWorkersReportTheirEventsAndSurviveKillNineUnderLoad() throws Exception {
        long t0 = System.nanoTime();
        startArbiter("io.forksafe.demo.JettyWorkerApp");
        List<JsonNode> ready = awaitWorkers(ws -> allReady(ws, 2));
        long startMillis = (System.nanoTime() - t0) / 1_000_000;
        List<Long> pids = ready.stream().map(w -> w.path("pid").asLong()).toList();
        workerPids.addAll(pids);

        // arbiter side: PreFork/PostForkParent per worker in its status; worker side: PostFork + PostWorkerInit
        JsonNode status = status();
        assertThat(status.path("status").asText()).isEqualTo("forksafe-arbiter hook configured");
        assertThat(status.path("workerCounters").path("started").asLong()).isEqualTo(2);
        for (JsonNode w : ready) {
            assertThat(w.path("events").toString()).contains("PostFork", "PostWorkerInit");
        }
        Map<Long, JsonNode> workerStatus = new HashMap<>();
        long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
        while (workerStatus.size() < 2 && System.nanoTime() < deadline) {
            JsonNode s = JSON.readTree(get("/forksafe/status")[1]);
            workerStatus.put(s.path("pid").asLong(), s);
        }
        assertThat(workerStatus.keySet()).containsExactlyInAnyOrderElementsOf(pids);
        for (JsonNode s : workerStatus.values()) {
            assertThat(s.path("details").path("arbiterWorker").path("arbiterPid").asLong()).isEqualTo(arbiter.pid());
            JsonNode process = null;
            for (JsonNode w : s.path("workers")) {
                if (w.path("kind").asText().equals("PROCESS")) {
                    process = w;
                }
            }
            assertThat(process).as("the worker process in its own status: %s", s).isNotNull();
            assertThat(process.path("state").asText()).isEqualTo("ready");
            assertThat(process.path("parentPid").asLong()).isEqualTo(arbiter.pid());
            assertThat(hookCount(s, "worker-app.printer", "PostFork")).isGreaterThanOrEqualTo(1);
            assertThat(hookCount(s, "worker-app.printer", "PostWorkerInit")).isGreaterThanOrEqualTo(1);
        }
        awaitLine(l -> l.startsWith("[worker-1 pid " + pids.get(0) + "] event PostWorkerInit worker=worker-1 kind=PROCESS"));

        int threads = 4;
        try (LoadLoop load = new LoadLoop(port, threads, LoadLoop.PID_SPACE)) {
            load.awaitSuccesses(300, 30_000);
            long killedAt = System.nanoTime();
            kill(pids.get(0), "KILL");
            List<JsonNode> after = awaitWorkers(ws -> allReady(ws, 2) && ws.get(0).path("pid").asLong() != pids.get(0));
            long replacedMillis = (System.nanoTime() - killedAt) / 1_000_000;
            workerPids.add(after.get(0).path("pid").asLong());
            load.awaitSuccesses(300, 30_000);
            load.close();
            System.out.println("Jetty: arbiter start -> 2 workers ready in " + startMillis + " ms; kill -9 -> replacement ready in "
                    + replacedMillis + " ms; load " + load);
            assertThat(load.refused.get()).as("%s", load).isZero();
            assertThat(load.failed.get()).as("at most the in-flight requests of the killed worker: %s", load)
                    .isLessThanOrEqualTo(threads);
            assertThat(after.get(0).path("generation").asLong()).isEqualTo(1);
            assertThat(after.get(0).path("lastExitStatus").asInt()).isEqualTo(137);
            assertThat(after.get(1).path("pid").asLong()).isEqualTo(pids.get(1));
        }
        assertThat(status().path("workerCounters").path("ended").asLong()).isEqualTo(1);

        kill(arbiter.pid(), "TERM");
        assertThat(arbiter.run.awaitExit(java.time.Duration.ofSeconds(40))).isZero();
        // the Jetty adapter publishes the process's WorkerExit when the server stops; the arbiter side adds none
        String exit = "[worker-2 pid " + pids.get(1) + "] event WorkerExit worker=worker-2 kind=PROCESS";
        awaitLine(l -> l.startsWith(exit));
        assertThat(arbiter.run.countLines(l -> l.startsWith(exit))).isEqualTo(1);
    }

    @Test
    void jettyRollingRestartUnderLoadFailsNoRequest() throws Exception {
        startArbiter("io.forksafe.demo.JettyWorkerApp");
        List<Long> old = awaitWorkers(ws -> allReady(ws, 2)).stream().map(w -> w.path("pid").asLong()).toList();
        workerPids.addAll(old);
        try (LoadLoop load = new LoadLoop(port, 4, LoadLoop.PID_SPACE)) {
            load.awaitSuccesses(300, 30_000);
            kill(arbiter.pid(), "HUP");
            List<JsonNode> rolled = awaitWorkers(ws -> allReady(ws, 2)
                    && ws.stream().allMatch(w -> w.path("generation").asLong() == 1));
            rolled.forEach(w -> workerPids.add(w.path("pid").asLong()));
            for (long p : old) {
                awaitLine(l -> l.contains("(pid " + p + ", generation 0) exited"));
            }
            load.awaitSuccesses(300, 30_000);
            load.close();
            System.out.println("Jetty SIGHUP: " + load);
            assertThat(load.refused.get()).as("%s", load).isZero();
            assertThat(load.failed.get()).as("%s", load).isZero();
        }
    }

    @Test
    void undertowWorkersServeTheSharedPort() throws Exception {
        startArbiter("io.forksafe.demo.UndertowWorkerApp");
        List<Long> pids = awaitWorkers(ws -> allReady(ws, 2)).stream().map(w -> w.path("pid").asLong()).toList();
        workerPids.addAll(pids);
        try (LoadLoop load = new LoadLoop(port, 4, LoadLoop.PID_SPACE)) {
            long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
            while (!load.byPid.keySet().containsAll(pids.stream().map(String::valueOf).toList())
                    && System.nanoTime() < deadline) {
                Thread.sleep(20);
            }
            load.close();
            System.out.println("Undertow: " + load);
            assertThat(load.byPid.keySet()).as("both Undertow workers answered on the shared port: %s", load)
                    .containsAll(pids.stream().map(String::valueOf).toList());
            assertThat(load.refused.get() + load.failed.get()).as("%s", load).isZero();
        }
        JsonNode worker = JSON.readTree(get("/forksafe/status")[1]);
        assertThat(worker.path("details").path("arbiterWorker").path("arbiterPid").asLong()).isEqualTo(arbiter.pid());

        // a rolling restart of Undertow workers under load
        try (LoadLoop load = new LoadLoop(port, 4, LoadLoop.PID_SPACE)) {
            load.awaitSuccesses(300, 30_000);
            kill(arbiter.pid(), "HUP");
            awaitWorkers(ws -> allReady(ws, 2) && ws.stream().allMatch(w -> w.path("generation").asLong() == 1))
                    .forEach(w -> workerPids.add(w.path("pid").asLong()));
            for (long p : pids) {
                awaitLine(l -> l.contains("(pid " + p + ", generation 0) exited"));
            }
            load.awaitSuccesses(300, 30_000);
            load.close();
            System.out.println("Undertow SIGHUP: " + load);
            assertThat(load.refused.get()).as("%s", load).isZero();
            // Usually 0. Seen once: 1 connection that the stopping Undertow worker had accepted was closed unanswered
            // (the Jetty worker needed a stop timeout for the same reason), so bound it by the in-flight requests.
            assertThat(load.failed.get()).as("%s", load).isLessThanOrEqualTo(4);
        }
        kill(arbiter.pid(), "TERM");
        assertThat(arbiter.run.awaitExit(java.time.Duration.ofSeconds(40))).isZero();
    }

    // ------------------------------------------------------------------ helpers

    private void startArbiter(String app) throws Exception {
        arbiter = ArbiterProcess.start(List.of(), app);
        port = arbiter.port;
    }

    private String awaitLine(Predicate<String> p) throws InterruptedException {
        return arbiter.run.awaitLine(p);
    }

    private JsonNode status() throws IOException {
        return arbiter.status();
    }

    private String[] get(String path) throws IOException {
        return TestHttp.get(port, path);
    }

    private List<JsonNode> awaitWorkers(Predicate<List<JsonNode>> p) throws Exception {
        return arbiter.awaitWorkers(p);
    }

    private static boolean allReady(List<JsonNode> ws, int n) {
        return ArbiterProcess.allReady(ws, n);
    }

    private static long hookCount(JsonNode status, String subscriber, String event) {
        for (JsonNode h : status.path("executedHooks")) {
            if (h.path("subscriber").asText().equals(subscriber) && h.path("event").asText().equals(event)) {
                return h.path("count").asLong();
            }
        }
        return 0;
    }

    private static void kill(long pid, String signal) {
        RunningProcess.kill(pid, signal);
    }
}
