package io.forksafe.arbiter.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.ArrayList;
import java.util.List;

import org.junit.jupiter.api.Test;

/** The report lines a worker sends: hostile text stays inside its field and comes out as one printable line. */
class WorkerReportTest {

    private static final String HOSTILE = "bad \"value\", 100% ~ done\nerrors forged\r\nhook-failures x,y,1,z\t"
            + "<script>alert('x')</script>&amp; \u2028\u0000\u007f caf\u00e9 \ud83d\ude00";

    @Test
    void hostileTextIsPrintableAsciiOnTheWireAndRoundTrips() {
        WorkerReport sent = new WorkerReport(List.of(HOSTILE, "second"),
                List.of(new WorkerReport.HookFailure("app,hook " + HOSTILE, "PostWorkerInit", 3, HOSTILE),
                        new WorkerReport.HookFailure("other", "WorkerExit", 1, null)));
        String errors = sent.errorsLine();
        String hooks = sent.hookFailuresLine();
        for (String line : List.of(errors, hooks)) {
            assertThat(line).matches("[\\x21-\\x7e ]+").doesNotContain("<", ">", "\"", "\n");
        }
        assertThat(errors.split(" ")).hasSize(3);
        assertThat(hooks.split(" ")).hasSize(3);

        WorkerReport got = WorkerReport.NONE.apply(errors).apply(hooks);
        String oneLine = WorkerReport.oneLine(HOSTILE);
        assertThat(got.errors()).containsExactly(oneLine, "second");
        assertThat(got.hookFailures()).containsExactly(
                new WorkerReport.HookFailure("app,hook " + oneLine, "PostWorkerInit", 3, oneLine),
                new WorkerReport.HookFailure("other", "WorkerExit", 1, null));
        assertThat(oneLine).doesNotContain("\n", "\r", "\t", "\u2028", "\u0000", "\u007f")
                .contains("\\n", "\\r\\n", "\\t", "\\u2028", "\\u0000", "\\u007f", "<script>", "caf\u00e9 \ud83d\ude00");
        assertThat(WorkerReport.encode(HOSTILE)).isNotEqualTo(HOSTILE);
        assertThat(WorkerReport.decode(WorkerReport.encode(HOSTILE))).isEqualTo(HOSTILE);
    }

    @Test
    void eachLineReplacesOnlyItsOwnListAndEmptyLinesClearIt() {
        WorkerReport r = WorkerReport.NONE.apply("errors a b").apply("hook-failures s,PostFork,2,boom");
        assertThat(r.errors()).containsExactly("a", "b");
        assertThat(r.apply("errors").errors()).isEmpty();
        assertThat(r.apply("errors").hookFailures()).hasSize(1);
        assertThat(r.apply("hook-failures").hookFailures()).isEmpty();
        assertThat(WorkerReport.NONE.errorsLine()).isEqualTo("errors");
        assertThat(WorkerReport.NONE.hookFailuresLine()).isEqualTo("hook-failures");
    }

    @Test
    void malformedLinesAreRejected() {
        for (String bad : List.of("errors a%", "errors a%G1", "errors a<b", "errors a\u00e9",
                "hook-failures s,e,1", "hook-failures s,e,x,y", "hook-failures s,e,1,y,z")) {
            assertThatThrownBy(() -> WorkerReport.NONE.apply(bad)).as(bad).isInstanceOf(IllegalArgumentException.class);
        }
        assertThat(WorkerReport.isReportLine("errorsx")).isFalse();
        assertThat(WorkerReport.isReportLine("errors")).isTrue();
        assertThat(WorkerReport.isReportLine("hook-failures a,b,1,~")).isTrue();
    }

    @Test
    void countAndLengthAreBoundedOnBothSides() {
        List<String> many = new ArrayList<>();
        for (int i = 0; i < 100; i++) {
            many.add("e" + i + " " + "x".repeat(2000));
        }
        WorkerReport r = new WorkerReport(many, List.of());
        assertThat(r.errors()).hasSize(WorkerReport.MAX_ITEMS);
        assertThat(r.errors()).allMatch(e -> e.length() <= WorkerReport.MAX_TEXT && e.endsWith("..."));

        StringBuilder forged = new StringBuilder("errors");
        for (int i = 0; i < 100; i++) {
            forged.append(' ').append("y".repeat(5000));
        }
        WorkerReport decoded = WorkerReport.NONE.apply(forged.toString());
        assertThat(decoded.errors()).hasSize(WorkerReport.MAX_ITEMS)
                .allMatch(e -> e.length() <= WorkerReport.MAX_TEXT);
        // a cut never splits a surrogate pair
        String emoji = "\ud83d\ude00".repeat(400);
        String cut = WorkerReport.oneLine(emoji);
        assertThat(cut).endsWith("...");
        assertThat(Character.isHighSurrogate(cut.charAt(cut.length() - 4))).isFalse();
    }
}
