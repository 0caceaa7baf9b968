package io.forksafe.it;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import io.forksafe.arbiter.TestHttp;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Predicate;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A real arbiter ({@code io.forksafe.arbiter.ArbiterMain}) running an app from the integration-tests class path as its
 * workers, on 127.0.0.1 with an ephemeral port and status port: what a test needs to drive it and read its status.
 */
final class ArbiterProcess implements AutoCloseable {

    static final String FAST = "-XX:TieredStopAtLevel=1 -XX:+UseSerialGC";
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Pattern LISTENING = Pattern.compile(
            "listening on 127\\.0\\.0\\.1:(\\d+) .* status http://127\\.0\\.0\\.1:(\\d+)/");

    final RunningProcess run;
    final int port;
    final int statusPort;

    private ArbiterProcess(RunningProcess run, int port, int statusPort) {
        this.run = run;
        this.port = port;
        this.statusPort = statusPort;
    }

    /** Starts {@code ArbiterMain --workers 2 --bind 127.0.0.1:0 --status-port 0 <options> -- app}. */
    static ArbiterProcess start(List<String> options, String app, String... appArgs) throws Exception {
        return startWithClasspath(ProcessSupport.demoClasspath(), options, app, appArgs);
    }

    /** As {@link #start}, with the arbiter and its workers on {@code classpath}. */
    static ArbiterProcess startWithClasspath(String classpath, List<String> options, String app, String... appArgs)
            throws Exception {
        List<String> cmd = new ArrayList<>(List.of(ProcessSupport.javaBinary()));
        cmd.addAll(List.of(FAST.split(" ")));
        cmd.addAll(List.of("-cp", classpath, "io.forksafe.arbiter.ArbiterMain",
                "--workers", "2", "--bind", "127.0.0.1:0", "--status-port", "0", "--jvm-opts", FAST));
        cmd.addAll(options);
        cmd.add("--");
        cmd.add(app);
        cmd.addAll(List.of(appArgs));
        RunningProcess run = RunningProcess.start(cmd);
        Matcher m = LISTENING.matcher(run.awaitLine(l -> LISTENING.matcher(l).find()));
        assertThat(m.find()).isTrue();
        return new ArbiterProcess(run, Integer.parseInt(m.group(1)), Integer.parseInt(m.group(2)));
    }

    long pid() {
        return run.pid();
    }

    JsonNode status() throws IOException {
        String[] r = TestHttp.get(statusPort, "/");
        assertThat(r[0]).startsWith("HTTP/1.1 200");
        return JSON.readTree(r[1]);
    }

    /** The arbiter's {@code details.arbiter.workers} once they match {@code p} (bounded). */
    List<JsonNode> awaitWorkers(Predicate<List<JsonNode>> p) throws Exception {
        return awaitWorkers(p, RunningProcess.WAIT);
    }

    /** As {@link #awaitWorkers(Predicate)}, waiting at most {@code wait} (slow-booting apps: Spring Boot). */
    List<JsonNode> awaitWorkers(Predicate<List<JsonNode>> p, java.time.Duration wait) throws Exception {
        long deadline = System.nanoTime() + wait.toNanos();
        List<JsonNode> last = List.of();
        while (System.nanoTime() < deadline) {
            List<JsonNode> ws = new ArrayList<>();
            status().path("details").path("arbiter").path("workers").forEach(ws::add);
            last = ws;
            if (p.test(ws)) {
                ws.forEach(w -> run.alsoKill(w.path("pid").asLong()));
                return ws;
            }
            Thread.sleep(25);
        }
        throw new AssertionError("workers never matched: " + last + "\noutput:\n" + run.output());
    }

    static boolean allReady(List<JsonNode> ws, int n) {
        return ws.size() == n && ws.stream().allMatch(w -> w.path("state").asText().equals("ready")
                && w.path("role").asText().equals("current"));
    }

    static List<Long> pids(List<JsonNode> ws) {
        return ws.stream().map(w -> w.path("pid").asLong()).toList();
    }

    @Override
    public void close() throws InterruptedException {
        run.close();
    }
}
