package io.forksafe.jetty;

import com.fasterxml.jackson.databind.JsonNode;

import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

import java.io.File;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Virtual threads on a real JDK 25 (Temurin, {@code /usr/lib/jvm/temurin-25-jdk-amd64}, or {@code -Dforksafe.jdk25}):
 * a child JVM runs {@link VirtualThreadsProbe}. Skipped, with the reason printed, when that JDK is absent.
 */
class VirtualThreadsTest {

    private static final Path JAVA_25 = Path.of(System.getProperty("forksafe.jdk25",
            "/usr/lib/jvm/temurin-25-jdk-amd64"), "bin", "java");

    @Test
    void blockingTasksOnVirtualThreadsBypassThreadCreationAndTheStatusSaysSo() throws Exception {
        List<String> out = runProbe("hybrid");
        List<String> handlers = lines(out, "HANDLER ");
        assertThat(handlers).hasSize(3).allSatisfy(h -> assertThat(h).startsWith("true VirtualThread"));
        List<String> postForks = lines(out, "POSTFORK ");
        assertThat(postForks).as("platform pool threads still get PostFork").isNotEmpty()
                .allSatisfy(n -> assertThat(n).startsWith("qtp"));
        JsonNode status = JettyTestSupport.json(lines(out, "STATUS ").get(0));
        assertThat(status.path("status").asText()).isEqualTo("Jetty hook configured");
        assertThat(status.path("notes").path("jetty.virtualThreads").asText())
                .contains("virtual threads", "bypass the pool's thread creation", "no PreFork, PostFork or WorkerExit");
        assertThat(status.path("details").path("jetty").path("virtualThreads").asText())
                .startsWith("used for blocking tasks");
        assertThat(status.path("details").path("jetty").path("threadPool").path("threadsCreated").asLong())
                .isPositive();
        assertThat(Long.parseLong(lines(out, "CREATED ").get(0))).isEqualTo(postForks.size());
        assertThat(postForks).doesNotHaveDuplicates();
    }

    @Test
    void jettysAllVirtualPoolIsReportedAsHavingNoThreadEvents() throws Exception {
        List<String> out = runProbe("all-virtual");
        assertThat(lines(out, "HANDLER ")).hasSize(3).allSatisfy(h -> assertThat(h).startsWith("true "));
        assertThat(lines(out, "POSTFORK ")).isEmpty();
        JsonNode status = JettyTestSupport.json(lines(out, "STATUS ").get(0));
        assertThat(status.path("status").asText()).startsWith("Jetty error: ")
                .contains("VirtualThreadPool", "no worker threads");
        assertThat(status.path("notes").path("jetty.virtualThreads").asText()).contains("VirtualThreadPool");
    }

    private static List<String> runProbe(String mode) throws Exception {
        if (!Files.isExecutable(JAVA_25)) {
            String reason = "JDK 25 not found at " + JAVA_25 + ": virtual-thread test skipped (install Temurin 25 "
                    + "or pass -Dforksafe.jdk25=<java home>)";
            System.out.println("[VirtualThreadsTest] " + reason);
            Assumptions.abort(reason);
        }
        Path target = Path.of("target");
        String cp = Files.readString(target.resolve("test-classpath.txt")).strip() + File.pathSeparator
                + target.resolve("classes").toAbsolutePath() + File.pathSeparator
                + target.resolve("test-classes").toAbsolutePath();
        ProcessBuilder pb = new ProcessBuilder(JAVA_25.toString(), "-cp", cp,
                "-Djava.util.logging.config.file=" + target.resolve("test-classes/logging.properties"),
                VirtualThreadsProbe.class.getName(), mode).redirectErrorStream(true);
        Process p = pb.start();
        String text;
        try {
            // Drain the output while waiting, so a full pipe never blocks the child.
            CompletableFuture<String> output = CompletableFuture.supplyAsync(() -> {
                try {
                    return new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
                } catch (java.io.IOException e) {
                    throw new java.io.UncheckedIOException(e);
                }
            });
            if (!p.waitFor(60, TimeUnit.SECONDS)) {
                throw new AssertionError("the JDK 25 probe did not finish within 60 s");
            }
            text = output.get(10, TimeUnit.SECONDS);
        } finally {
            p.destroyForcibly();
        }
        assertThat(p.exitValue()).as("probe exit status; output:%n%s", text).isZero();
        return List.of(text.split("\\R"));
    }

    private static List<String> lines(List<String> out, String prefix) {
        List<String> matching = new ArrayList<>();
        for (String line : out) {
            if (line.startsWith(prefix)) {
                matching.add(line.substring(prefix.length()));
            }
        }
        return matching;
    }
}
