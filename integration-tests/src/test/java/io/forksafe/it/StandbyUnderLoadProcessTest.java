package io.forksafe.it;

import com.fasterxml.jackson.databind.JsonNode;
import io.forksafe.ForkRegistry;
import io.forksafe.arbiter.Arbiter;
import io.forksafe.arbiter.ArbiterConfig;
import io.forksafe.arbiter.Criu;
import io.forksafe.arbiter.InProcessArbiter;
import io.forksafe.arbiter.LoadLoop;
import io.forksafe.arbiter.TestHttp;
import io.forksafe.demo.JettyPreloadApp;
import io.forksafe.demo.JettyWorkerApp;
import io.forksafe.arbiter.internal.Libc;
import jnr.constants.platform.Signal;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * {@code --standby 1} with Jetty under load, in both modes (issue #16): the standby serves no connection before its
 * promotion (counted per pid); kill -9 of a worker promotes it at once into the slot, with PostFork (at its boot) and
 * PostWorkerInit (at the promotion) in that order; no request fails beyond the killed worker's in-flight ones; a new
 * standby boots. The worker is SIGSTOPped before the kill so that its in-flight connections can be counted.
 */
@Timeout(240)
class StandbyUnderLoadProcessTest {

    private static final List<String> JVM = List.of("-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1");
    private static final int CLIENTS = 6;

    private static InProcessArbiter arbiter(int port, boolean preload, ForkRegistry registry) throws Exception {
        String app = preload ? JettyPreloadApp.class.getName() : JettyWorkerApp.class.getName();
        List<String> args = preload ? List.of("--port", String.valueOf(port), "--fix") : List.of();
        ArbiterConfig.Builder b = ArbiterConfig.builder().preload(preload).workers(2).standby(1)
                .bind("127.0.0.1:" + port).app(app, args).classpath(ProcessSupport.demoClasspath()).jvmOptions(JVM)
                .bootTimeout(Duration.ofSeconds(60)).gracefulTimeout(Duration.ofSeconds(5)).statusPort(0);
        return new InProcessArbiter(b, registry).start();
    }

    static Arbiter.WorkerStatus slot(List<Arbiter.WorkerStatus> ws, int n) {
        return ws.stream().filter(w -> w.slot() == n).findFirst().orElse(null);
    }

    static List<Arbiter.WorkerStatus> standbys(List<Arbiter.WorkerStatus> ws) {
        return ws.stream().filter(w -> w.state().equals("standby")).toList();
    }

    static boolean serving(List<Arbiter.WorkerStatus> ws) {
        return slot(ws, 1) != null && slot(ws, 1).state().equals("ready")
                && slot(ws, 2) != null && slot(ws, 2).state().equals("ready");
    }

    @Test
    void spawnMode() throws Exception {
        killUnderLoadPromotesTheStandby(false);
    }

    @Test
    void preloadMode() throws Exception {
        var reason = Criu.unavailableReason();
        reason.ifPresent(r -> System.out.println("StandbyUnderLoadProcessTest.preloadMode skipped: " + r));
        Assumptions.assumeTrue(reason.isEmpty(), () -> reason.orElse(""));
        killUnderLoadPromotesTheStandby(true);
    }

    private void killUnderLoadPromotesTheStandby(boolean preload) throws Exception {
        String mode = preload ? "preload" : "spawn";
        int port = TestHttp.freePort();
        ForkRegistry registry = new ForkRegistry("standby-test");
        java.util.concurrent.atomic.AtomicLong childExitNanos = new java.util.concurrent.atomic.AtomicLong();
        registry.subscribe(io.forksafe.ChildExit.class, e -> childExitNanos.compareAndSet(0, System.nanoTime()));
        try (InProcessArbiter p = arbiter(port, preload, registry)) {
            List<Arbiter.WorkerStatus> ws = p.await(w -> serving(w) && standbys(w).size() == 1,
                    "2 workers serving and a booted standby");
            long standby = standbys(ws).get(0).pid();
            long victim = slot(ws, 1).pid();
            long generation = slot(ws, 1).generation();
            Pattern pid = preload ? LoadLoop.PID_EQUALS : LoadLoop.PID_SPACE;
            try (LoadLoop load = new LoadLoop(port, CLIENTS, pid)) {
                load.awaitSuccesses(300, 30_000);
                assertThat(load.byPid).as("connections per pid before the promotion: %s", load)
                        .doesNotContainKey(String.valueOf(standby));
                Libc.get().kill((int) victim, Signal.SIGSTOP.intValue());
                TestHttp.awaitStopped(victim);
                int inFlight = TestHttp.establishedConnections(port, victim);
                long killedAt = System.nanoTime();
                Libc.get().kill((int) victim, Signal.SIGKILL.intValue());
                TestHttp.waitFor(() -> load.byPid.containsKey(String.valueOf(standby)), Duration.ofSeconds(30),
                        "a response from the promoted standby");
                long servingMillis = (System.nanoTime() - killedAt) / 1_000_000;
                List<Arbiter.WorkerStatus> after = p.await(w -> slot(w, 1) != null && slot(w, 1).pid() == standby
                        && slot(w, 1).state().equals("ready") && standbys(w).size() == 1
                        && standbys(w).get(0).pid() != standby, "the standby promoted and a new one booted");
                long successes = load.success.get();
                load.awaitSuccesses(successes + 300, 30_000);
                load.close();
                System.out.printf("FIGURE %s + standby: kill -9 -> first response from the promoted standby %d ms; "
                        + "kill -9 -> the arbiter's ChildExit %.1f ms; the victim held %d connection(s); %s%n", mode,
                        servingMillis, (childExitNanos.get() - killedAt) / 1e6, inFlight, load);
                assertThat(load.refused.get()).as("%s", load).isZero();
                assertThat(childExitNanos.get()).as("the arbiter's ChildExit for the killed worker").isGreaterThan(killedAt);
                assertThat(load.failed.get()).as("at most the killed worker's in-flight requests (%d): %s", inFlight,
                        load).isLessThanOrEqualTo(inFlight);
                assertThat(slot(after, 1).generation()).isEqualTo(generation + 1);
                assertThat(standbys(after).get(0).pid()).isNotIn(victim, standby);
            }
            JsonNode row = null;
            for (JsonNode w : p.arbiterStatus().path("workers")) {
                if (w.path("slot").asInt() == 1 && w.path("role").asText().equals("current")) {
                    row = w;
                }
            }
            assertThat(row).isNotNull();
            List<String> events = new ArrayList<>();
            row.path("events").forEach(e -> events.add(e.asText()));
            assertThat(events).as("the promoted worker's events, in order").containsExactly("PostFork", "PostWorkerInit");
            assertThat(p.output()).contains("promoted standby-1");
            p.output().lines().filter(l -> l.contains("exited with") || l.contains("promoted") || l.contains("ready in")
                    || l.contains("booted as a standby")).forEach(l -> System.out.println("FIGURE " + mode + " log: " + l));
        }
    }
}
