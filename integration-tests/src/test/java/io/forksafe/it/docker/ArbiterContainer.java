package io.forksafe.it.docker;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.github.dockerjava.api.command.InspectContainerResponse;

import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.function.Predicate;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.testcontainers.containers.GenericContainer;
import org.testcontainers.containers.output.OutputFrame;
import org.testcontainers.containers.wait.strategy.Wait;
import org.testcontainers.utility.DockerImageName;

/**
 * The forksafe arbiter ({@code io.forksafe.arbiter.ArbiterMain}) as the entrypoint, so PID 1, of a container of the
 * {@link LocalImage}, on the host network: the arbiter binds a free port on 127.0.0.1 and serves its status on another,
 * and the test reaches both from the host. Every output line of the container is kept for assertions and messages.
 */
final class ArbiterContainer implements AutoCloseable {

    static final ObjectMapper JSON = new ObjectMapper();
    /** Boot of the arbiter and two worker JVMs on 2 busy cores: usually 2 to 5 s. */
    static final Duration BOOT = Duration.ofSeconds(60);
    static final String FAST_JVM = "-XX:TieredStopAtLevel=1 -XX:+UseSerialGC";
    private static final Pattern LISTENING = Pattern.compile(
            "listening on 127\\.0\\.0\\.1:(\\d+) .* status http://127\\.0\\.0\\.1:(\\d+)/");

    private final GenericContainer<?> container;
    private final List<String> lines = Collections.synchronizedList(new ArrayList<>());
    private int port;
    private int statusPort;

    /**
     * @param arbiterOptions ArbiterMain options besides --bind and --status-port (which are always 127.0.0.1:0)
     * @param workerJvmOpts  the workers' JVM options ({@code --jvm-opts})
     * @param memoryBytes    the container's memory limit (swap included), or 0 for none
     */
    ArbiterContainer(LocalImage image, String app, List<String> arbiterOptions, String workerJvmOpts, long memoryBytes) {
        List<String> entrypoint = new ArrayList<>(List.of(LocalImage.JAVA));
        entrypoint.addAll(List.of(FAST_JVM.split(" ")));
        entrypoint.addAll(List.of("-Xmx64m", "-cp", image.classPath(), "io.forksafe.arbiter.ArbiterMain",
                "--bind", "127.0.0.1:0", "--status-port", "0", "--jvm-opts", workerJvmOpts));
        entrypoint.addAll(arbiterOptions);
        entrypoint.add("--");
        entrypoint.add(app);
        container = new GenericContainer<>(DockerImageName.parse(image.name()))
                .withNetworkMode("host")
                .withLogConsumer(this::accept)
                .waitingFor(Wait.forLogMessage(".*listening on 127\\.0\\.0\\.1:\\d+ .*\\n", 1).withStartupTimeout(BOOT))
                .withCreateContainerCmdModifier(cmd -> {
                    cmd.withEntrypoint(entrypoint.toArray(String[]::new));
                    if (memoryBytes > 0) {
                        cmd.getHostConfig().withMemory(memoryBytes).withMemorySwap(memoryBytes);
                    }
                });
    }

    private void accept(OutputFrame frame) {
        String s = frame.getUtf8StringWithoutLineEnding();
        if (frame.getType() != OutputFrame.OutputType.END && s != null) {
            lines.add(s);
        }
    }

    /** Starts the container and waits for the arbiter's "listening on" line. */
    ArbiterContainer start() {
        try {
            container.start();
        } catch (RuntimeException e) {
            throw new AssertionError("the arbiter container did not start: " + e + "\noutput:\n" + output(), e);
        }
        Matcher m = LISTENING.matcher(awaitLine(l -> LISTENING.matcher(l).find(), BOOT));
        if (!m.find()) {
            throw new AssertionError("unexpected listening line");
        }
        port = Integer.parseInt(m.group(1));
        statusPort = Integer.parseInt(m.group(2));
        return this;
    }

    String id() {
        return container.getContainerId();
    }

    int port() {
        return port;
    }

    int statusPort() {
        return statusPort;
    }

    /** The arbiter's status JSON, fetched from the host. */
    JsonNode status() throws IOException {
        Http.Reply r = Http.get(statusPort, "/");
        if (r.code() != 200) {
            throw new IOException("status answered " + r.statusLine());
        }
        return JSON.readTree(r.body());
    }

    /** {@code details.arbiter.workers} of the status, once {@code p} holds for it. */
    List<JsonNode> awaitWorkers(Predicate<List<JsonNode>> p) throws Exception {
        long deadline = System.nanoTime() + BOOT.toNanos();
        List<JsonNode> last = List.of();
        while (System.nanoTime() < deadline) {
            List<JsonNode> ws = new ArrayList<>();
            status().path("details").path("arbiter").path("workers").forEach(ws::add);
            last = ws;
            if (p.test(ws)) {
                return ws;
            }
            Thread.sleep(50);
        }
        throw new AssertionError("the arbiter's workers never matched within " + BOOT + ": " + last + "\n" + output());
    }

    static boolean allReady(List<JsonNode> ws, int n) {
        return ws.size() == n && ws.stream().allMatch(w -> w.path("state").asText().equals("ready")
                && w.path("role").asText().equals("current"));
    }

    /** The first output line matching {@code p}, waiting up to {@code timeout}. */
    String awaitLine(Predicate<String> p, Duration timeout) {
        long deadline = System.nanoTime() + timeout.toNanos();
        do {
            synchronized (lines) {
                for (String l : lines) {
                    if (p.test(l)) {
                        return l;
                    }
                }
            }
            try {
                Thread.sleep(20);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            }
        } while (System.nanoTime() < deadline);
        throw new AssertionError("no matching output line within " + timeout + "; output:\n" + output());
    }

    /** {@code docker kill -s <signal>}: the engine sends it to the container's PID 1, the arbiter. */
    void kill(String signal) {
        container.getDockerClient().killContainerCmd(id()).withSignal(signal).exec();
    }

    /** {@code docker stop -t <seconds>}: SIGTERM to PID 1, SIGKILL after the grace period; returns once it exited. */
    void dockerStop(int graceSeconds) {
        container.getDockerClient().stopContainerCmd(id()).withTimeout(graceSeconds).exec();
    }

    /**
     * The container's processes as {@code docker top} lists them ({@code ps -o pid,stat,args} on the engine's host),
     * one {@code "<stat> <args>"} string each.
     */
    List<String> processes() {
        var top = container.getDockerClient().topContainerCmd(id()).withPsArgs("-o pid,stat,args").exec();
        List<String> titles = List.of(top.getTitles());
        int stat = titles.indexOf("STAT");
        int args = titles.indexOf("COMMAND");
        List<String> out = new ArrayList<>();
        for (String[] p : top.getProcesses()) {
            out.add(p[stat] + " " + p[args]);
        }
        return out;
    }

    InspectContainerResponse.ContainerState state() {
        return container.getDockerClient().inspectContainerCmd(id()).exec().getState();
    }

    String output() {
        synchronized (lines) {
            int from = Math.max(0, lines.size() - 200);
            return String.join("\n", lines.subList(from, lines.size()));
        }
    }

    @Override
    public void close() {
        container.stop();
    }
}
