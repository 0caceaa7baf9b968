package io.forksafe.it;

import static io.forksafe.it.StandbyUnderLoadProcessTest.serving;
import static io.forksafe.it.StandbyUnderLoadProcessTest.slot;
import static io.forksafe.it.StandbyUnderLoadProcessTest.standbys;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import io.forksafe.ForkRegistry;
import io.forksafe.arbiter.Arbiter;
import io.forksafe.arbiter.ArbiterConfig;
import io.forksafe.arbiter.InProcessArbiter;
import io.forksafe.arbiter.LoadLoop;
import io.forksafe.arbiter.TestHttp;
import io.forksafe.arbiter.internal.Libc;
import io.forksafe.demo.TomcatWorkerApp;

import jnr.constants.platform.Signal;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * {@code io.forksafe.demo.TomcatWorkerApp} as real worker JVMs of the arbiter, on one shared port of 127.0.0.1. One
 * arbiter run ({@code --workers 2 --standby 1}) checks, in order: both workers serve the inherited socket and report
 * "Tomcat hook configured"; the standby takes no connection before its promotion; kill -9 of a worker under load
 * (SIGSTOPped first, so its in-flight connections can be counted) fails at most those and promotes the standby; a
 * SIGHUP roll under load refuses and fails nothing. A worker whose connector cannot serve the inherited socket halts
 * the arbiter with exit code 3 and the fix.
 */
@Timeout(240)
class TomcatWorkerAppProcessTest {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final int CLIENTS = 6;

    @Test
    void tomcatWorkersServeSurviveKillNinePromoteTheStandbyAndRollWithoutAFailure() throws Exception {
        int port = TestHttp.freePort();
        ArbiterConfig.Builder config = ArbiterConfig.builder().workers(2).standby(1).bind("127.0.0.1:" + port)
                .app(TomcatWorkerApp.class.getName(), List.of()).classpath(ProcessSupport.demoClasspath())
                .jvmOptions(InProcessArbiter.FAST_JVM).bootTimeout(Duration.ofSeconds(60))
                .gracefulTimeout(Duration.ofSeconds(5)).statusPort(0);
        long t0 = System.nanoTime();
        try (InProcessArbiter p = new InProcessArbiter(config, new ForkRegistry("tomcat-arbiter-test")).start()) {
            List<Arbiter.WorkerStatus> ws = p.await(w -> serving(w) && standbys(w).size() == 1,
                    "2 Tomcat workers serving and a booted standby");
            long startMillis = (System.nanoTime() - t0) / 1_000_000;
            long standby = standbys(ws).get(0).pid();
            long victim = slot(ws, 1).pid();

            // each serving worker's own status, through the shared port
            Map<Long, JsonNode> workerStatus = new HashMap<>();
            long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
            while (workerStatus.size() < 2 && System.nanoTime() < deadline) {
                JsonNode s = JSON.readTree(TestHttp.body(port, "/forksafe/status"));
                workerStatus.put(s.path("pid").asLong(), s);
            }
            assertThat(workerStatus.keySet()).containsExactlyInAnyOrder(victim, slot(ws, 2).pid());
            for (JsonNode s : workerStatus.values()) {
                assertThat(s.path("status").asText()).as("%s", s).isEqualTo("Tomcat hook configured");
                assertThat(s.path("details").path("tomcat").path("arbiterSocket").asText()).contains(":" + port);
                assertThat(s.path("details").path("tomcat").path("executor").path("threads").path("threadsCreated")
                        .asLong()).isPositive();
            }

            try (LoadLoop load = new LoadLoop(port, CLIENTS, LoadLoop.PID_SPACE)) {
                load.awaitSuccesses(300, 30_000);
                assertThat(load.byPid).as("the standby serves nothing before its promotion: %s", load)
                        .doesNotContainKey(String.valueOf(standby));
                Libc.get().kill((int) victim, Signal.SIGSTOP.intValue());
                TestHttp.awaitStopped(victim);
                int inFlight = TestHttp.establishedConnections(port, victim);
                long killedAt = System.nanoTime();
                Libc.get().kill((int) victim, Signal.SIGKILL.intValue());
                TestHttp.waitFor(() -> load.byPid.containsKey(String.valueOf(standby)), Duration.ofSeconds(30),
                        "a response from the promoted standby");
                long servingMillis = (System.nanoTime() - killedAt) / 1_000_000;
                p.await(w -> slot(w, 1) != null && slot(w, 1).pid() == standby && slot(w, 1).state().equals("ready")
                        && standbys(w).size() == 1 && standbys(w).get(0).pid() != standby,
                        "the standby promoted and a new one booted");
                load.awaitSuccesses(load.success.get() + 300, 30_000);
                load.close();
                System.out.printf("FIGURE tomcat: arbiter start -> 2 workers + standby in %d ms; kill -9 -> first "
                        + "response from the promoted standby %d ms; the victim held %d connection(s); %s%n",
                        startMillis, servingMillis, inFlight, load);
                assertThat(load.refused.get()).as("%s", load).isZero();
                assertThat(load.failed.get()).as("at most the killed worker's in-flight requests (%d): %s", inFlight,
                        load).isLessThanOrEqualTo(inFlight);
            }

            List<Long> before = p.arbiter.workers().stream().map(Arbiter.WorkerStatus::pid).toList();
            try (LoadLoop load = new LoadLoop(port, 4, LoadLoop.PID_SPACE)) {
                load.awaitSuccesses(300, 30_000);
                p.arbiter.reload();
                p.await(w -> serving(w) && standbys(w).size() == 1
                        && w.stream().noneMatch(x -> before.contains(x.pid()))
                        && before.stream().noneMatch(pid -> ProcessHandle.of(pid).map(ProcessHandle::isAlive)
                        .orElse(false)), "every worker and the standby replaced by SIGHUP, the old ones exited");
                load.awaitSuccesses(load.success.get() + 300, 30_000);
                load.close();
                System.out.println("FIGURE tomcat SIGHUP roll: " + load);
                assertThat(load.refused.get()).as("%s", load).isZero();
                assertThat(load.failed.get()).as("%s; failures %s", load, load.failures).isZero();
            }
        }
    }

    @Test
    void aTomcatWorkerWhoseConnectorCannotServeTheSocketHaltsTheArbiterWithExit3AndTheFix() throws Exception {
        try (ArbiterProcess arbiter = ArbiterProcess.start(List.of(), TomcatWorkerApp.class.getName(),
                "--protocol", "nio2")) {
            assertThat(arbiter.run.awaitExit(Duration.ofSeconds(60))).as(arbiter.run.output()).isEqualTo(3);
            assertThat(arbiter.run.output()).contains("cannot serve an inherited channel")
                    .contains("Use the NIO protocol").contains("worker boot error");
        }
    }
}
