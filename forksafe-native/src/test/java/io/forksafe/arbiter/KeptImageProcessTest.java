package io.forksafe.arbiter;

import static io.forksafe.arbiter.TestHttp.fields;
import static io.forksafe.arbiter.TestHttp.freePort;
import static io.forksafe.arbiter.TestHttp.waitFor;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.jar.JarOutputStream;
import java.util.zip.ZipEntry;

import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * {@code --image-dir}: the preload image kept between arbiter runs, with real arbiter processes and real CRIU. One
 * sequence of five runs over one directory (each preload start costs a template boot): a new image, the same inputs
 * (reused: the template's main does not run again, and the copies serve with the new arbiter as their parent), then
 * a changed class-path jar, changed JVM options and a changed {@code --image-key-env} variable, each refused by name
 * in the log and the status; in the last run a reload (HUP) makes the kept image. Skipped, with the reason printed, where CRIU cannot run.
 */
@Timeout(300)
class KeptImageProcessTest {

    private static final String FLAVOR = "FORKSAFE_TEST_IMAGE_FLAVOR";

    @BeforeAll
    static void criuUsable() {
        var reason = Criu.unavailableReason();
        reason.ifPresent(r -> System.out.println("KeptImageProcessTest skipped: " + r));
        Assumptions.assumeTrue(reason.isEmpty(), () -> reason.orElse(""));
    }

    /** One arbiter run: started, both copies serving, its figures taken, stopped with SIGTERM (exit 0). */
    private record Outcome(String output, JsonNode preload, Map<String, String> response, long arbiterPid,
                           long startToServingMillis, long templateBoots) {
    }

    @Test
    void aKeptImageIsReusedWhileItsKeyMatchesAndReplacedNamingTheInputThatChanged() throws Exception {
        Path tmp = ArbiterRun.tempDir();
        Path dir = tmp.resolve("image");
        Path marker = tmp.resolve("template-boots.txt");
        Path jar = tmp.resolve("extra.jar");
        writeJar(jar, "one");
        String cp = System.getProperty("java.class.path") + java.io.File.pathSeparator + jar;
        List<String> base = List.of("--image-dir", dir.toString(), "--image-key-env", FLAVOR, "--classpath", cp);
        Map<String, String> env = Map.of("PRELOADAPP_BOOT_MARKER", marker.toString(), FLAVOR, "a");
        int port = freePort(); // the same in every run: the template's arguments name it

        Outcome first = run(port, base, env, marker);
        assertThat(first.output).contains("no preload image in " + dir + " yet; checkpointing a new template");
        assertThat(first.preload.path("imageSource").asText()).startsWith("new image: no preload image in");
        assertThat(first.preload.path("imageDir").asText()).isEqualTo(dir.toString());
        assertThat(first.preload.path("imageKey").asText()).matches("sha256 [0-9a-f]{12} of \\d+ inputs");
        assertThat(first.templateBoots).isEqualTo(1);
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(dir))).isEqualTo("rwx------");
        assertThat(Files.exists(dir.resolve("image-0").resolve("image.properties"))).isTrue();

        // nothing changed: no template boots, the copies are restored from the kept image and serve
        Outcome same = run(port, base, env, marker);
        assertThat(same.output).contains("preload: image 0 in " + dir + " reused (its key matches")
                .doesNotContain("checkpointing a new template");
        assertThat(same.preload.path("imageSource").asText()).isEqualTo("kept image reused");
        assertThat(same.preload.path("imageKey").asText()).isEqualTo(first.preload.path("imageKey").asText());
        assertThat(same.templateBoots).as("the template's main ran again").isEqualTo(1);
        assertThat(same.response.get("kind")).isEqualTo("RESTORE");
        // the copy learns its arbiter from the arbiter that restored it, not from the image's environment
        assertThat(same.response.get("arbiter")).isEqualTo(String.valueOf(same.arbiterPid))
                .isNotEqualTo(String.valueOf(first.arbiterPid));
        System.out.println("kept image: arbiter start -> 2 copies serving " + same.startToServingMillis
                + " ms reused, " + first.startToServingMillis + " ms with a new template");

        // a class-path jar's content changed
        writeJar(jar, "two");
        Outcome jarChanged = run(port, base, env, marker);
        String stale = "preload image in " + dir + " is stale: class path entry " + jar + " changed (sha256 ";
        assertThat(jarChanged.output).contains(stale);
        assertThat(jarChanged.preload.path("imageSource").asText()).startsWith("new image: " + stale);
        assertThat(jarChanged.templateBoots).isEqualTo(2);
        assertThat(Files.exists(dir.resolve("image-0"))).as("the stale image is removed").isFalse();

        // the JVM options changed
        List<String> withOption = new ArrayList<>(base);
        withOption.addAll(List.of("--jvm-opt", "-Dforksafe.test.image=2"));
        Outcome optionChanged = run(port, withOption, env, marker);
        assertThat(optionChanged.output).contains("is stale: JVM options changed (")
                .contains("-Dforksafe.test.image=2)");
        assertThat(optionChanged.preload.path("imageSource").asText()).contains("JVM options changed");
        assertThat(optionChanged.templateBoots).isEqualTo(3);

        // a variable named with --image-key-env changed; its values are not printed (they may be secrets). Then a
        // reload (HUP): its image becomes the kept one
        Outcome envChanged = run(port, withOption, Map.of("PRELOADAPP_BOOT_MARKER", marker.toString(), FLAVOR,
                "b-secret"), marker, run -> {
                    run.signal(jnr.constants.platform.Signal.SIGHUP);
                    run.awaitLine(l -> l.contains("new image 4 ready"), Duration.ofSeconds(60));
                    JsonNode reloaded = run.status().path("details").path("arbiter").path("preload");
                    assertThat(reloaded.path("imageSource").asText()).isEqualTo("new image: reload (SIGHUP)");
                    assertThat(reloaded.path("imageGeneration").asInt()).isEqualTo(4);
                    // the roll onto image 4 finishes before the stop (a stop during a restore waits for it)
                    run.awaitWorkers(ws -> ArbiterRun.allReady(ws, 2) && ws.stream().allMatch(
                            w -> w.path("generation").asInt() == 1), Duration.ofSeconds(60));
                });
        assertThat(envChanged.output).contains("is stale: environment variable " + FLAVOR + " changed (sha256 ")
                .doesNotContain("b-secret");
        assertThat(envChanged.preload.path("imageSource").asText()).contains("environment variable " + FLAVOR);
        assertThat(envChanged.templateBoots).isEqualTo(5);
        assertThat(Files.readString(dir.resolve("image-4").resolve("image.properties"))).contains("generation=4")
                .doesNotContain("b-secret");
    }

    private static Outcome run(int port, List<String> options, Map<String, String> env, Path marker)
            throws Exception {
        return run(port, options, env, marker, r -> { });
    }

    interface Step {
        void run(ArbiterRun run) throws Exception;
    }

    /** Starts, waits for both copies, runs {@code whileServing}, reads the status and stops with SIGTERM. */
    private static Outcome run(int port, List<String> options, Map<String, String> env, Path marker,
                               Step whileServing) throws Exception {
        try (ArbiterRun run = PreloadProcessTest.cli(List.of(), env, 2, port,
                options.toArray(String[]::new))) {
            assertThat(run.statusPort).as("status port printed: %s", run.output()).isPositive();
            List<Long> pids = run.awaitReady(2, Duration.ofSeconds(60));
            long serving = run.millisSinceStart();
            Map<String, String> response = fields(run.get("/"));
            assertThat(Long.parseLong(response.get("pid"))).isIn(pids);
            JsonNode preload = run.status().path("details").path("arbiter").path("preload");
            whileServing.run(run);
            ArbiterRun.signal(run.pid(), jnr.constants.platform.Signal.SIGTERM);
            assertThat(run.awaitExit(Duration.ofSeconds(20))).as(run.output()).isZero();
            waitFor(() -> pids.stream().noneMatch(pid -> ProcessHandle.of(pid).map(ProcessHandle::isAlive)
                    .orElse(false)), Duration.ofSeconds(10), "the copies to stop");
            return new Outcome(run.output(), preload, response, run.pid(), serving, boots(marker));
        }
    }

    private static long boots(Path marker) throws IOException {
        return Files.exists(marker) ? Files.readAllLines(marker).size() : 0;
    }

    private static void writeJar(Path jar, String content) throws IOException {
        try (OutputStream out = Files.newOutputStream(jar); JarOutputStream j = new JarOutputStream(out)) {
            j.putNextEntry(new ZipEntry("forksafe-test/extra.txt"));
            j.write(content.getBytes(StandardCharsets.UTF_8));
            j.closeEntry();
        }
    }
}
