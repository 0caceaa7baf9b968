package io.forksafe.arbiter;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;

import jnr.constants.platform.Signal;
import org.junit.jupiter.api.Test;

/**
 * The arbiter end to end with real processes on 127.0.0.1: an arbiter JVM ({@link ArbiterMain}) running the tiny
 * worker app in worker JVMs that share its listening socket.
 */
class ArbiterProcessTest {

    private static final Duration BOOT = Duration.ofSeconds(30);

    private static List<String> options(String... extra) {
        List<String> o = new ArrayList<>(List.of("--workers", "2", "--bind", "127.0.0.1:0", "--status-port", "0"));
        o.addAll(List.of(extra));
        return o;
    }

    /** Hook runs per event type, read from a status JSON's executedHooks for one subscriber. */
    static Map<String, Long> counts(JsonNode status, String subscriber) {
        Map<String, Long> m = new HashMap<>();
        status.path("executedHooks").forEach(h -> {
            if (h.path("subscriber").asText().equals(subscriber)) {
                m.put(h.path("event").asText(), h.path("count").asLong());
            }
        });
        return m;
    }

    @Test
    void eventsInBothProcessesStatusPidfileLogFileAndScaling() throws Exception {
        Path dir = ArbiterRun.tempDir();
        Path pidfile = dir.resolve("arbiter.pid");
        Path log = dir.resolve("arbiter.log");
        try (ArbiterRun run = ArbiterRun.start(options("--pidfile", pidfile.toString(), "--log-file", log.toString(),
                "--log-max-size", "4k", "--log-max-files", "2", "--print-events"))) {
            List<Long> pids = run.awaitReady(2, BOOT);
            System.out.println("arbiter start -> 2 workers ready in " + run.millisSinceStart() + " ms");
            assertThat(pids).doesNotHaveDuplicates().doesNotContain(run.pid());
            assertThat(Files.readString(pidfile).strip()).isEqualTo(String.valueOf(run.pid()));

            // the arbiter: PreFork and PostForkParent once per worker, nothing worker-side
            JsonNode arbiter = run.status();
            assertThat(arbiter.path("status").asText()).isEqualTo("forksafe-arbiter hook configured");
            assertThat(counts(arbiter, "testapp.counter")).containsEntry("PreFork", 2L).containsEntry("PostForkParent", 2L)
                    .containsEntry("PostFork", 0L).containsEntry("PostWorkerInit", 0L).containsEntry("ChildExit", 0L);
            for (JsonNode w : arbiter.path("details").path("arbiter").path("workers")) {
                assertThat(w.path("events").toString()).contains("PostFork", "PostWorkerInit");
                assertThat(w.path("generation").asLong()).isZero();
                assertThat(w.path("heartbeatAgeMillis").asLong()).isLessThan(5000);
            }

            // each worker: PostFork and PostWorkerInit once, its identity from the arbiter's environment
            Map<Long, JsonNode> workerStatus = new HashMap<>();
            long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
            while (workerStatus.size() < 2 && System.nanoTime() < deadline) {
                JsonNode s = ArbiterRun.parse(run.get("/status"));
                workerStatus.put(s.path("pid").asLong(), s);
            }
            assertThat(workerStatus.keySet()).containsExactlyInAnyOrderElementsOf(pids);
            for (JsonNode s : workerStatus.values()) {
                assertThat(counts(s, "testapp.counter")).containsEntry("PostFork", 1L).containsEntry("PostWorkerInit", 1L)
                        .containsEntry("PreFork", 0L).containsEntry("WorkerExit", 0L);
                JsonNode me = s.path("details").path("arbiterWorker");
                assertThat(me.path("arbiterPid").asLong()).isEqualTo(run.pid());
                assertThat(me.path("ready").asBoolean()).isTrue();
                assertThat(me.path("connected").asBoolean()).isTrue();
                assertThat(s.path("workers").get(0).path("parentPid").asLong()).isEqualTo(run.pid());
            }

            // output is echoed with slot and pid, events printed in both processes, and the log file rotates
            run.awaitLine(l -> l.endsWith("worker-1 (pid " + pids.get(0) + ", generation 0) event PostWorkerInit"), BOOT);
            run.awaitLine(l -> l.contains("] event PostForkParent worker-2"), BOOT);
            for (int i = 0; i < 60; i++) {
                assertThat(run.get("/slow?ms=1")).contains("slept=1"); // each logs a line
            }
            run.awaitLine(l -> Files.exists(dir.resolve("arbiter.log.1")), Duration.ofSeconds(10));
            assertThat(Files.readString(log)).contains("[worker-");
            assertThat(dir.resolve("arbiter.log.1")).exists();
            assertThat(dir.resolve("arbiter.log.3")).doesNotExist();

            // SIGTTIN: slot 3 appears; SIGTTOU: it goes away again, gracefully
            run.signal(Signal.SIGTTIN);
            List<JsonNode> three = run.awaitWorkers(w -> ArbiterRun.allReady(w, 3), BOOT);
            long third = three.get(2).path("pid").asLong();
            assertThat(three.get(2).path("slot").asInt()).isEqualTo(3);
            run.signal(Signal.SIGTTOU);
            run.awaitWorkers(w -> ArbiterRun.allReady(w, 2), BOOT);
            run.awaitLine(l -> l.contains("pid " + third + ", generation 0) exited") && l.contains("scaled down"), BOOT);
            run.signal(Signal.SIGTTIN); // the slot comes back with the next generation
            List<JsonNode> again = run.awaitWorkers(w -> ArbiterRun.allReady(w, 3), BOOT);
            assertThat(again.get(2).path("slot").asInt()).isEqualTo(3);
            assertThat(again.get(2).path("generation").asLong()).isEqualTo(1);

            // SIGTERM: everything exits, ChildExit ran for each worker, pid file removed
            long thirdAgain = again.get(2).path("pid").asLong();
            run.signal(Signal.SIGTERM);
            assertThat(run.awaitExit(Duration.ofSeconds(30))).isZero();
            assertThat(run.countLines(l -> l.contains("] event ChildExit"))).isEqualTo(4);
            for (long p : pids) {
                // published once per worker, by the app (which published PostWorkerInit, as an adapter does)
                run.awaitLine(l -> l.startsWith("[arbiter pid ") && l.endsWith("(pid " + p + ", generation 0) event WorkerExit"), BOOT);
                assertThat(run.countLines(l -> l.endsWith("(pid " + p + ", generation 0) event WorkerExit"))).isEqualTo(1);
            }
            assertThat(pidfile).doesNotExist();
            assertThat(ProcessHandle.of(thirdAgain).map(ProcessHandle::isAlive).orElse(false)).isFalse();
            for (long p : pids) {
                assertThat(ProcessHandle.of(p).map(ProcessHandle::isAlive).orElse(false)).as("worker %d gone", p).isFalse();
            }
        }
    }

    @Test
    void killNineUnderLoadRefusesNothingAndRefillsTheSlot() throws Exception {
        try (ArbiterRun run = ArbiterRun.start(options())) {
            List<Long> pids = run.awaitReady(2, BOOT);
            int loadThreads = 4;
            try (LoadLoop load = new LoadLoop(run.port, loadThreads)) {
                load.awaitSuccesses(200, 20_000);
                long killedAt = System.nanoTime();
                ArbiterRun.signal(pids.get(0), Signal.SIGKILL);
                List<JsonNode> after = run.awaitWorkers(w -> ArbiterRun.allReady(w, 2)
                        && w.get(0).path("pid").asLong() != pids.get(0), BOOT);
                long replacedMillis = (System.nanoTime() - killedAt) / 1_000_000;
                load.awaitSuccesses(200, 20_000);
                load.close();
                System.out.println("kill -9 -> replacement ready in " + replacedMillis + " ms; load " + load);
                JsonNode slot1 = after.get(0);
                assertThat(slot1.path("generation").asLong()).isEqualTo(1);
                assertThat(slot1.path("restarts").asInt()).isEqualTo(1);
                assertThat(slot1.path("lastExitStatus").asInt()).isEqualTo(137);
                assertThat(after.get(1).path("pid").asLong()).isEqualTo(pids.get(1));
                assertThat(load.refused.get()).as("refused connections: %s", load).isZero();
                assertThat(load.failed.get()).as("failures at most the in-flight requests on the killed worker: %s", load)
                        .isLessThanOrEqualTo(loadThreads);
                assertThat(load.byPid).containsKey(String.valueOf(slot1.path("pid").asLong()));
            }
            JsonNode status = run.status();
            assertThat(counts(status, "testapp.counter")).containsEntry("ChildExit", 1L).containsEntry("PreFork", 3L);
            JsonNode arbiter = status.path("details").path("arbiter");
            assertThat(arbiter.path("exitsByCause").toString()).isEqualTo("{\"EXITED\":1}");
            assertThat(arbiter.path("workers").get(0).path("previous").path("exitCause").asText()).isEqualTo("EXITED");
        }
    }

    @Test
    void sighupRollsEveryWorkerUnderLoadWithoutAFailedRequest() throws Exception {
        try (ArbiterRun run = ArbiterRun.start(options())) {
            List<Long> old = run.awaitReady(2, BOOT);
            try (LoadLoop load = new LoadLoop(run.port, 4)) {
                load.awaitSuccesses(200, 20_000);
                long hupAt = System.nanoTime();
                run.signal(Signal.SIGHUP);
                run.awaitWorkers(w -> ArbiterRun.allReady(w, 2)
                        && w.stream().allMatch(x -> x.path("generation").asLong() == 1), BOOT);
                run.awaitLine(l -> l.contains("rolling restart complete"), BOOT);
                for (long p : old) {
                    run.awaitLine(l -> l.contains("(pid " + p + ", generation 0) exited"), BOOT);
                }
                long rolledMillis = (System.nanoTime() - hupAt) / 1_000_000;
                load.awaitSuccesses(200, 20_000);
                load.close();
                System.out.println("SIGHUP -> both slots on generation 1 and old workers gone in " + rolledMillis + " ms; load " + load);
                assertThat(load.refused.get()).as("%s", load).isZero();
                assertThat(load.failed.get()).as("%s", load).isZero();
                assertThat(load.byPid.keySet()).hasSizeGreaterThanOrEqualTo(3);
            }
            assertThat(run.countLines(l -> l.contains("killing"))).as("no worker needed SIGKILL").isZero();
        }
    }

    @Test
    void sigtermLetsASlowRequestFinishAndEverythingExitsWithinTheGracefulTimeout() throws Exception {
        try (ArbiterRun run = ArbiterRun.start(options("--graceful-timeout", "10s"))) {
            List<Long> pids = run.awaitReady(2, BOOT);
            CompletableFuture<String> slow = CompletableFuture.supplyAsync(() -> {
                try {
                    return run.get("/slow?ms=2000");
                } catch (Exception e) {
                    return "failed: " + e;
                }
            });
            run.awaitLine(l -> l.contains("slow request started"), BOOT);
            long termAt = System.nanoTime();
            run.signal(Signal.SIGTERM);
            int code = run.awaitExit(Duration.ofSeconds(20));
            long stoppedMillis = (System.nanoTime() - termAt) / 1_000_000;
            System.out.println("SIGTERM with a 2 s request in flight -> arbiter exited in " + stoppedMillis + " ms");
            assertThat(code).isZero();
            assertThat(slow.get()).startsWith("pid=").contains("slept=2000");
            assertThat(stoppedMillis).as("within the graceful timeout").isLessThan(10_000);
            assertThat(run.countLines(l -> l.contains("killing"))).isZero();
            for (long p : pids) {
                assertThat(ProcessHandle.of(p).map(ProcessHandle::isAlive).orElse(false)).isFalse();
            }
        }
    }

    @Test
    void aWorkerWhoseHeartbeatsStopIsReplacedWithinTimeoutPlusTwoSeconds() throws Exception {
        try (ArbiterRun run = ArbiterRun.start(options("--timeout", "2s", "--abort-grace", "300ms"))) {
            List<Long> pids = run.awaitReady(2, BOOT);
            long hungAt = System.nanoTime();
            ArbiterRun.signal(pids.get(1), Signal.SIGSTOP); // heartbeats stop; the process stays
            run.awaitWorkers(w -> w.size() >= 2 && w.get(1).path("pid").asLong() != pids.get(1), Duration.ofSeconds(10));
            long replacedMillis = (System.nanoTime() - hungAt) / 1_000_000;
            List<JsonNode> after = run.awaitWorkers(w -> ArbiterRun.allReady(w, 2), BOOT);
            long readyMillis = (System.nanoTime() - hungAt) / 1_000_000;
            System.out.println("hung worker (timeout 2 s) -> replacement spawned after " + replacedMillis
                    + " ms, serving after " + readyMillis + " ms");
            assertThat(replacedMillis).isLessThan(2000 + 2000);
            assertThat(after.get(1).path("generation").asLong()).isEqualTo(1);
            assertThat(after.get(1).path("lastExitStatus").asInt()).isEqualTo(137);
            assertThat(run.output()).contains("no heartbeat for", "aborting it");
            JsonNode arbiter = run.status().path("details").path("arbiter");
            assertThat(arbiter.path("exitsByCause").path("HEARTBEAT_TIMEOUT").asLong()).isEqualTo(1);
            assertThat(arbiter.path("workers").get(1).path("previous").path("exitCause").asText())
                    .isEqualTo("HEARTBEAT_TIMEOUT");
            assertThat(ProcessHandle.of(pids.get(1)).map(ProcessHandle::isAlive).orElse(false)).isFalse();
        }
    }

    @Test
    void workersOfAKilledArbiterExitInsteadOfLingeringAsOrphans() throws Exception {
        try (ArbiterRun run = ArbiterRun.start(options())) {
            List<Long> pids = run.awaitReady(2, BOOT);
            run.signal(Signal.SIGKILL);
            run.awaitExit(Duration.ofSeconds(10));
            for (long p : pids) {
                ProcessHandle h = ProcessHandle.of(p).orElse(null);
                if (h != null) {
                    assertThat(h.onExit().get(15, java.util.concurrent.TimeUnit.SECONDS).isAlive()).isFalse();
                }
            }
        }
    }

    @Test
    void aFailingLivenessCheckStopsHeartbeatsAndTheWorkerIsReplaced() throws Exception {
        try (ArbiterRun run = ArbiterRun.start(options("--workers", "1", "--timeout", "1s", "--abort-grace", "300ms"))) {
            long pid = run.awaitReady(1, BOOT).get(0);
            assertThat(run.get("/stick")).contains("stuck pid=" + pid);
            List<JsonNode> after = run.awaitWorkers(w -> ArbiterRun.allReady(w, 1) && w.get(0).path("pid").asLong() != pid, BOOT);
            assertThat(after.get(0).path("generation").asLong()).isEqualTo(1);
            // the JVM was running, so SIGQUIT printed a thread dump before SIGKILL
            assertThat(run.output()).contains("no heartbeat for", "Full thread dump");
        }
    }

    @Test
    void aWorkerNotReadyWithinTheBootTimeoutIsReplacedWithBackoff() throws Exception {
        try (ArbiterRun run = ArbiterRun.start(options("--workers", "1", "--boot-timeout", "1500ms",
                "--abort-grace", "200ms", "--env", "TESTAPP_BOOT_DELAY_MS=60000"))) {
            run.awaitLine(l -> l.contains("(pid") && l.contains("generation 1)") && l.startsWith("[arbiter")
                    && l.contains("spawned"), Duration.ofSeconds(20));
            run.awaitLine(l -> l.contains("not ready within the boot timeout of 1500 ms"), BOOT);
            run.awaitLine(l -> l.contains("respawning worker-1 in 100 ms (2 quick failures in a row)"), Duration.ofSeconds(20));
            JsonNode slot = run.current(1);
            assertThat(slot.path("restarts").asInt()).isGreaterThanOrEqualTo(1);
        }
    }

    @Test
    void aPostForkHookThatThrowsHaltsTheArbiterInsteadOfLooping() throws Exception {
        try (ArbiterRun run = ArbiterRun.start(options("--env", "TESTAPP_FAIL_POSTFORK=true"))) {
            assertThat(run.port).isPositive();
            int code = run.awaitExit(Duration.ofSeconds(30));
            String out = run.output();
            assertThat(code).as(out).isEqualTo(3);
            assertThat(out).contains("boot error: a PostFork hook failed",
                    "testapp: PostFork hook fails on purpose",
                    "worker boot error", "Halting instead of respawning");
            assertThat(run.countLines(l -> l.contains("] spawned worker-"))).as(out).isLessThanOrEqualTo(2);
        }
    }
}
