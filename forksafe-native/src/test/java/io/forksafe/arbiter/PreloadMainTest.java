package io.forksafe.arbiter;

import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The preload CLI's flag handling (no CRIU needed). */
class PreloadMainTest {

    private static String[] stderrOf(Runnable r) {
        PrintStream old = System.err;
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        System.setErr(new PrintStream(buf, true, StandardCharsets.UTF_8));
        try {
            r.run();
        } finally {
            System.setErr(old);
        }
        return new String[] {buf.toString(StandardCharsets.UTF_8)};
    }

    @Test
    void aBadFlagExitsTwoWithTheProblemAndTheUsage() {
        int[] code = new int[1];
        String err = stderrOf(() -> code[0] = PreloadMain.run(new String[] {"--wrokers", "2", "--", "X"}))[0];
        assertThat(code[0]).isEqualTo(2);
        assertThat(err).contains("unknown option '--wrokers'").contains("usage: java -cp");
    }

    @Test
    void aMissingMainClassOrValueIsNamed() {
        int[] code = new int[1];
        String err = stderrOf(() -> code[0] = PreloadMain.run(new String[] {"--workers", "2"}))[0];
        assertThat(code[0]).isEqualTo(2);
        assertThat(err).contains("no application: put the main class after '--'");
        err = stderrOf(() -> code[0] = PreloadMain.run(new String[] {"--workers", "0", "--", "X"}))[0];
        assertThat(code[0]).isEqualTo(2);
        assertThat(err).contains("--workers must be >= 1, got 0");
        err = stderrOf(() -> code[0] = PreloadMain.run(new String[] {"--boot-timeout", "--", "X"}))[0];
        assertThat(err).contains("--boot-timeout needs a value");
    }

    @Test
    void durationsAreWrittenLikeTheArbiters() {
        assertThat(PreloadMain.duration("500ms")).isEqualTo(Duration.ofMillis(500));
        assertThat(PreloadMain.duration("30s")).isEqualTo(Duration.ofSeconds(30));
        assertThat(PreloadMain.duration("2m")).isEqualTo(Duration.ofMinutes(2));
        assertThat(PreloadMain.duration("7")).isEqualTo(Duration.ofSeconds(7));
        assertThatThrownBy(() -> PreloadMain.duration("soon")).hasMessageContaining("not a duration: 'soon'");
    }
}
