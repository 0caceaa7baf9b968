package io.forksafe.arbiter;

import com.fasterxml.jackson.databind.JsonNode;
import jnr.constants.platform.Signal;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * {@code --standby}: a booted, idle worker that never accepts before its promotion, and is promoted at once when a
 * worker dies, with every event a serving worker gets, in order. Real arbiter and worker JVMs on 127.0.0.1.
 */
class StandbyProcessTest {

    private static final Duration BOOT = Duration.ofSeconds(40);

    private static List<JsonNode> rows(List<JsonNode> table, String role) {
        return table.stream().filter(w -> w.path("role").asText().equals(role)).toList();
    }

    private static boolean standbyBooted(List<JsonNode> table, long notPid) {
        return rows(table, "standby").stream().anyMatch(w -> w.path("state").asText().equals("standby")
                && w.path("pid").asLong() != notPid);
    }

    private static List<String> events(JsonNode row) {
        List<String> out = new ArrayList<>();
        row.path("events").forEach(e -> out.add(e.asText()));
        return out;
    }

    @Test
    void aStandbyServesNothingUntilAWorkerDiesThenTakesItsSlotWithItsEventsInOrderAndIsReplaced() throws Exception {
        try (ArbiterRun run = ArbiterRun.start(List.of("--workers", "2", "--standby", "1", "--bind", "127.0.0.1:0",
                "--status-port", "0"))) {
            List<JsonNode> table = run.awaitWorkers(t -> ArbiterRun.allReady(rows(t, "current"), 2)
                    && standbyBooted(t, -1), BOOT);
            List<Long> serving = rows(table, "current").stream().map(w -> w.path("pid").asLong()).toList();
            JsonNode standby = rows(table, "standby").get(0);
            long standbyPid = standby.path("pid").asLong();
            assertThat(serving).doesNotContain(standbyPid);
            assertThat(standby.path("slot").asInt()).isZero();
            // booted: PostFork ran; PostWorkerInit waits for the promotion
            assertThat(events(standby)).containsExactly("PostFork");

            // connections per pid: 60 requests, a new connection each; the standby answers none
            Map<Long, Integer> perPid = new HashMap<>();
            for (int i = 0; i < 60; i++) {
                long pid = Long.parseLong(TestHttp.fields(TestHttp.body(run.port, "/")).get("pid"));
                perPid.merge(pid, 1, Integer::sum);
            }
            System.out.println("FIGURE standby: connections per pid before the promotion " + perPid
                    + " (standby pid " + standbyPid + ")");
            assertThat(perPid).doesNotContainKey(standbyPid);
            assertThat(perPid.keySet()).isSubsetOf(serving);

            // the arbiter's own hooks: PreFork and PostForkParent for 2 workers and the standby
            Map<String, Long> arbiterCounts = ArbiterProcessTest.counts(run.status(), "testapp.counter");
            assertThat(arbiterCounts).containsEntry("PreFork", 3L).containsEntry("PostForkParent", 3L);

            long victim = run.current(1).path("pid").asLong();
            long generationBefore = run.current(1).path("generation").asLong();
            ArbiterRun.signal(victim, Signal.SIGKILL);
            List<JsonNode> after = run.awaitWorkers(t -> {
                JsonNode slot1 = t.stream().filter(w -> w.path("slot").asInt() == 1
                        && w.path("role").asText().equals("current")).findFirst().orElse(null);
                return slot1 != null && slot1.path("pid").asLong() == standbyPid
                        && slot1.path("state").asText().equals("ready") && standbyBooted(t, standbyPid);
            }, BOOT);
            JsonNode promoted = after.stream().filter(w -> w.path("slot").asInt() == 1
                    && w.path("role").asText().equals("current")).findFirst().orElseThrow();
            assertThat(promoted.path("generation").asLong()).isEqualTo(generationBefore + 1);
            assertThat(events(promoted)).containsExactly("PostFork", "PostWorkerInit");
            assertThat(promoted.path("previous").path("exitStatus").asInt()).isEqualTo(128 + 9);
            long refill = rows(after, "standby").get(0).path("pid").asLong();
            assertThat(refill).isNotIn(standbyPid, victim).isNotIn(serving);
            assertThat(run.output()).contains("promoted standby-1 (pid " + standbyPid + ") to worker-1 (pid "
                    + standbyPid + ", generation " + (generationBefore + 1) + ")");
            String ready = run.awaitLine(l -> l.contains("worker-1 (pid " + standbyPid) && l.contains(" ready in "),
                    BOOT);
            System.out.println("FIGURE standby: promotion -> ready: " + ready.substring(ready.indexOf("ready in")));

            // the promoted worker serves as worker-1 of the new generation, and its own hooks saw each event once
            TestHttp.waitFor(() -> {
                try {
                    Map<String, String> f = TestHttp.fields(TestHttp.body(run.port, "/"));
                    return f.get("pid").equals(String.valueOf(standbyPid));
                } catch (java.io.IOException e) {
                    return false;
                }
            }, BOOT, "a response from the promoted standby");
            JsonNode own = null;
            for (int i = 0; i < 200 && own == null; i++) {
                JsonNode s = ArbiterRun.parse(run.get("/status"));
                if (s.path("pid").asLong() == standbyPid) {
                    own = s;
                }
            }
            assertThat(own).as("the promoted worker's own status").isNotNull();
            assertThat(ArbiterProcessTest.counts(own, "testapp.counter")).containsEntry("PostFork", 1L)
                    .containsEntry("PostWorkerInit", 1L).containsEntry("WorkerExit", 0L);
            JsonNode me = own.path("details").path("arbiterWorker");
            assertThat(me.path("slot").asInt()).isEqualTo(1);
            assertThat(me.path("generation").asLong()).isEqualTo(generationBefore + 1);
            assertThat(me.path("role").asText()).isEqualTo("serving");
            Map<String, Long> after2 = ArbiterProcessTest.counts(run.status(), "testapp.counter");
            assertThat(after2).containsEntry("PreFork", 4L).containsEntry("ChildExit", 1L);
        }
    }
}
