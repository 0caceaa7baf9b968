package io.forksafe.it;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import io.forksafe.demo.JettyWorkerApp;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

import java.io.BufferedReader;
import java.io.File;
import java.io.InputStreamReader;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The Jetty worker app as a real process: stand-alone on an ephemeral port, and under the arbiter contract (a
 * listening socket as its inherited channel plus FORKSAFE_ARBITER_PID), which a small Python launcher sets up the
 * way the arbiter does.
 */
class JettyWorkerAppTest {

    private static final Pattern LISTENING =
            Pattern.compile("JettyWorkerApp listening on http://127\\.0\\.0\\.1:(\\d+) pid (\\d+) status (.*)");
    private static final Duration TIMEOUT = Duration.ofSeconds(30);

    private final HttpClient client = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
    private Process process;
    private final List<String> output = new CopyOnWriteArrayList<>();
    private final BlockingQueue<String> lines = new LinkedBlockingQueue<>();

    @AfterEach
    void tearDown() throws Exception {
        if (process != null && process.isAlive()) {
            process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
        }
    }

    @Test
    void standAloneServesHelloAndStatusAndStopsCleanlyOnSigterm() throws Exception {
        start(ProcessSupport.javaCommand(JettyWorkerApp.class.getName(), "--port", "0"));
        Matcher m = awaitLine(LISTENING);
        int port = Integer.parseInt(m.group(1));
        assertThat(Long.parseLong(m.group(2))).isEqualTo(process.pid());
        assertThat(m.group(3)).isEqualTo("Jetty hook configured");

        assertThat(get(port, "/").body()).startsWith("hello from pid " + process.pid() + " thread qtp");
        JsonNode status = new ObjectMapper().readTree(get(port, "/forksafe/status").body());
        assertThat(status.path("details").path("jetty").path("threadPool").path("hooked").asBoolean()).isTrue();
        assertThat(status.path("details").path("jetty").path("arbiterSocket").isNull()).isTrue();

        // SIGTERM through the handle: Process.destroy() would also close our end of its output.
        process.toHandle().destroy(); // Jetty's stopAtShutdown stops the server
        assertThat(process.waitFor(TIMEOUT.toSeconds(), TimeUnit.SECONDS)).isTrue();
        awaitLine(Pattern.compile("event WorkerExit worker=main kind=PROCESS reason=server stopping"));
        awaitLine(Pattern.compile("event WorkerExit worker=qtp\\S+ kind=THREAD reason=pool stopping"));
    }

    @Test
    void underTheArbiterContractItServesOnTheInheritedSocket() throws Exception {
        Assumptions.assumeTrue(python() != null, () -> {
            System.out.println("[JettyWorkerAppTest] python3 not found: inherited-socket launch skipped");
            return "python3 not found";
        });
        try (ServerSocket occupied = new ServerSocket(0, 50, InetAddress.getLoopbackAddress())) {
            // Like the arbiter: bind and listen, pass the socket as fd 0 (System.inheritedChannel()), set the env
            // variable, exec the worker. --port names a port that is taken, so binding it would fail.
            String launcher = String.join("\n",
                    "import os, socket, sys",
                    "s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)",
                    "s.bind(('127.0.0.1', 0))",
                    "s.listen(64)",
                    "print('ARBITER_SOCKET %d' % s.getsockname()[1], flush=True)",
                    "os.dup2(s.fileno(), 0)",
                    "os.environ['FORKSAFE_ARBITER_PID'] = str(os.getppid())",
                    "os.execv(sys.argv[1], sys.argv[1:])");
            List<String> command = new java.util.ArrayList<>(List.of(python(), "-c", launcher));
            command.addAll(ProcessSupport.javaCommand(JettyWorkerApp.class.getName(),
                    "--port", Integer.toString(occupied.getLocalPort())));
            start(command);
            int arbiterPort = Integer.parseInt(awaitLine(Pattern.compile("ARBITER_SOCKET (\\d+)")).group(1));
            Matcher m = awaitLine(LISTENING);
            assertThat(Integer.parseInt(m.group(1))).isEqualTo(arbiterPort);
            assertThat(m.group(3)).isEqualTo("Jetty hook configured");

            assertThat(get(arbiterPort, "/").body()).startsWith("hello from pid " + process.pid());
            JsonNode status = new ObjectMapper().readTree(get(arbiterPort, "/forksafe/status").body());
            assertThat(status.path("details").path("jetty").path("arbiterSocket").asText())
                    .isEqualTo("/127.0.0.1:" + arbiterPort);
            assertThat(status.path("notes").path("jetty.arbiter").asText())
                    .contains("adopted the forksafe arbiter's listening socket", "(arbiter pid "
                            + ProcessHandle.current().pid() + ")");
            process.toHandle().destroy();
            assertThat(process.waitFor(TIMEOUT.toSeconds(), TimeUnit.SECONDS)).isTrue();
        }
    }

    private void start(List<String> command) throws Exception {
        process = new ProcessBuilder(command).redirectErrorStream(true).start();
        Thread reader = new Thread(() -> {
            try (BufferedReader in = new BufferedReader(new InputStreamReader(process.getInputStream(),
                    StandardCharsets.UTF_8))) {
                for (String line; (line = in.readLine()) != null; ) {
                    output.add(line);
                    lines.add(line);
                }
            } catch (java.io.IOException ignored) {
                // process ended
            }
        }, "worker-app-output");
        reader.setDaemon(true);
        reader.start();
    }

    private Matcher awaitLine(Pattern pattern) throws InterruptedException {
        long deadline = System.nanoTime() + TIMEOUT.toNanos();
        for (String seen : output) {
            Matcher m = pattern.matcher(seen);
            if (m.matches()) {
                return m;
            }
        }
        while (System.nanoTime() < deadline) {
            String line = lines.poll(100, TimeUnit.MILLISECONDS);
            if (line != null) {
                Matcher m = pattern.matcher(line);
                if (m.matches()) {
                    return m;
                }
            }
        }
        throw new AssertionError("no line matching " + pattern + " within " + TIMEOUT + "; output:\n"
                + String.join("\n", output));
    }

    private HttpResponse<String> get(int port, String path) throws Exception {
        HttpResponse<String> r = client.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path))
                .timeout(TIMEOUT).build(), HttpResponse.BodyHandlers.ofString());
        assertThat(r.statusCode()).as("GET %s", path).isEqualTo(200);
        return r;
    }

    private static String python() {
        for (String dir : System.getenv().getOrDefault("PATH", "").split(File.pathSeparator)) {
            Path p = Path.of(dir, "python3");
            if (Files.isExecutable(p)) {
                return p.toString();
            }
        }
        return null;
    }
}
