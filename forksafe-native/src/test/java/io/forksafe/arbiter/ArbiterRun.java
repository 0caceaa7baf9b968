package io.forksafe.arbiter;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import io.forksafe.arbiter.internal.Libc;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

/**
 * A real arbiter process for the tests: {@code java -cp <test class path> io.forksafe.arbiter.ArbiterMain ...}, its
 * merged output collected line by line, helpers to wait for lines and read the status JSON, and cleanup that
 * never leaves processes behind.
 */
final class ArbiterRun implements AutoCloseable {

    /** JVM options for workers and the arbiter: quick start. */
    static final String FAST_JVM = "-XX:TieredStopAtLevel=1 -XX:+UseSerialGC -Xshare:auto -Xss512k";
    static final String APP = "io.forksafe.arbiter.testapp.TinyHttpWorker";
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Pattern LISTENING = Pattern.compile("listening on 127\\.0\\.0\\.1:(\\d+)");
    private static final Pattern STATUS = Pattern.compile("status http://(\\S+):(\\d+)/");

    final Process process;
    private final List<String> lines = Collections.synchronizedList(new ArrayList<>());
    private final List<Long> seenPids = Collections.synchronizedList(new ArrayList<>());
    int port;
    int statusPort;
    /** The status port's address as the arbiter printed it (127.0.0.1 for --status-port). */
    String statusHost;

    private final long startedNanos = System.nanoTime();

    private ArbiterRun(Process process) {
        this.process = process;
        Thread reader = new Thread(() -> {
            try (BufferedReader in = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))) {
                String line;
                while ((line = in.readLine()) != null) {
                    lines.add(line);
                    if (System.getenv("ARBITER_TEST_ECHO") != null) {
                        System.out.println("  | " + line);
                    }
                }
            } catch (IOException ignored) {
                // process ended
            }
        }, "arbiter-output");
        reader.setDaemon(true);
        reader.start();
    }

    /** Starts an arbiter with {@code options} for the tiny worker app and waits for its listening line. */
    static ArbiterRun start(List<String> options) throws Exception {
        return start(options, APP);
    }

    static ArbiterRun start(List<String> options, String app, String... appArgs) throws Exception {
        return start(List.of(), java.util.Map.of(), options, app, appArgs);
    }

    /** As {@link #start(List, String, String...)}, the arbiter's command after {@code prefix}, with {@code env}. */
    static ArbiterRun start(List<String> prefix, java.util.Map<String, String> env, List<String> options, String app,
                            String... appArgs) throws Exception {
        List<String> cmd = new ArrayList<>(prefix);
        cmd.add(ArbiterConfig.currentJava());
        cmd.addAll(List.of(FAST_JVM.split(" ")));
        cmd.add("-cp");
        cmd.add(System.getProperty("java.class.path"));
        cmd.add(ArbiterMain.class.getName());
        cmd.addAll(options);
        cmd.add("--jvm-opts");
        cmd.add(FAST_JVM);
        cmd.add("--");
        cmd.add(app);
        cmd.addAll(List.of(appArgs));
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true);
        pb.environment().putAll(env);
        ArbiterRun run = new ArbiterRun(pb.start());
        if (options.contains("--bind")) {
            String listening = run.awaitLine(l -> LISTENING.matcher(l).find() || l.startsWith("forksafe arbiter:"),
                    Duration.ofSeconds(60)); // --preload: after the template booted and was checkpointed
            Matcher m = LISTENING.matcher(listening);
            if (m.find()) {
                run.port = Integer.parseInt(m.group(1));
                Matcher s = STATUS.matcher(listening);
                if (s.find()) {
                    run.statusHost = s.group(1);
                    run.statusPort = Integer.parseInt(s.group(2));
                }
            }
        }
        return run;
    }

    long millisSinceStart() {
        return (System.nanoTime() - startedNanos) / 1_000_000;
    }

    long pid() {
        return process.pid();
    }

    List<String> lines() {
        synchronized (lines) {
            return new ArrayList<>(lines);
        }
    }

    String output() {
        return String.join("\n", lines());
    }

    /** Waits for a line matching {@code p}; fails with the whole output when it does not come. */
    String awaitLine(Predicate<String> p, Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (System.nanoTime() < deadline) {
            for (String l : lines()) {
                if (p.test(l)) {
                    return l;
                }
            }
            Thread.sleep(20);
        }
        throw new AssertionError("no matching line within " + timeout + "; output:\n" + output());
    }

    long countLines(Predicate<String> p) {
        return lines().stream().filter(p).count();
    }

    /** The arbiter's status JSON from its loopback status port. */
    JsonNode status() throws IOException, InterruptedException {
        String[] r = http(statusPort, "/");
        assertThat(r[0]).startsWith("HTTP/1.1 200");
        return JSON.readTree(r[1]);
    }

    /** The arbiter's worker table (details.arbiter.workers). */
    List<JsonNode> workers() throws IOException, InterruptedException {
        List<JsonNode> out = new ArrayList<>();
        status().path("details").path("arbiter").path("workers").forEach(out::add);
        return out;
    }

    /** The current worker of {@code slot}, or null. */
    JsonNode current(int slot) throws IOException, InterruptedException {
        for (JsonNode w : workers()) {
            if (w.path("slot").asInt() == slot && w.path("role").asText().equals("current")) {
                return w;
            }
        }
        return null;
    }

    /** Waits until the worker table satisfies {@code p}; returns the table. */
    List<JsonNode> awaitWorkers(Predicate<List<JsonNode>> p, Duration timeout) throws Exception {
        long deadline = System.nanoTime() + timeout.toNanos();
        List<JsonNode> last = List.of();
        while (System.nanoTime() < deadline) {
            try {
                last = workers();
            } catch (IOException e) {
                throw new AssertionError("the arbiter's status failed (" + e + "); output:\n" + output(), e);
            }
            if (p.test(last)) {
                return last;
            }
            Thread.sleep(25);
        }
        throw new AssertionError("worker table never matched within " + timeout + ": " + last + "\noutput:\n" + output());
    }

    static boolean allReady(List<JsonNode> ws, int n) {
        return ws.size() == n && ws.stream().allMatch(w -> w.path("state").asText().equals("ready")
                && w.path("role").asText().equals("current"));
    }

    /** Waits until {@code n} workers are ready and returns their pids by slot order. */
    List<Long> awaitReady(int n, Duration timeout) throws Exception {
        List<JsonNode> ws = awaitWorkers(w -> allReady(w, n), timeout);
        List<Long> pids = ws.stream().map(w -> w.path("pid").asLong()).collect(Collectors.toList());
        seenPids.addAll(pids);
        return pids;
    }

    /** Sends a signal to the arbiter. */
    void signal(jnr.constants.platform.Signal sig) {
        Libc.get().kill((int) pid(), sig.intValue());
    }

    static void signal(long pid, jnr.constants.platform.Signal sig) {
        Libc.get().kill((int) pid, sig.intValue());
    }

    /** Waits for the arbiter to exit; returns its exit code. */
    int awaitExit(Duration timeout) throws InterruptedException {
        assertThat(process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS))
                .as("arbiter exits within %s; output:\n%s", timeout, output()).isTrue();
        return process.exitValue();
    }

    /** One GET over a fresh connection to the shared port; returns the body. */
    String get(String path) throws IOException, InterruptedException {
        return http(port, path)[1];
    }

    /** A GET over a fresh connection: {status line, body}. */
    static String[] http(int port, String path) throws IOException {
        return TestHttp.get(port, path);
    }

    static JsonNode parse(String json) throws IOException {
        return JSON.readTree(json);
    }

    /** Ends the arbiter and every process it started, whatever state they are in. */
    @Override
    public void close() throws Exception {
        List<ProcessHandle> family = process.descendants().collect(Collectors.toList());
        if (process.isAlive()) {
            process.destroy();
            if (!process.waitFor(15, TimeUnit.SECONDS)) {
                process.destroyForcibly();
                process.waitFor(5, TimeUnit.SECONDS);
            }
        }
        for (ProcessHandle h : family) {
            h.destroyForcibly();
        }
        for (long p : seenPids) {
            ProcessHandle.of(p).ifPresent(ProcessHandle::destroyForcibly);
        }
    }

    static Path tempDir() throws IOException {
        return java.nio.file.Files.createTempDirectory("arbiter-test-");
    }
}
