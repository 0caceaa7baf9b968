package io.forksafe.arbiter;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayOutputStream;
import java.io.File;
import java.io.PrintStream;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.function.UnaryOperator;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The configuration built in code: every setter reaches its accessor, every bound is checked at its edge, and the
 * derived values (heartbeat, defaults) are exact. Nothing is started.
 */
class ArbiterConfigMutationTest {

    @TempDir
    Path tmp;

    private static ArbiterConfig.Builder minimal() {
        return ArbiterConfig.builder().bind("127.0.0.1:8080").app("com.example.Main");
    }

    private static void refused(UnaryOperator<ArbiterConfig.Builder> change, String message) {
        assertThatThrownBy(() -> change.apply(minimal()).build()).isInstanceOf(IllegalArgumentException.class)
                .hasMessage(message);
    }

    @Test
    void everySetterReachesItsAccessorInSpawnMode() {
        PrintStream out = new PrintStream(new ByteArrayOutputStream());
        PrintStream err = new PrintStream(new ByteArrayOutputStream());
        ArbiterConfig c = ArbiterConfig.builder()
                .workers(3)
                .standby(2)
                .bind("127.0.0.1:9090")
                .backlog(64)
                .javaCommand("/opt/java/bin/java")
                .jvmOptions(List.of("-Xmx64m"))
                .addJvmOption("-Dx=1")
                .classpath("app.jar")
                .environment("A", "1")
                .timeout(Duration.ofSeconds(10))
                .bootTimeout(Duration.ofSeconds(20))
                .gracefulTimeout(Duration.ofSeconds(5))
                .abortGrace(Duration.ofSeconds(2))
                .maxBackoff(Duration.ofSeconds(7))
                .statusPort(0)
                .statusFile(tmp.resolve("status.json"))
                .pidfile(tmp.resolve("arbiter.pid"))
                .logFile(tmp.resolve("arbiter.log"), 4096, 2)
                .printEvents(true)
                .console(out, err)
                .app("com.example.Main", "a1", "a2")
                .build();
        assertThat(c.workers()).isEqualTo(3);
        assertThat(c.standby()).isEqualTo(2);
        assertThat(c.bind()).isEqualTo(new InetSocketAddress("127.0.0.1", 9090));
        assertThat(c.backlog()).isEqualTo(64);
        assertThat(c.javaCommand()).isEqualTo("/opt/java/bin/java");
        assertThat(c.jvmOptions()).contains("-Xmx64m", "-Dx=1");
        assertThat(c.classpath()).isEqualTo("app.jar");
        assertThat(c.environment()).isEqualTo(Map.of("A", "1"));
        assertThat(c.timeout()).isEqualTo(Duration.ofSeconds(10));
        assertThat(c.bootTimeout()).isEqualTo(Duration.ofSeconds(20));
        assertThat(c.gracefulTimeout()).isEqualTo(Duration.ofSeconds(5));
        assertThat(c.abortGrace()).isEqualTo(Duration.ofSeconds(2));
        assertThat(c.maxBackoff()).isEqualTo(Duration.ofSeconds(7));
        assertThat(c.statusPort()).isEqualTo(0);
        assertThat(c.statusFile()).isEqualTo(tmp.resolve("status.json"));
        assertThat(c.pidfile()).isEqualTo(tmp.resolve("arbiter.pid"));
        assertThat(c.logFile()).isEqualTo(tmp.resolve("arbiter.log"));
        assertThat(c.logMaxBytes()).isEqualTo(4096);
        assertThat(c.logMaxFiles()).isEqualTo(2);
        assertThat(c.printEvents()).isTrue();
        assertThat(c.preload()).isFalse();
        assertThat(c.out()).isSameAs(out);
        assertThat(c.err()).isSameAs(err);
        assertThat(c.mainClass()).isEqualTo("com.example.Main");
        assertThat(c.args()).containsExactly("a1", "a2");
        assertThat(c.cdsArchive()).isNull();
        assertThat(c.workDir()).isNull();
        assertThat(c.imageDir()).isNull();
        assertThat(c.toString()).isEqualTo("ArbiterConfig[workers=3, bind=/127.0.0.1:9090, main=com.example.Main "
                + "[a1, a2], timeout=PT10S, gracefulTimeout=PT5S]");
    }

    @Test
    void theDefaultsAreGunicornsAndTheConsoleIsTheProcesss() {
        ArbiterConfig c = minimal().build();
        assertThat(c.workers()).isEqualTo(1);
        assertThat(c.standby()).isZero();
        assertThat(c.backlog()).isEqualTo(2048);
        assertThat(c.timeout()).isEqualTo(Duration.ofSeconds(30));
        assertThat(c.gracefulTimeout()).isEqualTo(Duration.ofSeconds(30));
        assertThat(c.bootTimeout()).isEqualTo(Duration.ofSeconds(60));
        assertThat(c.statusPort()).isNull();
        assertThat(c.statusFile()).isNull();
        assertThat(c.pidfile()).isNull();
        assertThat(c.logFile()).isNull();
        assertThat(c.logMaxBytes()).isEqualTo(10L * 1024 * 1024);
        assertThat(c.logMaxFiles()).isEqualTo(5);
        assertThat(c.printEvents()).isFalse();
        assertThat(c.out()).isSameAs(System.out);
        assertThat(c.err()).isSameAs(System.err);
        assertThat(c.environment()).isEmpty();
        assertThat(c.imageKeyEnvironment()).isEmpty();
    }

    @Test
    void thePreloadSettersReachTheirAccessors() {
        ArbiterConfig kept = minimal().preload(true).imageDir(tmp.resolve("img")).imageKeyEnvironment("TZ").build();
        assertThat(kept.preload()).isTrue();
        assertThat(kept.imageDir()).isEqualTo(tmp.resolve("img"));
        assertThat(kept.imageKeyEnvironment()).containsExactly("TZ");
        ArbiterConfig work = minimal().preload(true).workDir(tmp.resolve("work")).build();
        assertThat(work.workDir()).isEqualTo(tmp.resolve("work"));
    }

    @Test
    void theHeartbeatIsAFifthOfTheTimeoutBetween100msAnd2s() {
        assertThat(minimal().timeout(Duration.ofSeconds(5)).build().heartbeatInterval()).isEqualTo(Duration.ofSeconds(1));
        assertThat(minimal().timeout(Duration.ofSeconds(30)).build().heartbeatInterval())
                .isEqualTo(Duration.ofSeconds(2));
        assertThat(minimal().timeout(Duration.ofMillis(200)).build().heartbeatInterval())
                .isEqualTo(Duration.ofMillis(100));
    }

    @Test
    void everyBoundIsCheckedAtItsEdge() {
        assertThat(minimal().workers(1).build().workers()).isEqualTo(1);
        refused(b -> b.workers(0), "--workers must be at least 1, got 0");
        assertThat(minimal().standby(ArbiterConfig.MAX_STANDBY).build().standby()).isEqualTo(16);
        refused(b -> b.standby(17), "--standby must be 0..16 (booted idle workers besides --workers), got 17");
        refused(b -> b.standby(-1), "--standby must be 0..16 (booted idle workers besides --workers), got -1");
        assertThat(minimal().backlog(1).build().backlog()).isEqualTo(1);
        refused(b -> b.backlog(0), "--backlog must be at least 1, got 0");
        assertThat(minimal().statusPort(65535).build().statusPort()).isEqualTo(65535);
        refused(b -> b.statusPort(65536), "--status-port must be 0..65535 (0: any free port), got 65536");
        refused(b -> b.statusPort(-1), "--status-port must be 0..65535 (0: any free port), got -1");
        assertThat(minimal().logMaxSize(1024).logMaxFiles(0).build().logMaxBytes()).isEqualTo(1024);
        refused(b -> b.logMaxSize(1023), "log rotation needs --log-max-size >= 1k and --log-max-files >= 0, "
                + "got 1023 bytes and 5");
        refused(b -> b.logMaxFiles(-1), "log rotation needs --log-max-size >= 1k and --log-max-files >= 0, "
                + "got 10485760 bytes and -1");
        refused(b -> ArbiterConfig.builder().app("x.Main"), "no listening address: --bind is required, e.g. --bind "
                + "127.0.0.1:8080 (in code: bind(\"127.0.0.1:8080\"))");
        refused(b -> b.app(" "), "no worker main class: end the options with -- com.example.AppMain [args...] "
                + "(in code: app(\"com.example.AppMain\", args...))");
    }

    @Test
    void everyDurationMustBePositive() {
        refused(b -> b.timeout(Duration.ZERO), "--timeout must be positive, got 0ms: e.g. --timeout 30s");
        refused(b -> b.bootTimeout(Duration.ofMillis(-5)), "--boot-timeout must be positive, got -5ms: e.g. "
                + "--boot-timeout 30s");
        refused(b -> b.gracefulTimeout(null), "--graceful-timeout must be positive, got none: e.g. "
                + "--graceful-timeout 30s");
        refused(b -> b.abortGrace(Duration.ZERO), "--abort-grace must be positive, got 0ms: e.g. --abort-grace 30s");
        refused(b -> b.maxBackoff(Duration.ZERO), "--max-backoff must be positive, got 0ms: e.g. --max-backoff 30s");
        assertThat(minimal().timeout(Duration.ofMillis(1)).build().timeout()).isEqualTo(Duration.ofMillis(1));
    }

    @Test
    void theImageOptionsAreCheckedTogether() {
        refused(b -> b.preload(true).imageDir(tmp.resolve("i")).workDir(tmp.resolve("w")),
                "--work-dir and --image-dir both keep the preload image: --image-dir keeps it for the next run (with "
                        + "CRIU's logs), --work-dir only for a look after this one; use one of them");
        refused(b -> b.preload(true).imageKeyEnvironment("TZ"), "--image-key-env names inputs of a kept image's "
                + "key: add --image-dir DIR, or remove it");
    }

    @Test
    void anImageDirThatIsAFileIsRefused() throws Exception {
        Path file = Files.writeString(tmp.resolve("file"), "x");
        assertThatThrownBy(() -> minimal().preload(true).imageDir(file).build())
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining(file.toString());
    }

    @Test
    void anAppCdsArchiveNeedsJarsAnExistingDirectoryAndNoConflictingOption() throws Exception {
        Path archive = tmp.resolve("app.jsa");
        Path jar = Files.writeString(tmp.resolve("app.jar"), "x");
        Path emptyDir = Files.createDirectories(tmp.resolve("empty"));
        ArbiterConfig ok = minimal().classpath(jar + File.pathSeparator + emptyDir + File.pathSeparator)
                .jvmOptions(List.of("-Xmx64m")).cdsArchive(archive).build();
        assertThat(ok.cdsArchive()).isEqualTo(archive);

        for (String o : List.of("-Xshare:off", "-XX:SharedArchiveFile=a.jsa", "-XX:ArchiveClassesAtExit=b.jsa")) {
            refused(b -> b.classpath(jar.toString()).jvmOptions(List.of(o)).cdsArchive(archive),
                    "the AppCDS archive option (--cds-archive) cannot be combined with the worker JVM option " + o
                            + ": remove one of them");
        }
        Path classes = Files.createDirectories(tmp.resolve("classes"));
        Files.writeString(classes.resolve("A.class"), "x");
        refused(b -> b.classpath(jar + File.pathSeparator + classes).jvmOptions(List.of()).cdsArchive(archive),
                "an AppCDS archive (--cds-archive) holds classes from JAR files only, and the workers' class path "
                        + "has the directory " + classes + ": package it as a jar (mvn package) or drop --cds-archive");
        Path missing = tmp.resolve("no/such/app.jsa");
        refused(b -> b.classpath(jar.toString()).jvmOptions(List.of()).cdsArchive(missing),
                "AppCDS archive directory " + missing.getParent() + " does not exist: create it or choose another "
                        + "--cds-archive path");
    }
}
