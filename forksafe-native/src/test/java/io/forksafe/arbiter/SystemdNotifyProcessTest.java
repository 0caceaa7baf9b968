package io.forksafe.arbiter;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

import jnr.constants.platform.Signal;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * {@code Type=notify}: a real AF_UNIX datagram socket (bound by a python3 child, as systemd binds its own) named by
 * {@code NOTIFY_SOCKET} receives READY=1 once every worker serves, and STOPPING=1 at SIGTERM. Both forms of the name
 * systemd uses: a file path and an abstract name ({@code @...}).
 */
class SystemdNotifyProcessTest {

    private static final Duration BOOT = Duration.ofSeconds(60);

    /** Binds the socket and prints each datagram on one line, newlines shown as '|'. */
    private static final String RECEIVER = """
            import socket, sys
            name = sys.argv[1]
            s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
            s.bind('\\0' + name[1:] if name.startswith('@') else name)
            print('bound', flush=True)
            while True:
                print(s.recv(4096).decode().replace('\\n', '|'), flush=True)
            """;

    /** docs/arbiter.md shows the example unit verbatim, so the two cannot drift. */
    @org.junit.jupiter.api.Test
    void docsShowTheExampleUnitVerbatim() throws IOException {
        String unit = java.nio.file.Files.readString(Path.of("..", "docs", "examples", "forksafe-arbiter.service"));
        assertThat(unit).contains("Type=notify", "ExecReload=/bin/kill -HUP $MAINPID", "KillMode=mixed");
        assertThat(java.nio.file.Files.readString(Path.of("..", "docs", "arbiter.md"))).contains("```ini\n" + unit + "```\n");
    }

    @ParameterizedTest
    @ValueSource(booleans = {false, true})
    void readyOnceServingAndStoppingOnSigterm(boolean abstractName) throws Exception {
        Path dir = ArbiterRun.tempDir();
        String socket = abstractName ? "@forksafe-notify-test-" + ProcessHandle.current().pid() + "-" + System.nanoTime()
                : dir.resolve("notify.sock").toString();
        Process receiver = new ProcessBuilder("/usr/bin/python3", "-c", RECEIVER, socket).redirectErrorStream(true)
                .start();
        LinkedBlockingQueue<String> messages = new LinkedBlockingQueue<>();
        Thread reader = new Thread(() -> {
            try (BufferedReader in = new BufferedReader(new InputStreamReader(receiver.getInputStream(),
                    StandardCharsets.UTF_8))) {
                for (String l = in.readLine(); l != null; l = in.readLine()) {
                    messages.add(l);
                }
            } catch (IOException ignored) {
                // receiver ended
            }
        });
        reader.setDaemon(true);
        reader.start();
        try {
            assertThat(messages.poll(BOOT.toSeconds(), TimeUnit.SECONDS)).isEqualTo("bound");
            try (ArbiterRun run = ArbiterRun.start(List.of(), Map.of("NOTIFY_SOCKET", socket),
                    List.of("--workers", "2", "--bind", "127.0.0.1:0", "--status-port", "0"), ArbiterRun.APP)) {
                String ready = messages.poll(BOOT.toSeconds(), TimeUnit.SECONDS);
                assertThat(ready).as("output:\n%s", run.output()).isNotNull();
                assertThat(ready.split("\\|")).contains("READY=1", "MAINPID=" + run.pid());
                // sent once serving: both workers are ready in the status, and the port answers
                assertThat(ArbiterRun.allReady(run.workers(), 2)).as(run.output()).isTrue();
                assertThat(run.get("/slow?ms=1")).contains("slept=1");
                assertThat(messages).isEmpty(); // READY=1 once
                // the service's main process is the arbiter: its workers do not inherit NOTIFY_SOCKET
                for (long worker : run.awaitReady(2, BOOT)) {
                    String environ = java.nio.file.Files.readString(Path.of("/proc/" + worker + "/environ"));
                    assertThat(environ).contains(io.forksafe.spi.ArbiterContract.ENV_ARBITER_PID + "=").doesNotContain("NOTIFY_SOCKET=");
                }

                run.signal(Signal.SIGTERM);
                String stopping = messages.poll(30, TimeUnit.SECONDS);
                assertThat(stopping).as("output:\n%s", run.output()).isNotNull();
                assertThat(stopping.split("\\|")).contains("STOPPING=1");
                assertThat(run.awaitExit(Duration.ofSeconds(30))).isZero();
                assertThat(run.output()).contains("told systemd READY=1", "told systemd STOPPING=1");
                assertThat(messages).isEmpty();
            }
        } finally {
            receiver.destroyForcibly();
            receiver.waitFor(10, TimeUnit.SECONDS);
        }
    }
}
