package io.forksafe.it;

import static io.forksafe.arbiter.TestHttp.body;
import static io.forksafe.arbiter.TestHttp.freePort;
import static org.assertj.core.api.Assertions.assertThat;

import io.forksafe.ForkRegistry;
import io.forksafe.arbiter.Arbiter;
import io.forksafe.arbiter.Criu;
import io.forksafe.arbiter.InProcessArbiter;
import io.forksafe.demo.JettyWorkerApp;
import io.forksafe.demo.UndertowWorkerApp;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.util.List;

/**
 * Apps written for the spawn mode run with {@code --preload} unchanged (issue #14): the template is started through
 * the worker bootstrap, forksafe-jetty and forksafe-undertow serve the socket it passes, and each restored copy
 * accepts from the arbiter's one socket. Proof that each copy serves it: with one copy SIGSTOPped, every request is
 * answered by the other, and the other way round (a copy that kept the template's socket, or whose server never saw
 * the swap, would leave requests hanging in the shared queue while its partner is stopped). Skipped, with the reason
 * printed, where CRIU cannot run.
 */
@Timeout(180)
class PreloadAnyAppProcessTest {

    @BeforeAll
    static void criuUsable() {
        var reason = Criu.unavailableReason();
        reason.ifPresent(r -> System.out.println("PreloadAnyAppProcessTest skipped: " + r));
        Assumptions.assumeTrue(reason.isEmpty(), () -> reason.orElse(""));
    }

    @ParameterizedTest
    @ValueSource(classes = {JettyWorkerApp.class, UndertowWorkerApp.class})
    void aSpawnModeAppServesFromEveryRestoredCopy(Class<?> app) throws Exception {
        int port = freePort();
        String classpath = ProcessSupport.demoClasspath();
        try (InProcessArbiter p = new InProcessArbiter(InProcessArbiter.preload(port, app.getName(), List.of(),
                b -> b.classpath(classpath)), new ForkRegistry("preload-" + app.getSimpleName())).start()) {
            List<Arbiter.WorkerStatus> copies = p.awaitReady(2);
            p.arbiterStatus().path("workers").forEach(row -> assertThat(row.path("kind").asText()).isEqualTo("RESTORE"));
            for (int stopped = 0; stopped < 2; stopped++) {
                long pid = copies.get(stopped).pid();
                signal(pid, jnr.constants.platform.Signal.SIGSTOP);
                try {
                    for (int i = 0; i < 20; i++) {
                        assertThat(body(port, "/")).as("copy %d stopped: the other one serves", stopped + 1)
                                .startsWith("hello from pid");
                    }
                } finally {
                    signal(pid, jnr.constants.platform.Signal.SIGCONT);
                }
            }
            assertThat(p.output()).as("the template serves a private socket, the copies the arbiter's")
                    .contains("adopted");
        }
    }

    private static void signal(long pid, jnr.constants.platform.Signal signal) {
        assertThat(io.forksafe.arbiter.internal.NativePosix.get().kill((int) pid, signal.intValue()))
                .as("kill -%s %d", signal.name(), pid).isZero();
    }
}
