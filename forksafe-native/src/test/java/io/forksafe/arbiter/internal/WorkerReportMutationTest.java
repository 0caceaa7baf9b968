package io.forksafe.arbiter.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.forksafe.ForksafeStatus;
import io.forksafe.ForksafeStatus.HookExecution;

import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;

/**
 * The worker report's wire form at its edges: exactly which characters pass unescaped, the escapes' bounds, the
 * printable-line rule per character range, the cut at the maximum length, and what a status contributes.
 * Reports are made through {@link WorkerReport#of} and {@link WorkerReport#apply}, as the arbiter makes them.
 */
class WorkerReportMutationTest {

    private static final String UNRESERVED = "ABCXYZabcxyz0189-._";

    private static String error(String text) {
        return WorkerReport.NONE.apply("errors " + WorkerReport.encode(text)).errors().get(0);
    }

    @Test
    void onlyLettersDigitsAndDashDotUnderscorePassUnescaped() {
        assertThat(WorkerReport.encode(UNRESERVED)).isEqualTo(UNRESERVED);
        assertThat(WorkerReport.encode("@[`{/:~ ")).isEqualTo("%40%5B%60%7B%2F%3A%7E%20");
        assertThat(WorkerReport.encode("é")).isEqualTo("%C3%A9");
        assertThat(WorkerReport.encode(null)).isEqualTo("~");
        assertThat(WorkerReport.decode(UNRESERVED)).isEqualTo(UNRESERVED);
        assertThat(WorkerReport.decode("%40%5b")).isEqualTo("@[");
        assertThat(WorkerReport.decode("~")).isNull();
        for (String c : List.of("@", "[", "`", "{", "/", ":", " ")) {
            assertThatThrownBy(() -> WorkerReport.decode("a" + c)).as(c).isInstanceOf(IllegalArgumentException.class)
                    .hasMessage("unencoded character " + (int) c.charAt(0));
        }
    }

    @Test
    void anEscapeNeedsTwoHexDigits() {
        assertThat(WorkerReport.decode("%41")).isEqualTo("A");
        assertThat(WorkerReport.decode("x%41")).isEqualTo("xA");
        for (String bad : List.of("%4", "%", "x%4")) {
            assertThatThrownBy(() -> WorkerReport.decode(bad)).as(bad).isInstanceOf(IllegalArgumentException.class)
                    .hasMessage("truncated %XX escape");
        }
        assertThatThrownBy(() -> WorkerReport.decode("%4G")).hasMessage("bad %XX escape");
        assertThatThrownBy(() -> WorkerReport.decode("%G4")).hasMessage("bad %XX escape");
    }

    @Test
    void controlCharactersAndSeparatorsBecomeVisibleOthersStay() {
        assertThat(WorkerReport.oneLine("\u001f \u007e")).isEqualTo("\\u001f \u007e");
        assertThat(WorkerReport.oneLine("\u007f\u009f\u00a0")).isEqualTo("\\u007f\\u009f\u00a0");
        assertThat(WorkerReport.oneLine("a\nb\rc\td\u2028\u2029")).isEqualTo("a\\nb\\rc\\td\\u2028\\u2029");
        assertThat(WorkerReport.oneLine(null)).isNull();
    }

    @Test
    void aTextIsCutAtTheMaximumWithoutSplittingASurrogatePair() {
        String max = "x".repeat(WorkerReport.MAX_TEXT);
        assertThat(error(max)).isEqualTo(max);
        String over = max + "y";
        assertThat(error(over)).isEqualTo("x".repeat(WorkerReport.MAX_TEXT - 3) + "...");
        String pair = "x".repeat(WorkerReport.MAX_TEXT - 4) + "\uD83D\uDE00" + "zzzz";
        assertThat(error(pair)).isEqualTo("x".repeat(WorkerReport.MAX_TEXT - 4) + "...");
        String pairAfter = "x".repeat(WorkerReport.MAX_TEXT - 3) + "\uD83D\uDE00" + "zzzz";
        assertThat(error(pairAfter)).isEqualTo("x".repeat(WorkerReport.MAX_TEXT - 3) + "...");
    }

    private static ForksafeStatus status(List<String> errors, List<HookExecution> hooks) {
        return new ForksafeStatus("ok", "test", List.of(), hooks, 1, List.of(), List.of(), Map.of(), Map.of(),
                Map.of(), errors, Map.of(), Instant.EPOCH);
    }

    @Test
    void aStatusContributesItsNewestErrorsAndItsFirstFailingHooks() {
        List<String> errors = new ArrayList<>();
        for (int i = 0; i < WorkerReport.MAX_ITEMS + 2; i++) {
            errors.add("e" + i);
        }
        List<HookExecution> hooks = new ArrayList<>();
        hooks.add(new HookExecution("fine", "PostFork", 3, null, null, 0, null));
        for (int i = 0; i < WorkerReport.MAX_ITEMS + 1; i++) {
            hooks.add(new HookExecution("h" + i, "PostFork", 1, null, null, i + 1, "x.Boom: " + i));
        }
        WorkerReport r = WorkerReport.of(status(errors, hooks));
        assertThat(r.errors()).hasSize(WorkerReport.MAX_ITEMS).startsWith("e2").endsWith("e17");
        assertThat(r.hookFailures()).hasSize(WorkerReport.MAX_ITEMS)
                .first().isEqualTo(new WorkerReport.HookFailure("h0", "PostFork", 1, "x.Boom: 0"));
        assertThat(r.hookFailures()).last().isEqualTo(new WorkerReport.HookFailure("h15", "PostFork", 16, "x.Boom: 15"));
        assertThat(r.isEmpty()).isFalse();

        WorkerReport few = WorkerReport.of(status(List.of("only"), List.of()));
        assertThat(few.errors()).containsExactly("only");
        assertThat(few.isEmpty()).isFalse();
        WorkerReport hooksOnly = WorkerReport.of(status(List.of(), hooks.subList(0, 2)));
        assertThat(hooksOnly.errors()).isEmpty();
        assertThat(hooksOnly.hookFailures()).hasSize(1);
        assertThat(hooksOnly.isEmpty()).isFalse();
        WorkerReport runsOnly = WorkerReport.of(status(List.of(), hooks.subList(0, 1)));
        assertThat(runsOnly.hookFailures()).isEmpty();
        assertThat(runsOnly.hooks()).containsExactly(new WorkerReport.HookRuns("PostFork", 3, 0));
        assertThat(runsOnly.isEmpty()).as("hook runs are worth reporting").isFalse();
        assertThat(WorkerReport.of(status(List.of(), List.of())).isEmpty()).isTrue();
        assertThat(WorkerReport.NONE.isEmpty()).isTrue();
    }
}
