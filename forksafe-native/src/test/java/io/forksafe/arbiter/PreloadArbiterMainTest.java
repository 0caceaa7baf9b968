package io.forksafe.arbiter;

import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** {@code ArbiterMain --preload}: parsing and the refusals that need no CRIU (was also PreloadMainTest). */
class PreloadArbiterMainTest {

    record Run(int code, String out, String err) {
    }

    private static Run run(String... args) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int code = ArbiterMain.run(args, new PrintStream(out, true, StandardCharsets.UTF_8),
                new PrintStream(err, true, StandardCharsets.UTF_8));
        return new Run(code, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    }

    @Test
    void preloadIsAFlagOfTheArbitersCommandLine() {
        ArbiterConfig c = ArbiterMain.parse(new String[] {"--preload", "--workers", "3", "--bind", "127.0.0.1:8080",
                "--", "com.example.App", "x"});
        assertThat(c.preload()).isTrue();
        assertThat(c.workers()).isEqualTo(3);
        assertThat(c.args()).containsExactly("x");
        assertThat(ArbiterMain.parse(new String[] {"--bind", "127.0.0.1:8080", "--", "A"}).preload()).isFalse();
        assertThat(ArbiterMain.USAGE).contains("--preload");
    }

    @Test
    void theSupervisionOptionsAndTheBacklogApplyWithPreload() {
        // one supervisor: restored copies heartbeat, are logged and listed like spawned workers
        ArbiterConfig c = ArbiterMain.parse(new String[] {"--preload", "--timeout", "5s", "--abort-grace", "200ms",
                "--max-backoff", "2s", "--log-file", "/tmp/x.log", "--status-file", "/tmp/s.json", "--bind",
                "127.0.0.1:8080", "--", "A"});
        assertThat(c.timeout()).isEqualTo(Duration.ofSeconds(5));
        assertThat(c.logFile()).hasToString("/tmp/x.log");
        assertThat(c.statusFile()).hasToString("/tmp/s.json");
        assertThat(ArbiterMain.parse(new String[] {"--preload", "--backlog", "16", "--bind", "127.0.0.1:8080", "--",
                "A"}).backlog()).isEqualTo(16);
        assertThat(ArbiterMain.parse(new String[] {"--backlog", "16", "--bind", "127.0.0.1:8080", "--", "A"})
                .backlog()).isEqualTo(16);
    }

    @Test
    void aBadFlagExitsTwoWithTheProblem() {
        Run r = run("--preload", "--wrokers", "2", "--bind", "127.0.0.1:8080", "--", "X");
        assertThat(r.code()).isEqualTo(2);
        assertThat(r.err()).contains("unknown option --wrokers").contains("Run with --help for usage.");
    }

    @Test
    void aMissingMainClassOrValueIsNamed() {
        Run r = run("--preload", "--workers", "2", "--bind", "127.0.0.1:8080");
        assertThat(r.code()).isEqualTo(2);
        assertThat(r.err()).contains("no worker main class: end the options with -- com.example.AppMain");
        r = run("--preload", "--workers", "0", "--bind", "127.0.0.1:8080", "--", "X");
        assertThat(r.code()).isEqualTo(2);
        assertThat(r.err()).contains("workers must be at least 1, got 0");
        r = run("--preload", "--bind", "127.0.0.1:8080", "--boot-timeout");
        assertThat(r.code()).isEqualTo(2);
        assertThat(r.err()).contains("--boot-timeout needs a value");
    }

    @Test
    void anImageDirectoryOthersMayWriteIsRefusedWithExitTwoAndTheFix() throws Exception {
        java.nio.file.Path dir = java.nio.file.Files.createTempDirectory("open-image-dir");
        java.nio.file.Files.setPosixFilePermissions(dir,
                java.nio.file.attribute.PosixFilePermissions.fromString("rwxrwxrwx"));
        Run r = run("--preload", "--image-dir", dir.toString(), "--bind", "127.0.0.1:8080", "--", "X");
        assertThat(r.code()).isEqualTo(ArbiterMain.EXIT_USAGE);
        assertThat(r.err()).contains("--image-dir " + dir + " is writable by others (mode rwxrwxrwx)")
                .contains("chmod 700 " + dir);
        r = run("--image-dir", dir.toString(), "--bind", "127.0.0.1:8080", "--", "X");
        assertThat(r.code()).isEqualTo(ArbiterMain.EXIT_USAGE);
        assertThat(r.err()).contains("--image-dir applies only with --preload");
        r = run("--preload", "--image-key-env", "APP_PROFILE", "--bind", "127.0.0.1:8080", "--", "X");
        assertThat(r.err()).contains("--image-key-env names inputs of a kept image's key: add --image-dir DIR");
        r = run("--preload", "--image-dir", dir + "/kept", "--work-dir", "/tmp/w", "--bind", "127.0.0.1:8080", "--",
                "X");
        assertThat(r.err()).contains("--work-dir and --image-dir both keep the preload image");
        assertThat(ArbiterMain.parse(new String[] {"--preload", "--image-dir", dir + "/kept", "--image-key-env", "A",
                "--image-key-env", "B", "--bind", "127.0.0.1:8080", "--", "X"}).imageKeyEnvironment())
                .containsExactly("A", "B");
    }

    @Test
    void aMachineThatCannotRunPreloadExitsTwoNamingTheMissingPiece() throws Exception {
        java.nio.file.Path dir = java.nio.file.Files.createTempDirectory("fake-criu");
        java.nio.file.Path criu = dir.resolve("criu");
        java.nio.file.Files.writeString(criu, "#!/bin/sh\necho 'Version: 3.17.1'\n");
        criu.toFile().setExecutable(true);
        ProcessBuilder pb = new ProcessBuilder(ArbiterConfig.currentJava(), "-cp", System.getProperty("java.class.path"),
                ArbiterMain.class.getName(), "--preload", "--bind", "127.0.0.1:" + TestHttp.freePort(), "--",
                "com.example.Never").redirectErrorStream(true);
        pb.environment().put(Criu.ENV_CRIU, criu.toString());
        Process p = pb.start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor(30, java.util.concurrent.TimeUnit.SECONDS)).isTrue();
        assertThat(p.exitValue()).as(out).isEqualTo(ArbiterMain.EXIT_USAGE);
        assertThat(out).contains("CRIU >= 4.2").contains("is 3.17.1").doesNotContain("boot error");
    }
}
