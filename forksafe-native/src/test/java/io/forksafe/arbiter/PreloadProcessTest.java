package io.forksafe.arbiter;

import static io.forksafe.arbiter.TestHttp.body;
import static io.forksafe.arbiter.TestHttp.fields;
import static io.forksafe.arbiter.TestHttp.firstResponsePerSlot;
import static io.forksafe.arbiter.TestHttp.freePort;
import static io.forksafe.arbiter.TestHttp.waitFor;

import io.forksafe.ChildExit;
import io.forksafe.ForkRegistry;
import io.forksafe.PostForkParent;
import io.forksafe.PreFork;
import io.forksafe.WorkerKind;
import io.forksafe.arbiter.testapp.PreloadApp;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.ConnectException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The preload mode with real processes: one template JVM checkpointed by CRIU and restored as copies, each in its own
 * pid namespace, serving on 127.0.0.1 with SO_REUSEPORT. Skipped, with the reason printed, where CRIU cannot run.
 */
@Timeout(180)
class PreloadProcessTest {

    @BeforeAll
    static void criuUsable() {
        var reason = Criu.unavailableReason();
        reason.ifPresent(r -> System.out.println("PreloadProcessTest skipped: " + r));
        Assumptions.assumeTrue(reason.isEmpty(), () -> reason.orElse(""));
    }

    static Preloader preloader(int port, String... appArgs) {
        List<String> args = new ArrayList<>(List.of(String.valueOf(port)));
        args.addAll(List.of(appArgs));
        return Preloader.builder()
                .jvmOptions(List.of("-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1", "-Xshare:auto"))
                .mainClass(PreloadApp.class.getName())
                .args(args.toArray(String[]::new))
                .bootTimeout(Duration.ofSeconds(60))
                .registry(new ForkRegistry("preloader-test"))
                .build();
    }

    @Test
    void withoutHooksTwoRestoredCopiesAreClonesServingIdenticalValues() throws Exception {
        int port = freePort();
        try (Preloader p = preloader(port, "none").start()) {
            p.keep(2);
            Map<Integer, Map<String, String>> bySlot = firstResponsePerSlot(port, 2);
            Map<String, String> a = bySlot.get(1);
            Map<String, String> b = bySlot.get(2);
            System.out.println("trap: slot 1 " + a + "\ntrap: slot 2 " + b);
            assertThat(a.get("startup")).isEqualTo(b.get("startup"));     // same Random value and same UUID
            assertThat(a.get("next")).isEqualTo(b.get("next"));           // and the same Random sequence
            assertThat(a.get("kind")).isEqualTo("RESTORE");
            assertThat(a.get("pid")).isNotEqualTo(b.get("pid"));          // distinct host pids
        }
    }

    @Test
    void withTheReseedHookAndForkLocalTheCopiesDiffer() throws Exception {
        int port = freePort();
        ForkRegistry parent;
        try (Preloader p = preloader(port, "hooks").start()) {
            p.keep(2);
            Map<Integer, Map<String, String>> bySlot = firstResponsePerSlot(port, 2);
            Map<String, String> a = bySlot.get(1);
            Map<String, String> b = bySlot.get(2);
            System.out.println("fix: slot 1 " + a + "\nfix: slot 2 " + b);
            assertThat(a.get("startup")).isNotEqualTo(b.get("startup"));
            assertThat(a.get("startup").split(",")[1]).isNotEqualTo(b.get("startup").split(",")[1]);
            assertThat(a.get("next")).isNotEqualTo(b.get("next"));
            assertThat(List.of(a.get("generation"), b.get("generation"))).containsOnly("0");
            // a hook subscribed in main, after the template's PostFork, saw each copy's own PostFork exactly once
            assertThat(List.of(a.get("postForksSeenInMain"), b.get("postForksSeenInMain"))).containsOnly("1");
            assertThat(p.copies()).extracting(Preloader.Copy::hostPid)
                    .containsExactlyInAnyOrder(Long.parseLong(a.get("pid")), Long.parseLong(b.get("pid")));
        }
    }

    @Test
    void killNineUnderLoadTheSlotIsBackByRestoreWithZeroRefusedConnections() throws Exception {
        int port = freePort();
        ForkRegistry events = new ForkRegistry("preloader-events");
        AtomicLong preForks = new AtomicLong();
        AtomicLong parents = new AtomicLong();
        List<Integer> exits = new CopyOnWriteArrayList<>();
        events.subscribe(PreFork.class, e -> preForks.incrementAndGet());
        events.subscribe(PostForkParent.class, e -> {
            assertThat(e.worker().kind()).isEqualTo(WorkerKind.RESTORE);
            parents.incrementAndGet();
        });
        events.subscribe(ChildExit.class, e -> exits.add(e.exitStatus()));
        try (Preloader p = Preloader.builder()
                .jvmOptions(List.of("-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1"))
                .mainClass(PreloadApp.class.getName()).args(String.valueOf(port), "hooks")
                .registry(events).build().start()) {
            p.keep(2);
            Preloader.Copy victim = p.copies().get(0);
            AtomicBoolean stop = new AtomicBoolean();
            AtomicLong ok = new AtomicLong();
            AtomicLong refused = new AtomicLong();
            AtomicLong failed = new AtomicLong();
            List<Thread> load = new ArrayList<>();
            for (int i = 0; i < 3; i++) {
                Thread t = new Thread(() -> {
                    while (!stop.get()) {
                        try {
                            get(port);
                            ok.incrementAndGet();
                        } catch (ConnectException e) {
                            refused.incrementAndGet();
                        } catch (IOException e) {
                            failed.incrementAndGet();
                        }
                    }
                });
                t.start();
                load.add(t);
            }
            waitFor(() -> ok.get() > 100, Duration.ofSeconds(20), "load to run");
            long killedAt = System.nanoTime();
            ProcessHandle.of(victim.hostPid()).orElseThrow().destroyForcibly();
            waitFor(() -> p.copies().stream().anyMatch(c -> c.slot() == victim.slot() && c.generation() == 1
                    && c.state() == Preloader.State.READY), Duration.ofSeconds(30), "slot 1 restored again");
            // serving: a response from the new copy
            waitFor(() -> {
                try {
                    return fields(get(port)).get("generation").equals("1");
                } catch (IOException e) {
                    return false;
                }
            }, Duration.ofSeconds(10), "the new copy to serve");
            long replacedMillis = (System.nanoTime() - killedAt) / 1_000_000;
            long okAtReplace = ok.get();
            waitFor(() -> ok.get() > okAtReplace + 100, Duration.ofSeconds(20), "load after the replacement");
            stop.set(true);
            for (Thread t : load) {
                t.join(10_000);
            }
            Preloader.Copy back = p.copies().get(0);
            System.out.printf("FIGURE preload kill -9 -> replacement serving: %d ms (restore to ready %d ms); "
                            + "requests ok %d, refused %d, failed %d; template cold start to ready %s ms, dump %s ms%n",
                    replacedMillis, back.restoreMillis(), ok.get(), refused.get(), failed.get(),
                    p.figures().get("templateColdStartMillis"), p.figures().get("dumpMillis"));
            assertThat(refused.get()).isZero();
            assertThat(back.generation()).isEqualTo(1);
            assertThat(back.hostPid()).isNotEqualTo(victim.hostPid());
            assertThat(preForks.get()).isEqualTo(3);
            assertThat(parents.get()).isEqualTo(3);
            var preload = new com.fasterxml.jackson.databind.ObjectMapper().readTree(events.status().toJson())
                    .path("details").path("preload");
            assertThat(preload.path("dumpMillis").asLong()).isPositive();
            assertThat(preload.path("copies").get(0).path("pid").asLong()).isEqualTo(back.hostPid());
            assertThat(preload.path("copies").get(0).path("generation").asLong()).isEqualTo(1);
            assertThat(exits).hasSize(1); // one ChildExit, for the killed copy (status unknown: CRIU reaps it)
        }
    }

    @Test
    void aCopysErrorsAndFailingHooksReachThePreloadersStatus() throws Exception {
        int port = freePort();
        ForkRegistry registry = new ForkRegistry("preloader-errors");
        String error = "testapp error: " + io.forksafe.arbiter.internal.WorkerReport.oneLine(
                io.forksafe.arbiter.testapp.TestHooks.HOSTILE);
        try (Preloader p = Preloader.builder()
                .jvmOptions(List.of("-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1", "-Xshare:auto"))
                .mainClass(PreloadApp.class.getName()).args(String.valueOf(port), "hooks")
                .env("TESTAPP_REPORT_ERROR", "true").env("TESTAPP_FAIL_POSTWORKERINIT", "true")
                .gracefulTimeout(Duration.ofSeconds(4))
                .bootTimeout(Duration.ofSeconds(60)).registry(registry).build().start()) {
            p.keep(1);
            var mapper = new com.fasterxml.jackson.databind.ObjectMapper();
            waitFor(() -> {
                try {
                    var copy = mapper.readTree(registry.status().toJson()).path("details").path("preload")
                            .path("copies").get(0);
                    return copy.path("errors").size() == 1 && copy.path("hookFailures").size() == 1;
                } catch (IOException e) {
                    return false;
                }
            }, Duration.ofSeconds(20), "the copy's report");
            var status = mapper.readTree(registry.status().toJson());
            var copy = status.path("details").path("preload").path("copies").get(0);
            assertThat(copy.path("errors").get(0).asText()).isEqualTo(error);
            var h = copy.path("hookFailures").get(0);
            assertThat(h.path("subscriber").asText()).isEqualTo("testapp.failing-init");
            assertThat(h.path("event").asText()).isEqualTo("PostWorkerInit");
            assertThat(h.path("failures").asLong()).isEqualTo(1);
            assertThat(h.path("lastError").asText()).contains("fails on purpose").doesNotContain("\n");
            long pid = p.copies().get(0).hostPid();
            List<String> errors = new ArrayList<>();
            status.path("errors").forEach(e -> errors.add(e.asText()));
            assertThat(errors).contains("worker-1 (pid " + pid + ") error: " + error);
            // the copy serves anyway, and sees the preloader's graceful timeout
            assertThat(fields(body(port, "/")).get("slot")).isEqualTo("1");
            String environ = java.nio.file.Files.readString(java.nio.file.Path.of("/proc/" + pid + "/environ"));
            assertThat(List.of(environ.split("\0"))).contains(ArbiterWorker.ENV_GRACEFUL_MILLIS + "=4000");
        }
    }

    @Test
    void aPoolOpenedInTheTemplateIsNotReusedAcrossCopiesAfterPostFork() throws Exception {
        org.h2.tools.Server h2 = org.h2.tools.Server.createTcpServer("-tcpPort", "0", "-ifNotExists").start();
        try (java.sql.Connection admin = java.sql.DriverManager.getConnection(
                "jdbc:h2:tcp://127.0.0.1:" + h2.getPort() + "/mem:preload", "sa", "")) {
            String url = "jdbc:h2:tcp://127.0.0.1:" + h2.getPort() + "/mem:preload";
            long adminSession = sessionId(admin);

            // The trap: without the recipe the template's pooled TCP connections would be in the image (every copy
            // restoring the same connection); the preloader refuses to checkpoint and names them.
            Preloader noHooks = preloader(freePort(), "none", "pool", url);
            try {
                assertThatThrownBy(noHooks::start).isInstanceOf(IllegalStateException.class)
                        .hasMessageContaining("the template still has outgoing TCP connections after its PreFork hooks")
                        .hasMessageContaining("127.0.0.1:" + h2.getPort())
                        .hasMessageContaining("close them in a PreFork hook");
            } finally {
                noHooks.close();
            }
            waitFor(() -> sessions(admin).size() == 1, Duration.ofSeconds(10), "the template's sessions to close");

            // The fix: HikariPoolRecipe drains the pool at PreFork and refills it in each copy after PostFork.
            int port = freePort();
            try (Preloader p = preloader(port, "hooks", "pool", url).start()) {
                List<Long> beforeRestore = sessions(admin);
                p.keep(2);
                Map<Integer, Map<String, String>> bySlot = firstResponsePerSlot(port, 2);
                String s1 = bySlot.get(1).get("db");
                String s2 = bySlot.get(2).get("db");
                List<Long> live = sessions(admin);
                System.out.println("pool: sessions before restore " + beforeRestore + ", copies use " + s1 + " and "
                        + s2 + ", server sessions now " + live);
                assertThat(beforeRestore).as("the template's pool closed its connections before the dump")
                        .containsExactly(adminSession);
                assertThat(s1).startsWith("session").isNotEqualTo(s2);
                assertThat(s2).startsWith("session");
                // each copy refilled its own pool (2 connections each) on the server
                waitFor(() -> sessions(admin).size() == 1 + 2 * 2, Duration.ofSeconds(10), "4 pooled sessions");
            }
        } finally {
            h2.stop();
        }
    }

    static long sessionId(java.sql.Connection c) throws java.sql.SQLException {
        try (var st = c.createStatement(); var rs = st.executeQuery("SELECT SESSION_ID()")) {
            rs.next();
            return rs.getLong(1);
        }
    }

    static List<Long> sessions(java.sql.Connection admin) {
        try (var st = admin.createStatement();
             var rs = st.executeQuery("SELECT SESSION_ID FROM INFORMATION_SCHEMA.SESSIONS ORDER BY SESSION_ID")) {
            List<Long> ids = new ArrayList<>();
            while (rs.next()) {
                ids.add(rs.getLong(1));
            }
            return ids;
        } catch (java.sql.SQLException e) {
            throw new IllegalStateException(e);
        }
    }

    /**
     * The library API runs what the configuration says: {@code preload(true)} restores copies of one template, it does
     * not spawn cold workers. Issue #14.
     */
    @Test
    void arbiterCreateWithPreloadRestoresCopiesThroughTheArbiterApi() throws Exception {
        int port = freePort();
        ForkRegistry registry = new ForkRegistry("arbiter-api-preload");
        List<String> kinds = new CopyOnWriteArrayList<>();
        registry.subscribe(PostForkParent.class, e -> kinds.add(e.worker().kind().name()));
        java.io.ByteArrayOutputStream console = new java.io.ByteArrayOutputStream();
        java.io.PrintStream both = new java.io.PrintStream(console, true, StandardCharsets.UTF_8);
        Arbiter arbiter = Arbiter.create(ArbiterConfig.builder()
                .preload(true)
                .workers(2)
                .bind("127.0.0.1:" + port)
                .app(PreloadApp.class.getName(), String.valueOf(port), "hooks")
                .jvmOptions(List.of("-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1"))
                .statusPort(0)
                .gracefulTimeout(Duration.ofSeconds(10))
                .console(both, both)
                .build(), registry);
        try {
            arbiter.start();
            assertThatThrownBy(arbiter::start).hasMessageContaining("already started");
            assertThat(arbiter.address()).isEqualTo(new InetSocketAddress("127.0.0.1", port));
            waitFor(() -> arbiter.workers().size() == 2 && arbiter.workers().stream()
                            .allMatch(w -> w.state().equals("ready")) || arbiter.isStopped(), Duration.ofSeconds(90),
                    "2 restored copies");
            assertThat(arbiter.workers()).as(console.toString(StandardCharsets.UTF_8))
                    .extracting(Arbiter.WorkerStatus::slot, Arbiter.WorkerStatus::state)
                    .containsExactly(org.assertj.core.groups.Tuple.tuple(1, "ready"),
                            org.assertj.core.groups.Tuple.tuple(2, "ready"));
            assertThat(arbiter.targetWorkers()).isEqualTo(2);
            Map<Integer, Map<String, String>> bySlot = firstResponsePerSlot(port, 2);
            assertThat(bySlot.get(1).get("kind")).isEqualTo("RESTORE");
            assertThat(bySlot.get(2).get("kind")).isEqualTo("RESTORE");
            assertThat(arbiter.workers()).extracting(Arbiter.WorkerStatus::pid).containsExactlyInAnyOrder(
                    Long.parseLong(bySlot.get(1).get("pid")), Long.parseLong(bySlot.get(2).get("pid")));
            assertThat(kinds).containsExactly("RESTORE", "RESTORE");
            var status = new com.fasterxml.jackson.databind.ObjectMapper().readTree(
                    get(arbiter.statusAddress().getPort()));
            assertThat(status.path("details").path("preload").path("copies")).hasSize(2);

            arbiter.stop();
            assertThat(arbiter.join(Duration.ofSeconds(30))).isTrue();
            assertThat(arbiter.join()).isZero();
            assertThat(arbiter.haltReason()).isNull();
            for (Map<String, String> copy : bySlot.values()) {
                long pid = Long.parseLong(copy.get("pid"));
                waitFor(() -> ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false) == Boolean.FALSE,
                        Duration.ofSeconds(10), "copy " + pid + " to stop");
            }
        } finally {
            arbiter.stop();
            arbiter.join(Duration.ofSeconds(30));
        }
    }

    /** The preload CLI as a child process, its merged output collected as it comes. */
    record Cli(Process process, StringBuffer out, Thread pump) {

        static Cli start(List<String> prefix, int workers, int port) throws IOException {
            List<String> cmd = new ArrayList<>(prefix);
            cmd.addAll(List.of(ProcessHandle.current().info().command().orElse("java"), "-cp",
                    System.getProperty("java.class.path"), ArbiterMain.class.getName(), "--preload", "--workers",
                    String.valueOf(workers), "--bind", "127.0.0.1:" + port, "--jvm-opts", "-XX:+UseSerialGC -XX:TieredStopAtLevel=1", "--print-events",
                    "--status-port", "0", "--", PreloadApp.class.getName(), String.valueOf(port), "hooks"));
            Process cli = new ProcessBuilder(cmd).redirectErrorStream(true).start();
            StringBuffer out = new StringBuffer();
            Thread pump = new Thread(() -> {
                try (var r = new java.io.BufferedReader(new java.io.InputStreamReader(cli.getInputStream()))) {
                    String line;
                    while ((line = r.readLine()) != null) {
                        out.append(line).append('\n');
                    }
                } catch (IOException ignored) {
                    // ended
                }
            });
            pump.start();
            return new Cli(cli, out, pump);
        }

        /** Waits for "serving on "; fails at once, with the output, if the CLI exits first. */
        void awaitServing() throws InterruptedException {
            waitFor(() -> out.toString().contains("serving on ") || !process.isAlive(), Duration.ofSeconds(60),
                    "the CLI to serve");
            assertThat(out.toString()).as("the CLI's output (alive: %s)", process.isAlive()).contains("serving on ");
        }
    }

    @Test
    void theCommandLineKeepsTwoCopiesAndSigtermStopsThem() throws Exception {
        int port = freePort();
        Cli c = Cli.start(List.of(), 2, port);
        Process cli = c.process();
        StringBuffer out = c.out();
        Thread pump = c.pump();
        try {
            c.awaitServing();
            Map<Integer, Map<String, String>> bySlot = firstResponsePerSlot(port, 2);
            List<Long> pids = bySlot.values().stream().map(m -> Long.parseLong(m.get("pid"))).toList();
            assertThat(out.toString()).contains("event PostForkParent worker-1").contains("event PostForkParent worker-2");
            var m = java.util.regex.Pattern.compile("status on http://127.0.0.1:(\\d+)/").matcher(out);
            assertThat(m.find()).as("status port printed").isTrue();
            var status = new com.fasterxml.jackson.databind.ObjectMapper().readTree(get(Integer.parseInt(m.group(1))));
            assertThat(status.path("details").path("preload").path("copies")).hasSize(2);
            assertThat(status.path("details").path("preload").path("copies").findValuesAsText("state"))
                    .containsOnly("ready");
            cli.toHandle().destroy(); // SIGTERM (Process.destroy() would also close our end of its output)
            assertThat(cli.waitFor(20, java.util.concurrent.TimeUnit.SECONDS)).as("CLI exited").isTrue();
            waitFor(() -> pids.stream().noneMatch(pid -> ProcessHandle.of(pid).map(ProcessHandle::isAlive)
                    .orElse(false)), Duration.ofSeconds(10), "the copies to stop");
            pump.join(5000);
            assertThat(out.toString()).as("exit " + cli.exitValue()).contains("] event WorkerExit worker-1 kind=RESTORE")
                    .contains("] event WorkerExit worker-2 kind=RESTORE")
                    .contains("event ChildExit worker-1").contains("event ChildExit worker-2");
        } finally {
            cli.destroyForcibly();
        }
    }

    /**
     * Containers and CI sandboxes run forksafe in a pid namespace whose session leader lives outside it. CRIU cannot
     * dump a process whose session leader it cannot see ("A session leader of N is outside of its pid namespace"),
     * so the template must lead its own session. The CLI runs here as pid 1 of a fresh pid namespace, as it would
     * there.
     */
    @Test
    void theCommandLineWorksInsideAPidNamespaceWhoseSessionLeaderIsOutside() throws Exception {
        int port = freePort();
        Cli c = Cli.start(List.of("unshare", "--pid", "--kill-child", "--mount-proc"), 1, port);
        try {
            c.awaitServing();
            assertThat(get(port)).contains("slot=1");
        } finally {
            c.process().destroyForcibly(); // unshare's --kill-child then kills the namespace's pid 1, and with it all
            c.process().waitFor(20, java.util.concurrent.TimeUnit.SECONDS);
        }
    }

    @Test
    void aTemplateThatExitsBeforeItIsReadyFailsTheStartAtOnce() throws Exception {
        Preloader p = preloader(freePort(), "exit-early");
        long t0 = System.nanoTime();
        try {
            assertThatThrownBy(p::start).isInstanceOf(IllegalStateException.class)
                    .hasMessageContaining("exited with status 7 before it was ready");
            assertThat(Duration.ofNanos(System.nanoTime() - t0)).as("not the 60 s boot timeout")
                    .isLessThan(Duration.ofSeconds(30));
        } finally {
            p.close();
        }
    }

    @Test
    void anAppThatDoesNotAttachPreloadWorkerIsNamedAtTheBootTimeout() throws Exception {
        Preloader p = Preloader.builder().mainClass(PreloadApp.class.getName()).args("0", "no-attach")
                .jvmOptions(List.of("-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1"))
                .bootTimeout(Duration.ofSeconds(3)).registry(new ForkRegistry("no-attach")).build();
        try {
            assertThatThrownBy(p::start).isInstanceOf(IllegalStateException.class)
                    .hasMessageContaining("never connected to the preload control socket")
                    .hasMessageContaining("PreloadWorker.attach");
        } finally {
            p.close();
        }
    }

    @Test
    void aFailingPreForkHookStopsTheCheckpointWithItsMessage() throws Exception {
        Preloader p = preloader(freePort(), "fail-prefork");
        try {
            assertThatThrownBy(p::start).isInstanceOf(IllegalStateException.class)
                    .hasMessageContaining("PreFork hooks failed, so it was not checkpointed")
                    .hasMessageContaining("the pool did not drain in time");
        } finally {
            p.close();
        }
    }

    @Test
    void aFailingPostForkHookInACopyIsABootError() throws Exception {
        try (Preloader p = preloader(freePort(), "fail-postfork").start()) {
            assertThatThrownBy(() -> p.restore(1)).isInstanceOf(IllegalStateException.class)
                    .hasMessageContaining("worker-1: PostFork failed")
                    .hasMessageContaining("cannot reconnect to the broker");
            waitFor(() -> p.copies().get(0).state() == Preloader.State.DEAD, Duration.ofSeconds(10),
                    "the failed copy to exit");
        }
    }

    @Test
    void resizeRestoresMoreSlotsAndStopsTheHighestOnes() throws Exception {
        int port = freePort();
        try (Preloader p = preloader(port, "hooks").start()) {
            p.keep(1);
            p.resize(3);
            assertThat(p.copies()).extracting(Preloader.Copy::slot).containsExactly(1, 2, 3);
            assertThat(firstResponsePerSlot(port, 3)).containsOnlyKeys(1, 2, 3);
            long third = p.copies().get(2).hostPid();
            p.resize(2);
            waitFor(() -> p.copies().get(2).state() == Preloader.State.DEAD, Duration.ofSeconds(15),
                    "slot 3 to stop");
            Thread.sleep(300); // a stopped slot above the size is not restored again
            assertThat(p.copies().get(2).generation()).isZero();
            assertThat(ProcessHandle.of(third).map(ProcessHandle::isAlive).orElse(false)).isFalse();
            assertThat(p.kept()).isEqualTo(2);
        }
    }

    @Test
    void clientsHittingTheTemplateDuringTheCheckpointDoNotStopIt() throws Exception {
        int port = freePort();
        AtomicBoolean stop = new AtomicBoolean();
        AtomicLong servedByTemplate = new AtomicLong();
        List<Thread> load = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            Thread t = new Thread(() -> {
                while (!stop.get()) {
                    try {
                        if (fields(get(port)).get("slot").equals("0")) {
                            servedByTemplate.incrementAndGet();
                        }
                    } catch (IOException e) {
                        // refused before the template listens; closed when caught by the checkpoint
                    }
                }
            });
            t.start();
            load.add(t);
        }
        try (Preloader p = preloader(port, "hooks")) {
            p.start(); // connections accepted while quiescing are closed by the dump (--tcp-close), not cloned
            p.keep(2);
            assertThat(servedByTemplate.get()).as("the template served before its checkpoint").isPositive();
            assertThat(firstResponsePerSlot(port, 2)).containsOnlyKeys(1, 2);
        } finally {
            stop.set(true);
            for (Thread t : load) {
                t.join(10_000);
            }
        }
    }

    // --- helpers

    static String get(int port) throws IOException {
        return body(port, "/");
    }
}
