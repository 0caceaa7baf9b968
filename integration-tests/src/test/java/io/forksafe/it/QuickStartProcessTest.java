package io.forksafe.it;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;

import io.forksafe.arbiter.TestHttp;

import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Test;

/**
 * The README's Jetty and Undertow quick starts ({@code com.example.JettyApp}, {@code com.example.UndertowApp}, the
 * very files the README shows) run unchanged as real processes on 127.0.0.1: stand-alone and as arbiter workers, a
 * SIGTERM lets a 3 s request in flight finish and runs WorkerExit; a rolling restart under keep-alive load fails no
 * request; a hook subscribed in {@code main} sees its worker's PostFork exactly once.
 */
class QuickStartProcessTest {

    private static final Duration STOP = Duration.ofSeconds(30);

    @ParameterizedTest
    @ValueSource(strings = {"com.example.JettyApp", "com.example.UndertowApp"})
    void standAloneSigtermLetsTheRequestInFlightFinishAndRunsWorkerExit(String app) throws Exception {
        int port = TestHttp.freePort();
        List<String> cmd = new ArrayList<>(List.of(ProcessSupport.javaBinary(), "-XX:TieredStopAtLevel=1",
                "-XX:+UseSerialGC", "-Dhttp.port=" + port, "-cp", ProcessSupport.demoClasspath(), app));
        try (RunningProcess run = RunningProcess.start(cmd)) {
            TestHttp.waitFor(() -> serves(port), RunningProcess.WAIT, app + " serving on " + port);
            CompletableFuture<String[]> slow = slowRequest(port);
            run.awaitLine(l -> l.equals("slow request: 3000 ms"));
            run.signal("TERM");
            String[] r = slow.get(30, TimeUnit.SECONDS);
            assertThat(r[0]).as("output:\n%s", run.output()).startsWith("HTTP/1.1 200");
            assertThat(r[1]).startsWith("hello from main pid " + run.pid());
            assertThat(run.awaitExit(STOP)).isEqualTo(143); // 128 + SIGTERM, after the shutdown hooks ran
            assertThat(run.countLines(l -> l.equals("WorkerExit main PROCESS"))).as(run.output()).isEqualTo(1);
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"com.example.JettyApp", "com.example.UndertowApp"})
    void asArbiterWorkersTheySeeTheirPostForkOnce_rollUnderKeepAliveLoadAndStopGracefully(String app)
            throws Exception {
        try (ArbiterProcess arbiter = ArbiterProcess.start(List.of("--graceful-timeout", "10s"), app)) {
            List<Long> old = ArbiterProcess.pids(arbiter.awaitWorkers(ws -> ArbiterProcess.allReady(ws, 2)));

            // the hook subscribed in main saw this worker's own PostFork, exactly once
            for (int slot = 1; slot <= 2; slot++) {
                String postFork = "[worker-" + slot + " pid " + old.get(slot - 1) + "] PostFork worker-" + slot
                        + " PROCESS";
                arbiter.run.awaitLine(l -> l.equals(postFork));
                assertThat(arbiter.run.countLines(l -> l.equals(postFork))).isEqualTo(1);
            }

            List<Long> now;
            try (KeepAliveLoad load = new KeepAliveLoad(arbiter.port, 8)) {
                load.awaitSuccesses(500, 30_000);
                arbiter.run.signal("HUP");
                List<JsonNode> rolled = arbiter.awaitWorkers(ws -> ArbiterProcess.allReady(ws, 2)
                        && ws.stream().allMatch(w -> w.path("generation").asLong() == 1));
                for (int slot = 1; slot <= 2; slot++) {
                    long p = old.get(slot - 1);
                    arbiter.run.awaitLine(l -> l.contains("(pid " + p + ", generation 0) exited"));
                    String exit = "[worker-" + slot + " pid " + p + "] WorkerExit worker-" + slot + " PROCESS";
                    assertThat(arbiter.run.countLines(l -> l.equals(exit))).as(arbiter.run.output()).isEqualTo(1);
                }
                now = ArbiterProcess.pids(rolled);
                load.awaitSuccesses(500, 30_000);
                load.close();
                System.out.println(app + " SIGHUP under keep-alive load: " + load);
                assertThat(load.failed.get()).as("%s", load).isZero();
                assertThat(load.byPid.keySet()).as("the new generation served the load: %s", load)
                        .containsAnyElementsOf(now.stream().map(String::valueOf).toList());
            }
            // keep-alive connections stick to the worker that accepted them; new connections reach both new workers
            assertThat(pidsAnsweringNewConnections(arbiter.port, now.size()))
                    .containsExactlyInAnyOrderElementsOf(now.stream().map(String::valueOf).toList());

            CompletableFuture<String[]> slow = slowRequest(arbiter.port);
            arbiter.run.awaitLine(l -> l.endsWith("slow request: 3000 ms"));
            arbiter.run.signal("TERM");
            String[] r = slow.get(30, TimeUnit.SECONDS);
            assertThat(r[0]).as("output:\n%s", arbiter.run.output()).startsWith("HTTP/1.1 200");
            assertThat(r[1]).startsWith("hello from worker-");
            assertThat(arbiter.run.awaitExit(STOP)).isZero();
        }
    }

    @Test
    void aJettyWorkerWithNoConnectorHaltsTheArbiterWithExit3AndTheFix() throws Exception {
        try (ArbiterProcess arbiter = ArbiterProcess.start(List.of(), "io.forksafe.demo.NoConnectorJettyApp")) {
            assertThat(arbiter.run.awaitExit(STOP)).as(arbiter.run.output()).isEqualTo(3);
            assertThat(arbiter.run.output())
                    .contains("has no ServerConnector to adopt it, so it would serve nothing")
                    .contains("server.addConnector(new ServerConnector(server))")
                    .contains("worker boot error");
        }
    }

    /** The pids that answer GETs on new connections, until {@code n} different ones did (bounded). */
    private static java.util.Set<String> pidsAnsweringNewConnections(int port, int n) throws IOException {
        java.util.Set<String> pids = new java.util.HashSet<>();
        java.util.regex.Pattern pid = java.util.regex.Pattern.compile("pid (\\d+)");
        for (int i = 0; i < 500 && pids.size() < n; i++) {
            java.util.regex.Matcher m = pid.matcher(TestHttp.get(port, "/")[1]);
            if (m.find()) {
                pids.add(m.group(1));
            }
        }
        return pids;
    }

    private static boolean serves(int port) {
        try {
            return TestHttp.get(port, "/")[0].startsWith("HTTP/1.1 200");
        } catch (IOException e) {
            return false;
        }
    }

    private static CompletableFuture<String[]> slowRequest(int port) {
        return CompletableFuture.supplyAsync(() -> {
            try {
                return TestHttp.get(port, "/?delay=3000", 20_000);
            } catch (IOException e) {
                return new String[] {"failed: " + e, ""};
            }
        });
    }
}
