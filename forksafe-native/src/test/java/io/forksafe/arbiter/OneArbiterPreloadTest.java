package io.forksafe.arbiter;

import static io.forksafe.arbiter.TestHttp.firstResponsePerSlot;
import static io.forksafe.arbiter.TestHttp.freePort;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;

import io.forksafe.ForkRegistry;
import io.forksafe.arbiter.testapp.PreloadApp;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.function.Predicate;

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

    private static Arbiter arbiter(int port, ByteArrayOutputStream console, String... appArgs) {
        PrintStream out = new PrintStream(console, true, StandardCharsets.UTF_8);
        List<String> args = new java.util.ArrayList<>(List.of(String.valueOf(port)));
        args.addAll(List.of(appArgs));
        return Arbiter.create(ArbiterConfig.builder()
                .preload(true)
                .workers(2)
                .bind("127.0.0.1:" + port)
                .app(PreloadApp.class.getName(), args.toArray(String[]::new))
                .jvmOptions(List.of("-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1", "-Xshare:auto"))
                .timeout(Duration.ofSeconds(2))
                .bootTimeout(Duration.ofSeconds(60))
                .gracefulTimeout(Duration.ofSeconds(5))
                .statusPort(0)
                .console(out, out)
                .build(), new ForkRegistry("one-arbiter-preload"));
    }

    private static List<Arbiter.WorkerStatus> await(Arbiter a, ByteArrayOutputStream console,
                                                    Predicate<List<Arbiter.WorkerStatus>> p) throws Exception {
        long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
        List<Arbiter.WorkerStatus> ws = a.workers();
        while (!p.test(ws) && System.nanoTime() < deadline) {
            Thread.sleep(25);
            ws = a.workers();
        }
        assertThat(p.test(ws)).as("workers %s; output:%n%s", ws, console.toString(StandardCharsets.UTF_8)).isTrue();
        return ws;
    }

    private static boolean ready(List<Arbiter.WorkerStatus> ws, int n) {
        return ws.size() == n && ws.stream().allMatch(w -> w.state().equals("ready"));
    }

    private static JsonNode status(Arbiter a) throws Exception {
        return ArbiterRun.parse(TestHttp.body(a.statusAddress().getPort(), "/"));
    }

    @Test
    void createdFromCodeItRestoresCopiesAndSupervisesThemLikeSpawnedWorkers() throws Exception {
        int port = freePort();
        ByteArrayOutputStream console = new ByteArrayOutputStream();
        Arbiter a = arbiter(port, console, "hooks");
        try {
            a.start();
            List<Arbiter.WorkerStatus> ws = await(a, console, w -> ready(w, 2));
            Map<Integer, Map<String, String>> bySlot = firstResponsePerSlot(port, 2);
            assertThat(bySlot.get(1).get("kind")).isEqualTo("RESTORE");
            assertThat(bySlot.get(1).get("pid")).isEqualTo(String.valueOf(ws.get(0).pid()));
            assertThat(bySlot.get(1).get("startup")).isNotEqualTo(bySlot.get(2).get("startup"));

            JsonNode s = status(a);
            JsonNode arbiter = s.path("details").path("arbiter");
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
            List<Arbiter.WorkerStatus> after = await(a, console, w -> ready(w, 2) && w.get(0).pid() != stopped);
            long replacedMillis = (System.nanoTime() - t0) / 1_000_000;
            assertThat(after.get(0).generation()).isEqualTo(1);
            assertThat(console.toString(StandardCharsets.UTF_8)).contains("no heartbeat for");
            System.out.println("SIGSTOP -> replaced by restore in " + replacedMillis + " ms");

            // kill -9: the slot comes back by restore
            long killed = after.get(1).pid();
            ArbiterRun.signal(killed, jnr.constants.platform.Signal.SIGKILL);
            await(a, console, w -> ready(w, 2) && w.get(1).pid() != killed && w.get(1).generation() == 1);

            // reload: a new template is checkpointed, then every slot rolls onto it (new pid, new generation)
            List<Long> before = a.workers().stream().map(Arbiter.WorkerStatus::pid).toList();
            a.reload();
            List<Arbiter.WorkerStatus> rolled = await(a, console, w -> ready(w, 2)
                    && w.stream().noneMatch(x -> before.contains(x.pid())));
            assertThat(rolled).extracting(Arbiter.WorkerStatus::generation).containsExactly(2L, 2L);
            assertThat(status(a).path("details").path("arbiter").path("preload").path("imageGeneration").asInt())
                    .isEqualTo(1);
        } finally {
            a.stop();
            assertThat(a.join(Duration.ofSeconds(30))).isTrue();
        }
        assertThat(a.join()).as(console.toString(StandardCharsets.UTF_8)).isZero();
    }
}
