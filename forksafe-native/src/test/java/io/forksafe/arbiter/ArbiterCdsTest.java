package io.forksafe.arbiter;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;

import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.spi.ToolProvider;

import jnr.constants.platform.Signal;
import org.junit.jupiter.api.Test;

/**
 * {@code --cds-archive} with real processes: the first worker records a JDK dynamic AppCDS archive when it exits, the
 * arbiter moves it into place, and the next run's worker maps it (its {@code -Xlog:class+load} names the dynamic
 * archive, "shared objects file (top)", as the source of the application's classes).
 */
class ArbiterCdsTest {

    private static final Duration BOOT = Duration.ofSeconds(40);

    /** The test class path with every directory packed into a jar: the JDK archives classes from jars only. */
    private static String jarredClasspath(Path dir) throws Exception {
        List<String> out = new ArrayList<>();
        int n = 0;
        for (String entry : System.getProperty("java.class.path").split(File.pathSeparator)) {
            Path p = Path.of(entry);
            if (Files.isDirectory(p)) {
                Path jar = dir.resolve("cp-" + (n++) + ".jar");
                int rc = ToolProvider.findFirst("jar").orElseThrow()
                        .run(System.out, System.err, "cf", jar.toString(), "-C", p.toString(), ".");
                assertThat(rc).as("jar of " + p).isZero();
                out.add(jar.toString());
            } else {
                out.add(entry);
            }
        }
        return String.join(File.pathSeparator, out);
    }

    private static List<String> options(Path archive, String classpath, String... extra) {
        List<String> o = new ArrayList<>(List.of("--workers", "1", "--bind", "127.0.0.1:0", "--status-port", "0",
                "--cds-archive", archive.toString(), "--classpath", classpath));
        o.addAll(List.of(extra));
        return o;
    }

    @Test
    void theFirstWorkerRecordsTheArchiveAtExitAndLaterWorkersMapIt() throws Exception {
        Path dir = ArbiterRun.tempDir();
        Path archive = dir.resolve("workers.jsa");
        String classpath = jarredClasspath(dir);
        try (ArbiterRun run = ArbiterRun.start(options(archive, classpath))) {
            run.awaitReady(1, BOOT);
            assertThat(run.get("/")).isNotEmpty();
            JsonNode cds = run.status().path("details").path("arbiter").path("cdsArchive");
            assertThat(cds.path("exists").asBoolean()).isFalse();
            assertThat(cds.path("recorderPid").asLong()).isPositive();
            run.signal(Signal.SIGTERM);
            assertThat(run.awaitExit(Duration.ofSeconds(60))).isZero();
            assertThat(run.output()).contains("AppCDS archive " + archive + " written");
        }
        assertThat(archive).isRegularFile();
        assertThat(Files.size(archive)).isGreaterThan(100_000L);
        assertThat(dir.resolve("workers.jsa.part")).doesNotExist();

        Path classLog = dir.resolve("class-load.log");
        try (ArbiterRun run = ArbiterRun.start(options(archive, classpath, "--jvm-opt",
                "-Xlog:class+load=info:file=" + classLog))) {
            run.awaitReady(1, BOOT);
            assertThat(run.get("/")).isNotEmpty();
            JsonNode cds = run.status().path("details").path("arbiter").path("cdsArchive");
            assertThat(cds.path("exists").asBoolean()).isTrue();
            assertThat(cds.path("lastEvent").asText()).isEqualTo("workers map the archive");
            List<String> appClasses = Files.readAllLines(classLog).stream()
                    .filter(l -> l.contains(" " + ArbiterRun.APP + " ")).toList();
            assertThat(appClasses).as("class+load lines of the app's main class").isNotEmpty()
                    .allMatch(l -> l.contains("source: shared objects file (top)"));
        }
    }

    @Test
    void optionsThatDefeatTheArchiveAreRefusedWithTheFix() {
        assertThatThrownBy(() -> ArbiterMain.parse(new String[] {"--bind", "127.0.0.1:0",
                "--cds-archive", "/nonexistent-forksafe-dir/w.jsa", "--classpath", "app.jar", "--", "x.Main"}))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("does not exist: create it or choose another --cds-archive path");
        assertThatThrownBy(() -> ArbiterMain.parse(new String[] {"--bind", "127.0.0.1:0",
                "--cds-archive", System.getProperty("java.io.tmpdir") + "/w.jsa", "--jvm-opt", "-Xshare:off",
                "--classpath", "app.jar", "--", "x.Main"}))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("cannot be combined with the worker JVM option -Xshare:off");
        assertThatThrownBy(() -> ArbiterMain.parse(new String[] {"--bind", "127.0.0.1:0",
                "--cds-archive", System.getProperty("java.io.tmpdir") + "/w.jsa",
                "--classpath", System.getProperty("user.dir") + "/target/test-classes", "--", "x.Main"}))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("holds classes from JAR files only")
                .hasMessageContaining("target/test-classes");
    }
}
