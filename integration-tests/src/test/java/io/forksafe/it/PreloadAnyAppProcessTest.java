package io.forksafe.it;

import static io.forksafe.arbiter.TestHttp.body;
import static io.forksafe.arbiter.TestHttp.freePort;
import static org.assertj.core.api.Assertions.assertThat;

import io.forksafe.ForkRegistry;
import io.forksafe.arbiter.Arbiter;
import io.forksafe.arbiter.Criu;
import io.forksafe.arbiter.InProcessArbiter;
import io.forksafe.demo.JettyWorkerApp;
import io.forksafe.demo.TomcatWorkerApp;
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
    @ValueSource(classes = {JettyWorkerApp.class, UndertowWorkerApp.class, TomcatWorkerApp.class})
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
                // kill() returns before every thread stopped: a thread of the copy could still accept a connection
                io.forksafe.arbiter.TestHttp.awaitStopped(pid);
                // 20 requests at once: a stopped copy's blocked accept() may take the kernel's wake-up for one new
                // connection (as a hung worker would); the next connection wakes the other copy, which accepts both
                java.util.concurrent.ExecutorService clients = java.util.concurrent.Executors.newFixedThreadPool(20);
                try {
                    List<java.util.concurrent.Future<String>> replies = new java.util.ArrayList<>();
                    for (int i = 0; i < 20; i++) {
                        replies.add(clients.submit(() -> body(port, "/")));
                    }
                    long other = copies.get(1 - stopped).pid();
                    for (var r : replies) {
                        try {
                            assertThat(r.get(30, java.util.concurrent.TimeUnit.SECONDS))
                                    .as("copy %d stopped: the other one serves", stopped + 1)
                                    .startsWith("hello from pid");
                        } catch (java.util.concurrent.ExecutionException e) {
                            throw new AssertionError("copy " + (stopped + 1) + " stopped, the other one (pid " + other
                                    + ") did not answer: " + e.getCause() + "; " + describe(other) + "\nstopped " + describe(pid)
                                    + "\n" + listenQueue(port) + "\n"
                                    + p.output(), e);
                        }
                    }
                } finally {
                    clients.shutdownNow();
                    signal(pid, jnr.constants.platform.Signal.SIGCONT);
                }
            }
            assertThat(p.output()).as("the template serves a private socket, the copies the arbiter's")
                    .containsAnyOf("adopted", "serves the forksafe arbiter's listening socket"); // Jetty, Undertow; Tomcat
        }
    }

    private static void signal(long pid, jnr.constants.platform.Signal signal) {
        assertThat(io.forksafe.arbiter.internal.Libc.get().kill((int) pid, signal.intValue()))
                .as("kill -%s %d", signal.name(), pid).isZero();
    }

    /** The copy's sockets, epoll registrations and threads (state, syscall), for a failure message. */
    private static String describe(long pid) {
        StringBuilder b = new StringBuilder("pid " + pid + ":");
        try (var fds = java.nio.file.Files.list(java.nio.file.Path.of("/proc/" + pid + "/fd"))) {
            for (var fd : fds.toList()) {
                String link = java.nio.file.Files.readSymbolicLink(fd).toString();
                if (link.startsWith("socket:") || link.contains("eventpoll")) {
                    b.append(" fd ").append(fd.getFileName()).append("=").append(link);
                }
                if (link.contains("eventpoll")) {
                    for (String l : java.nio.file.Files.readAllLines(java.nio.file.Path.of("/proc/" + pid + "/fdinfo/"
                            + fd.getFileName()))) {
                        if (l.startsWith("tfd:")) {
                            b.append(" [").append(l.replaceAll("\\s+", " ")).append("]");
                        }
                    }
                }
            }
            try (var tasks = java.nio.file.Files.list(java.nio.file.Path.of("/proc/" + pid + "/task"))) {
                for (var t : tasks.toList()) {
                    String comm = java.nio.file.Files.readString(t.resolve("comm")).strip();
                    String sc = java.nio.file.Files.readString(t.resolve("syscall")).strip();
                    if (comm.contains("qtp") || comm.contains("XNIO") || comm.contains("accept") || sc.startsWith("43 ")
                            || sc.startsWith("288 ") || sc.startsWith("232 ") || sc.startsWith("281 ")) {
                        b.append("\n  thread ").append(comm).append(": ").append(sc.split(" ")[0]).append(" ")
                                .append(sc.split(" ").length > 1 ? sc.split(" ")[1] : "");
                    }
                }
            }
        } catch (java.io.IOException e) {
            b.append(" (").append(e).append(")");
        }
        return b.toString();
    }

    /** The LISTEN rows for {@code port} in /proc/net/tcp{,6}: the accept queue length is the rx_queue. */
    private static String listenQueue(int port) {
        StringBuilder b = new StringBuilder("listen rows:");
        for (String t : List.of("/proc/net/tcp", "/proc/net/tcp6")) {
            try {
                for (String l : java.nio.file.Files.readAllLines(java.nio.file.Path.of(t))) {
                    String[] f = l.trim().split("\\s+");
                    if (f.length > 4 && f[3].equals("0A") && f[1].endsWith(":" + String.format("%04X", port))) {
                        b.append(" ").append(f[1]).append(" tx:rx=").append(f[4]);
                    }
                }
            } catch (java.io.IOException e) {
                b.append(" ").append(e);
            }
        }
        return b.toString();
    }

}
