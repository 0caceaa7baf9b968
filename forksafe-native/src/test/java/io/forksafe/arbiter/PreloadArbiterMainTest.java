package io.forksafe.arbiter;

import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** {@code ArbiterMain --preload}: parsing and the refusals that need no CRIU. */
class PreloadArbiterMainTest {

    @Test
    void preloadIsAFlagOfTheArbitersCommandLine() {
        ArbiterConfig c = ArbiterMain.parse(new String[] {"--preload", "--workers", "3", "--bind", "127.0.0.1:8080",
                "--", "com.example.App", "x"});
        assertThat(c.preload()).isTrue();
        assertThat(c.workers()).isEqualTo(3);
        assertThat(ArbiterMain.parse(new String[] {"--bind", "127.0.0.1:8080", "--", "A"}).preload()).isFalse();
        assertThat(ArbiterMain.USAGE).contains("--preload");
    }

    @Test
    void spawnOnlyOptionsAreRefusedWithTheReason() {
        assertThatThrownBy(() -> ArbiterMain.parse(new String[] {"--preload", "--backlog", "16", "--bind",
                "127.0.0.1:8080", "--", "A"}))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageStartingWith("--backlog does not apply with --preload: ");
        // the same options stay valid without --preload, and supervision options work in both modes
        assertThat(ArbiterMain.parse(new String[] {"--backlog", "16", "--bind", "127.0.0.1:8080", "--", "A"})
                .preload()).isFalse();
        assertThat(ArbiterMain.parse(new String[] {"--preload", "--timeout", "5s", "--log-file", "/tmp/a.log",
                "--status-file", "/tmp/s.json", "--bind", "127.0.0.1:8080", "--", "A"}).preload()).isTrue();
    }

    @Test
    void aPreloadWithPortZeroExitsTwoBeforeStartingAnything() {
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int code = ArbiterMain.run(new String[] {"--preload", "--bind", "127.0.0.1:0", "--", "A"},
                new PrintStream(new ByteArrayOutputStream()), new PrintStream(err, true, StandardCharsets.UTF_8));
        assertThat(code).isEqualTo(ArbiterMain.EXIT_USAGE);
        assertThat(err.toString(StandardCharsets.UTF_8)).contains("--preload needs a fixed port in --bind");
    }
}
