package io.forksafe.arbiter;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

import jnr.constants.platform.Signal;
import org.junit.jupiter.api.Test;

/**
 * {@code --daemon} with real processes: a real shell ({@code bash -c}) runs the arbiter with {@code --daemon}, and
 * returns once the detached arbiter serves (0) or failed to start (its exit code, with the reason).
 */
class DaemonProcessTest {

    private static final Duration BOOT = Duration.ofSeconds(60);
    private static final Pattern LISTENING = Pattern.compile("listening on 127\\.0\\.0\\.1:(\\d+)");

    private record Shell(int code, String output) {
    }

    /** {@code bash -c "java ... ArbiterMain <options> -- TinyHttpWorker"}: the shell's exit code and output. */
    private static Shell shell(List<String> options) throws Exception {
        List<String> cmd = new ArrayList<>();
        cmd.add(ArbiterConfig.currentJava());
        cmd.addAll(List.of(ArbiterRun.FAST_JVM.split(" ")));
        cmd.addAll(List.of("-cp", System.getProperty("java.class.path"), ArbiterMain.class.getName()));
        cmd.addAll(options);
        cmd.addAll(List.of("--jvm-opts", ArbiterRun.FAST_JVM, "--", ArbiterRun.APP));
        String line = cmd.stream().map(a -> "'" + a.replace("'", "'\\''") + "'").collect(Collectors.joining(" "));
        Process bash = new ProcessBuilder("bash", "-c", line).redirectErrorStream(true)
                .redirectInput(ProcessBuilder.Redirect.PIPE).start();
        // the daemon must not hold the shell's output open: reading it to the end returns once the caller exits
        String output = new String(bash.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(bash.waitFor(BOOT.toSeconds(), TimeUnit.SECONDS)).as("the shell returns; output:\n%s", output)
                .isTrue();
        return new Shell(bash.exitValue(), output);
    }

    private static List<String> daemonOptions(Path dir, String bind) {
        return List.of("--daemon", "--workers", "2", "--bind", bind, "--status-port", "0",
                "--log-file", dir.resolve("arbiter.log").toString(), "--pidfile", dir.resolve("arbiter.pid").toString());
    }

    @Test
    void detachesReturnsZeroOnceServingServesAndStopsOnSigterm() throws Exception {
        Path dir = ArbiterRun.tempDir();
        Path pidfile = dir.resolve("arbiter.pid");
        Path log = dir.resolve("arbiter.log");
        Shell shell = shell(daemonOptions(dir, "127.0.0.1:0"));
        long daemon = -1;
        try {
            assertThat(shell.code()).as(shell.output()).isZero();
            assertThat(pidfile).exists();
            daemon = Long.parseLong(Files.readString(pidfile).strip());
            assertThat(shell.output()).contains("daemon pid " + daemon + " serving");
            assertThat(ProcessHandle.of(daemon).map(ProcessHandle::isAlive)).contains(true);

            // detached: its own session (session id = its pid), no controlling terminal, stdin /dev/null, output
            // in the log file
            String[] stat = statFields(daemon);
            assertThat(stat[5]).as("session id").isEqualTo(String.valueOf(daemon));
            assertThat(stat[6]).as("tty_nr").isEqualTo("0");
            assertThat(Files.readSymbolicLink(Path.of("/proc/" + daemon + "/fd/0"))).isEqualTo(Path.of("/dev/null"));
            assertThat(Files.isSameFile(Path.of("/proc/" + daemon + "/fd/2"), log)).isTrue();

            // serving when the pid file appeared: both workers answer at once
            String logText = Files.readString(log);
            Matcher m = LISTENING.matcher(logText);
            assertThat(m.find()).as(logText).isTrue();
            int port = Integer.parseInt(m.group(1));
            assertThat(countMatches(logText, "ready in ")).as(logText).isEqualTo(2);
            assertThat(TestHttp.get(port, "/slow?ms=1")[1]).contains("slept=1");
            // the arbiter's lines are written to the log once, not once by its sink and again by its stderr
            assertThat(countMatches(Files.readString(log), "] listening on ")).isEqualTo(1);
            // the workers' output goes to the log too
            awaitLog(log, "[worker-");

            // SIGTERM: a graceful stop, the pid file removed, workers gone
            List<ProcessHandle> workers = ProcessHandle.of(daemon).orElseThrow().children().toList();
            assertThat(workers).hasSize(2);
            ArbiterRun.signal(daemon, Signal.SIGTERM);
            Optional<ProcessHandle> h = ProcessHandle.of(daemon);
            if (h.isPresent()) {
                h.get().onExit().get(30, TimeUnit.SECONDS);
            }
            awaitLog(log, "stopped (exit code 0)");
            assertThat(pidfile).doesNotExist();
            for (ProcessHandle w : workers) {
                w.onExit().get(30, TimeUnit.SECONDS);
            }
        } finally {
            kill(daemon);
        }
    }

    @Test
    void aDaemonStartOnAPortInUseMakesTheShellExitTwoWithTheReason() throws Exception {
        Path dir = ArbiterRun.tempDir();
        try (ServerSocket taken = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            Shell shell = shell(daemonOptions(dir, "127.0.0.1:" + taken.getLocalPort()));
            assertThat(shell.code()).as(shell.output()).isEqualTo(2);
            assertThat(shell.output()).contains("exited with code 2 before it served",
                    "127.0.0.1:" + taken.getLocalPort(), "in use");
            assertThat(dir.resolve("arbiter.pid")).doesNotExist();
        }
    }

    @Test
    void daemonWithoutLogFileOrPidfileIsAUsageError() {
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        PrintStream e = new PrintStream(err, true, StandardCharsets.UTF_8);
        int code = ArbiterMain.run(new String[] {"--daemon", "--bind", "127.0.0.1:0", "--pidfile", "/tmp/x.pid", "--",
            "x.Main"}, System.out, e);
        assertThat(code).isEqualTo(2);
        assertThat(err.toString(StandardCharsets.UTF_8)).contains("--daemon needs --log-file PATH", "add e.g. --log-file");

        err.reset();
        code = ArbiterMain.run(new String[] {"--daemon", "--bind", "127.0.0.1:0", "--log-file", "/tmp/x.log", "--",
            "x.Main"}, System.out, e);
        assertThat(code).isEqualTo(2);
        assertThat(err.toString(StandardCharsets.UTF_8)).contains("--daemon needs --pidfile PATH");
    }

    @Test
    void helpListsDaemon() {
        assertThat(ArbiterMain.USAGE).contains("--daemon", "detach from the calling shell");
    }

    /** /proc/PID/stat's fields after the command name: [0] is the pid, [5] the session, [6] the tty. */
    private static String[] statFields(long pid) throws IOException {
        String stat = Files.readString(Path.of("/proc/" + pid + "/stat"));
        String afterName = stat.substring(stat.lastIndexOf(')') + 2);
        String[] rest = afterName.split(" ");
        String[] fields = new String[rest.length + 2];
        fields[0] = String.valueOf(pid);
        fields[1] = "(comm)";
        System.arraycopy(rest, 0, fields, 2, rest.length);
        return fields;
    }

    private static int countMatches(String text, String part) {
        int n = 0;
        for (int i = text.indexOf(part); i >= 0; i = text.indexOf(part, i + 1)) {
            n++;
        }
        return n;
    }

    private static void awaitLog(Path log, String part) throws Exception {
        long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        while (System.nanoTime() < deadline) {
            if (Files.readString(log).contains(part)) {
                return;
            }
            Thread.sleep(25);
        }
        throw new AssertionError("no '" + part + "' in " + log + ":\n" + Files.readString(log));
    }

    private static void kill(long pid) {
        if (pid <= 0) {
            return;
        }
        ProcessHandle.of(pid).ifPresent(h -> {
            h.descendants().forEach(ProcessHandle::destroyForcibly);
            h.destroyForcibly();
        });
    }
}
