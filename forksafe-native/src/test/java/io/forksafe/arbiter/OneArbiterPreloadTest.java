package io.forksafe.arbiter;

import static io.forksafe.arbiter.TestHttp.firstResponsePerSlot;
import static io.forksafe.arbiter.TestHttp.freePort;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;

import io.forksafe.ForkRegistry;
import io.forksafe.arbiter.testapp.PreloadApp;

import java.time.Duration;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * One arbiter, two worker sources: {@code Arbiter.create(config.preload(true))} restores copies of one checkpointed
 * template (real CRIU) and supervises them as it supervises spawned workers: status rows of kind RESTORE,
 * heartbeats (a SIGSTOPped copy is replaced), a killed copy restored again, and a reload that checkpoints a new
 * template and rolls every slot onto it.
 */
@Timeout(240)
class OneArbiterPreloadTest {

    @BeforeAll
    static void criuUsable() {
        var reason = Criu.unavailableReason();
        reason.ifPresent(r -> System.out.println("OneArbiterPreloadTest skipped: " + r));
        Assumptions.assumeTrue(reason.isEmpty(), () -> reason.orElse(""));
    }

    private static InProcessArbiter arbiter(int port, String... appArgs) {
        List<String> args = new java.util.ArrayList<>(List.of(String.valueOf(port)));
        args.addAll(List.of(appArgs));
        return new InProcessArbiter(InProcessArbiter.preload(port, PreloadApp.class.getName(), args,
                b -> b.timeout(Duration.ofSeconds(2))), new ForkRegistry("one-arbiter-preload"));
    }

    private static boolean ready(List<Arbiter.WorkerStatus> ws, int n) {
        return InProcessArbiter.ready(ws, n);
    }

    @Test
    void createdFromCodeItRestoresCopiesAndSupervisesThemLikeSpawnedWorkers() throws Exception {
        int port = freePort();
        InProcessArbiter p = arbiter(port, "hooks");
        Arbiter a = p.arbiter;
        try {
            p.start();
            List<Arbiter.WorkerStatus> ws = p.awaitReady(2);
            Map<Integer, Map<String, String>> bySlot = firstResponsePerSlot(port, 2);
            assertThat(bySlot.get(1).get("kind")).isEqualTo("RESTORE");
            assertThat(bySlot.get(1).get("pid")).isEqualTo(String.valueOf(ws.get(0).pid()));
            assertThat(bySlot.get(1).get("startup")).isNotEqualTo(bySlot.get(2).get("startup"));

            JsonNode arbiter = p.arbiterStatus();
            assertThat(arbiter.path("workerSource").asText()).isEqualTo("restore");
            assertThat(arbiter.path("preload").path("dumpMillis").asLong()).isPositive();
            assertThat(arbiter.path("preload").path("imageBytes").asLong()).isPositive();
            assertThat(arbiter.path("workers")).allSatisfy(w -> {
                assertThat(w.path("kind").asText()).isEqualTo("RESTORE");
                assertThat(w.path("heartbeatAgeMillis").isNumber()).as("%s", w).isTrue();
                assertThat(w.path("events").toString()).contains("PostFork", "PostWorkerInit");
            });

            // a hung copy (SIGSTOP) stops beating: aborted and restored again within --timeout + 2 s
            long stopped = ws.get(0).pid();
            ArbiterRun.signal(stopped, jnr.constants.platform.Signal.SIGSTOP);
            long t0 = System.nanoTime();
            List<Arbiter.WorkerStatus> after = p.await(w -> ready(w, 2) && w.get(0).pid() != stopped,
                    "the stopped copy replaced");
            long replacedMillis = (System.nanoTime() - t0) / 1_000_000;
            assertThat(after.get(0).generation()).isEqualTo(1);
            assertThat(p.output()).contains("no heartbeat for");
            System.out.println("SIGSTOP -> replaced by restore in " + replacedMillis + " ms");

            // kill -9: the slot comes back by restore
            long killed = after.get(1).pid();
            ArbiterRun.signal(killed, jnr.constants.platform.Signal.SIGKILL);
            p.await(w -> ready(w, 2) && w.get(1).pid() != killed && w.get(1).generation() == 1,
                    "the killed copy restored");

            // reload: a new template is checkpointed, then every slot rolls onto it (new pid, new generation)
            List<Long> before = a.workers().stream().map(Arbiter.WorkerStatus::pid).toList();
            a.reload();
            List<Arbiter.WorkerStatus> rolled = p.await(w -> ready(w, 2)
                    && w.stream().noneMatch(x -> before.contains(x.pid())), "every slot rolled");
            assertThat(rolled).extracting(Arbiter.WorkerStatus::generation).containsExactly(2L, 2L);
            assertThat(p.arbiterStatus().path("preload").path("imageGeneration").asInt()).isEqualTo(1);
        } finally {
            p.close();
        }
        assertThat(a.join()).as(p.output()).isZero();
    }
}
