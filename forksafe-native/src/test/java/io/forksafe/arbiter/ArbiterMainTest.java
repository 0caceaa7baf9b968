package io.forksafe.arbiter;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;

import org.junit.jupiter.api.Test;

/** The command line: parsing, help, and clear errors with exit code 2. */
class ArbiterMainTest {

    private record Result(int code, String out, String err) {
    }

    private static Result run(String... args) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int code = ArbiterMain.run(args, new PrintStream(out, true, StandardCharsets.UTF_8),
                new PrintStream(err, true, StandardCharsets.UTF_8));
        return new Result(code, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    }

    @Test
    void helpPrintsUsageAndExitsZero() {
        Result r = run("--help");
        assertThat(r.code()).isZero();
        assertThat(r.out()).contains("Usage:", "--workers N", "--bind ADDRESS", "--graceful-timeout", "--status-port",
                "--pidfile", "--log-file", "HUP rolling restart");
    }

    @Test
    void badFlagsExitTwoWithAMessageNamingTheProblem() {
        Result unknown = run("--wrokers", "2", "--bind", "127.0.0.1:0", "--", "x.Main");
        assertThat(unknown.code()).isEqualTo(2);
        assertThat(unknown.err()).contains("unknown option --wrokers: did you mean --workers?", "--help");

        assertThat(run("--workers", "two", "--bind", "127.0.0.1:0", "--", "x.Main").err())
                .contains("--workers needs a whole number, got 'two'");
        assertThat(run("--workers", "0", "--bind", "127.0.0.1:0", "--", "x.Main").err())
                .contains("workers must be at least 1");
        assertThat(run("--workers", "2", "--", "x.Main").err()).contains("--bind is required");
        assertThat(run("--bind", "127.0.0.1:0").err()).contains("no worker main class");
        assertThat(run("--bind", "localhost", "--", "x.Main").err()).contains("bad bind address 'localhost'");
        assertThat(run("--bind", "127.0.0.1:0", "--timeout", "-5s", "--", "x.Main").err())
                .contains("--timeout needs a duration such as 30, 30s, 1.5s, 500ms, 2m or 1h, got '-5s'");
        assertThat(run("--bind", "127.0.0.1:99999", "--", "x.Main").err()).contains("use 0..65535");
        assertThat(run("--bind", "127.0.0.1:0", "--timeout", "soon", "--", "x.Main").err())
                .contains("--timeout needs a duration");
        assertThat(run("--bind", "127.0.0.1:0", "--env", "NOEQUALS", "--", "x.Main").err()).contains("NAME=VALUE");
        assertThat(run("--bind", "127.0.0.1:0", "x.Main").err()).contains("put the worker's main class after --");
        assertThat(run("--bind", "127.0.0.1:0", "x.Main").code()).isEqualTo(2);
    }

    @Test
    void aPortInUseIsReportedWithExitCodeTwoByARealProcess() throws Exception {
        try (ServerSocket taken = new ServerSocket(0, 50, InetAddress.getLoopbackAddress())) {
            int port = taken.getLocalPort();
            try (ArbiterRun run = ArbiterRun.start(List.of("--workers", "1", "--bind", "127.0.0.1:" + port))) {
                assertThat(run.awaitExit(Duration.ofSeconds(20))).isEqualTo(2);
                assertThat(run.output()).contains("127.0.0.1:" + port + " is already in use")
                        .doesNotContain("spawned");
            }
        }
    }

    @Test
    void parsesEveryOption() {
        ArbiterConfig c = ArbiterMain.parse(new String[] {"--workers", "3", "--bind=[::1]:8080", "--timeout", "5s",
                "--boot-timeout", "2m", "--graceful-timeout", "1500ms", "--abort-grace", "0.2", "--status-port", "0",
                "--log-file", "/tmp/x.log", "--log-max-size", "2m", "--log-max-files", "3", "--jvm-opts", "-Xmx64m -Da=b",
                "--jvm-opt", "-Dc=d", "--classpath", "/cp", "--java", "/bin/java", "--env", "A=B=C", "--print-events",
                "--", "com.example.Main", "--port", "1"});
        assertThat(c.workers()).isEqualTo(3);
        assertThat(c.bind()).isEqualTo(new InetSocketAddress("::1", 8080));
        assertThat(c.timeout()).isEqualTo(Duration.ofSeconds(5));
        assertThat(c.bootTimeout()).isEqualTo(Duration.ofMinutes(2));
        assertThat(c.gracefulTimeout()).isEqualTo(Duration.ofMillis(1500));
        assertThat(c.abortGrace()).isEqualTo(Duration.ofMillis(200));
        assertThat(c.heartbeatInterval()).isEqualTo(Duration.ofSeconds(1));
        assertThat(c.statusPort()).isZero();
        assertThat(c.logMaxBytes()).isEqualTo(2L * 1024 * 1024);
        assertThat(c.logMaxFiles()).isEqualTo(3);
        assertThat(c.jvmOptions()).containsExactly("-Xmx64m", "-Da=b", "-Dc=d");
        assertThat(c.classpath()).isEqualTo("/cp");
        assertThat(c.javaCommand()).isEqualTo("/bin/java");
        assertThat(c.environment()).containsEntry("A", "B=C");
        assertThat(c.printEvents()).isTrue();
        assertThat(c.mainClass()).isEqualTo("com.example.Main");
        assertThat(c.args()).containsExactly("--port", "1");
    }

    @Test
    void workersInheritThisJvmUnlessOverridden() {
        ArbiterConfig c = ArbiterConfig.builder().bind("127.0.0.1:0").app("x.Main").build();
        assertThat(c.javaCommand()).isEqualTo(ProcessHandle.current().info().command().orElseThrow());
        assertThat(c.classpath()).isEqualTo(System.getProperty("java.class.path"));
        assertThat(c.jvmOptions()).noneMatch(o -> o.startsWith("-agentlib:jdwp"))
                .containsAll(java.lang.management.ManagementFactory.getRuntimeMXBean().getInputArguments().stream()
                        .filter(o -> !o.startsWith("-agentlib:jdwp")).toList());
        assertThatThrownBy(() -> ArbiterConfig.builder().app("x.Main").build())
                .hasMessageContaining("no listening address");
        assertThatThrownBy(() -> ArbiterConfig.builder().bind("127.0.0.1:0").build())
                .hasMessageContaining("no worker main class");
    }
}
