package io.forksafe.it;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * {@code io.forksafe.demo.UndertowWorkerApp} as a real worker JVM: once with {@code --port 0}, once the way the
 * arbiter starts it (listening socket as fd 0, {@code FORKSAFE_ARBITER_PID} set; python3 plays the arbiter's
 * socket-passing part). Both serve requests on forksafe threads and stop cleanly on SIGTERM.
 */
class UndertowWorkerAppProcessTest {

    private static final Duration TIMEOUT = Duration.ofSeconds(30);
    private final List<Process> processes = new ArrayList<>();
    private final HttpClient client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(Duration.ofSeconds(5)).build();

    @AfterEach
    void killLeftovers() {
        for (Process p : processes) {
            if (p.isAlive()) {
                p.destroyForcibly();
            }
        }
    }

    /** The output of a running process, collected line by line. */
    static final class Output {
        private final StringBuilder text = new StringBuilder();

        Output(Process p) {
            Thread reader = new Thread(() -> {
                try (BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(),
                        StandardCharsets.UTF_8))) {
                    String line;
                    while ((line = r.readLine()) != null) {
                        synchronized (text) {
                            text.append(line).append('\n');
                        }
                    }
                } catch (IOException ignored) {
                    // the process ended
                }
            }, "output-reader");
            reader.setDaemon(true);
            reader.start();
        }

        String text() {
            synchronized (text) {
                return text.toString();
            }
        }

        String await(Pattern pattern) throws InterruptedException {
            long deadline = System.nanoTime() + TIMEOUT.toNanos();
            while (System.nanoTime() < deadline) {
                Matcher m = pattern.matcher(text());
                if (m.find()) {
                    return m.group(1);
                }
                Thread.sleep(20);
            }
            throw new AssertionError("timed out waiting for /" + pattern + "/ in output:\n" + text());
        }
    }

    private static List<String> java(String mainClass) throws IOException {
        Path classpathFile = Path.of("target", "demo-classpath.txt");
        assertThat(classpathFile).as("written by the build (mvn package/verify)").exists();
        String cp = Files.readString(classpathFile).strip() + java.io.File.pathSeparator
                + Path.of("target", "classes").toAbsolutePath();
        Path javaBin = Path.of(System.getProperty("java.home"), "bin", "java");
        return new ArrayList<>(List.of(javaBin.toString(), "-Xmx128m", "-cp", cp, mainClass));
    }

    private Process start(List<String> command, boolean arbiterEnv) throws IOException {
        ProcessBuilder pb = new ProcessBuilder(command).redirectErrorStream(true);
        pb.environment().remove(io.forksafe.spi.ArbiterContract.ENV_ARBITER_PID);
        if (arbiterEnv) {
            pb.environment().put(io.forksafe.spi.ArbiterContract.ENV_ARBITER_PID, Long.toString(ProcessHandle.current().pid()));
        }
        Process p = pb.start();
        processes.add(p);
        return p;
    }

    private void exerciseAndStop(Process p, Output out, int port) throws Exception {
        List<CompletableFuture<HttpResponse<String>>> requests = new ArrayList<>();
        for (int i = 0; i < 8; i++) {
            requests.add(client.sendAsync(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/"))
                    .timeout(TIMEOUT).build(), HttpResponse.BodyHandlers.ofString()));
        }
        for (CompletableFuture<HttpResponse<String>> r : requests) {
            HttpResponse<String> response = r.get(30, TimeUnit.SECONDS);
            assertThat(response.statusCode()).isEqualTo(200);
            assertThat(response.body()).startsWith("hello from pid " + p.pid() + " on forksafe-undertow-1 task-");
        }
        HttpResponse<String> status = client.send(HttpRequest.newBuilder(
                URI.create("http://127.0.0.1:" + port + "/forksafe/status")).timeout(TIMEOUT).build(),
                HttpResponse.BodyHandlers.ofString());
        assertThat(status.statusCode()).isEqualTo(200);
        assertThat(status.body()).contains("\"status\": \"Undertow hook configured\"").contains("\"pid\": " + p.pid());

        // SIGTERM, as the arbiter stops a worker. (Process.destroy() would also close our end of its output.)
        assertThat(p.toHandle().destroy()).isTrue();
        assertThat(p.waitFor(30, TimeUnit.SECONDS)).as("worker exits after SIGTERM:\n" + out.text()).isTrue();
        out.await(Pattern.compile("(worker-app stopped)"));
        String text = out.text();
        assertThat(text).contains("event PostWorkerInit worker=main kind=PROCESS")
                .contains("event WorkerExit worker=main kind=PROCESS");
        long postForks = text.lines().filter(l -> l.startsWith("event PostFork worker=forksafe-undertow-1")).count();
        long exits = text.lines().filter(l -> l.startsWith("event WorkerExit worker=forksafe-undertow-1")).count();
        assertThat(postForks).isPositive().isEqualTo(exits);
    }

    @Test
    void servesOnAnEphemeralPortAndStopsOnSigterm() throws Exception {
        List<String> command = java("io.forksafe.demo.UndertowWorkerApp");
        command.addAll(List.of("--port", "0"));
        Process p = start(command, false);
        Output out = new Output(p);
        int port = Integer.parseInt(out.await(Pattern.compile("listening on http://127\\.0\\.0\\.1:(\\d+)")));
        exerciseAndStop(p, out, port);
    }

    @Test
    void servesTheListeningSocketInheritedAsFdZeroLikeAnArbiterWorker() throws Exception {
        Path launcher = Path.of("src", "test", "resources", "inherit-listening-socket.py").toAbsolutePath();
        List<String> command = new ArrayList<>(List.of("python3", launcher.toString()));
        command.addAll(java("io.forksafe.demo.UndertowWorkerApp")); // no --port: only the inherited socket
        Process p = start(command, true);
        Output out = new Output(p);
        int port = Integer.parseInt(out.await(Pattern.compile("port (\\d+)")));
        assertThat(out.await(Pattern.compile("serving inherited socket (http://127\\.0\\.0\\.1:\\d+)")))
                .isEqualTo("http://127.0.0.1:" + port);
        exerciseAndStop(p, out, port);
    }
}
