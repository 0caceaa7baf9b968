package io.forksafe.it;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.forksafe.arbiter.Criu;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.ConnectException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static io.forksafe.arbiter.TestHttp.body;
import static io.forksafe.arbiter.TestHttp.fields;
import static io.forksafe.arbiter.TestHttp.freePort;
import static io.forksafe.arbiter.TestHttp.waitFor;
import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * {@code ArbiterMain --preload} (the one arbiter, restoring copies) against the spawn mode, with real processes on 127.0.0.1: the same Jetty app, 2
 * workers, kill -9 of one under load, figures of both modes in the same run. The CRIU-dependent test is skipped, with
 * the reason printed, where CRIU cannot run; the start-up refusals are tested everywhere.
 */
@Timeout(300)
class PreloadArbiterProcessTest {

    private static final String FAST = "-XX:TieredStopAtLevel=1 -XX:+UseSerialGC";
    private final List<Process> started = new ArrayList<>();
    private final List<String> lines = Collections.synchronizedList(new ArrayList<>());

    @AfterEach
    void stop() throws Exception {
        for (Process p : started) {
            List<ProcessHandle> family = p.descendants().toList();
            p.toHandle().destroy();
            if (!p.waitFor(20, TimeUnit.SECONDS)) {
                p.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
            }
            family.forEach(ProcessHandle::destroyForcibly);
        }
    }

    private Process arbiter(Map<String, String> env, String... args) throws IOException {
        List<String> cmd = new ArrayList<>(List.of(ProcessSupport.javaBinary(), "-cp", ProcessSupport.demoClasspath(),
                "io.forksafe.arbiter.ArbiterMain"));
        cmd.addAll(List.of(args));
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true);
        pb.environment().putAll(env);
        Process p = pb.start();
        started.add(p);
        Thread pump = new Thread(() -> {
            try (BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
                String line;
                while ((line = r.readLine()) != null) {
                    lines.add(line);
                }
            } catch (IOException ignored) {
                // ended
            }
        });
        pump.setDaemon(true);
        pump.start();
        return p;
    }

    private String output() {
        synchronized (lines) {
            return String.join("\n", lines);
        }
    }

    @Test
    void preloadRefusesToStartWhenCriuIsMissingNamingIt() throws Exception {
        Process p = arbiter(Map.of(Criu.ENV_CRIU, "/nonexistent/criu"), "--preload", "--workers", "2", "--bind",
                "127.0.0.1:" + freePort(), "--", "io.forksafe.demo.JettyPreloadApp");
        assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
        assertThat(p.exitValue()).isEqualTo(2);
        waitFor(() -> output().contains("forksafe --preload cannot run here; missing:"), Duration.ofSeconds(5),
                "the message: " + output());
        // never a silent fallback to spawning
        assertThat(output()).doesNotContain("JettyPreloadApp listening").doesNotContain("spawned");
    }

    @Test
    void killNineUnderLoadPreloadAgainstSpawnInTheSameRun() throws Exception {
        var reason = Criu.unavailableReason();
        reason.ifPresent(r -> System.out.println("PreloadArbiterProcessTest skipped: " + r));
        assumeTrue(reason.isEmpty(), () -> reason.orElse(""));

        // Spawn mode: the arbiter's shared socket, cold worker JVMs.
        int spawnPort = freePort();
        long t0 = System.nanoTime();
        arbiter(Map.of(), "--workers", "2", "--bind", "127.0.0.1:" + spawnPort, "--jvm-opts", FAST, "--",
                "io.forksafe.demo.JettyWorkerApp");
        Set<String> spawnPids = distinctResponders(spawnPort, 2, Duration.ofSeconds(60), b -> b.split(" ")[3]);
        long spawnStart = (System.nanoTime() - t0) / 1_000_000;
        String victim = spawnPids.iterator().next();
        Result spawn = killUnderLoad(spawnPort, Long.parseLong(victim),
                b -> !spawnPids.contains(b.split(" ")[3]));

        // Preload mode: one template, checkpointed, restored per slot and again for the killed one.
        int port = freePort();
        t0 = System.nanoTime();
        arbiter(Map.of(), "--preload", "--workers", "2", "--bind", "127.0.0.1:" + port, "--jvm-opts", FAST,
                "--status-port", "0", "--print-events", "--", "io.forksafe.demo.JettyPreloadApp", "--fix");
        Set<String> copies;
        try {
            // responses from restored copies only (the template answers too, before its checkpoint)
            copies = distinctResponders(port, 2, Duration.ofSeconds(90),
                    b -> fields(b).get("kind").equals("RESTORE") ? fields(b).get("pid") : null);
        } catch (AssertionError e) {
            throw new AssertionError(e.getMessage() + "; output:\n" + output(), e);
        }
        long preloadStart = (System.nanoTime() - t0) / 1_000_000;
        String copy = copies.iterator().next();
        Result preload = killUnderLoad(port, Long.parseLong(copy), b -> fields(b).get("generation").equals("1"));

        Matcher m = Pattern.compile("status http://127.0.0.1:(\\d+)/").matcher(output());
        assertThat(m.find()).as("status port printed: %s", output()).isTrue();
        JsonNode status = new ObjectMapper().readTree(body(Integer.parseInt(m.group(1)), "/"));
        JsonNode rows = status.path("details").path("arbiter").path("workers");
        List<Long> restoreMillis = new ArrayList<>();
        rows.forEach(r -> restoreMillis.add(r.path("bootMillis").asLong()));
        System.out.printf("FIGURE arbiter start -> 2 workers serving: spawn %d ms, --preload %d ms (template cold start"
                        + " %s ms, dump %s ms)%n", spawnStart, preloadStart,
                status.path("details").path("arbiter").path("preload").path("templateColdStartMillis").asText(),
                status.path("details").path("arbiter").path("preload").path("dumpMillis").asText());
        System.out.printf("FIGURE kill -9 -> replacement serving: spawn %d ms, --preload %d ms (restores to ready: %s ms)%n",
                spawn.replacedMillis, preload.replacedMillis, restoreMillis);
        System.out.println("FIGURE load spawn: " + spawn + "; load --preload: " + preload);
        assertThat(spawn.refused).isZero();
        assertThat(preload.refused).isZero();
        assertThat(rows).hasSize(2);
        rows.forEach(r -> assertThat(r.path("kind").asText()).isEqualTo("RESTORE"));
        List<Integer> replaced = new ArrayList<>();
        rows.forEach(r -> {
            if (r.path("generation").asLong() == 1) {
                replaced.add(r.path("slot").asInt());
                assertThat(r.path("pid").asLong()).isNotEqualTo(Long.parseLong(copy));
            }
        });
        assertThat(replaced).as("exactly the killed slot came back, by restore: %s", rows).hasSize(1);
        int slot = replaced.get(0);
        assertThat(output()).containsPattern("event PostForkParent worker-" + slot + " pid \\d+ generation 1")
                .containsPattern("\\[worker-" + slot + " pid \\d+\\] event PostFork worker=worker-" + slot
                        + " kind=RESTORE slot=" + slot + " generation=1");
        // Speed is a benchmark here, not an assertion (shared machine): the figures are printed above.
    }

    record Result(long replacedMillis, long ok, long refused, long failed) {
        @Override
        public String toString() {
            return "ok " + ok + ", refused " + refused + ", failed " + failed;
        }
    }

    private static Set<String> distinctResponders(int port, int n, Duration timeout,
                                                  java.util.function.Function<String, String> id) throws Exception {
        Set<String> ids = new HashSet<>();
        waitFor(() -> {
            try {
                String v = id.apply(body(port, "/"));
                if (v != null) {
                    ids.add(v);
                }
            } catch (IOException e) {
                // not yet
            }
            return ids.size() >= n;
        }, timeout, n + " workers answering on " + port);
        return ids;
    }

    private static Result killUnderLoad(int port, long pid, java.util.function.Predicate<String> fromReplacement)
            throws Exception {
        AtomicBoolean stop = new AtomicBoolean();
        AtomicLong ok = new AtomicLong();
        AtomicLong refused = new AtomicLong();
        AtomicLong failed = new AtomicLong();
        AtomicLong replacedAt = new AtomicLong();
        List<Thread> load = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            Thread t = new Thread(() -> {
                while (!stop.get()) {
                    try {
                        String reply = body(port, "/");
                        ok.incrementAndGet();
                        if (fromReplacement.test(reply)) {
                            replacedAt.compareAndSet(0, System.nanoTime());
                        }
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
        try {
            waitFor(() -> ok.get() > 200, Duration.ofSeconds(30), "load to run");
            long killedAt = System.nanoTime();
            ProcessHandle.of(pid).orElseThrow().destroyForcibly();
            waitFor(() -> replacedAt.get() != 0, Duration.ofSeconds(60), "a response from the replacement");
            long okAt = ok.get();
            waitFor(() -> ok.get() > okAt + 200, Duration.ofSeconds(30), "load after the replacement");
            return new Result((replacedAt.get() - killedAt) / 1_000_000, ok.get(), refused.get(), failed.get());
        } finally {
            stop.set(true);
            for (Thread t : load) {
                t.join(10_000);
            }
        }
    }
}
