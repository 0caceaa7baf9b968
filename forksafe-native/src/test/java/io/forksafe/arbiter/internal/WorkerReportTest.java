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
    void hookRunsAndNotesRoundTripAndReplaceOnlyTheirOwnList() {
        WorkerReport sent = new WorkerReport(List.of("e"), List.of(),
                List.of(new WorkerReport.HookRuns("PostFork", 12, 0), new WorkerReport.HookRuns("PostWorkerInit", 3, 1)),
                List.of(new WorkerReport.Note("app,key " + HOSTILE, HOSTILE)));
        assertThat(sent.hooksLine()).isEqualTo("hooks PostFork,12,0 PostWorkerInit,3,1");
        assertThat(sent.notesLine()).matches("notes [\\x21-\\x7e]+").doesNotContain("<", "\n");
        WorkerReport got = WorkerReport.NONE.apply("errors x").apply(sent.hooksLine()).apply(sent.notesLine());
        assertThat(got.errors()).containsExactly("x");
        assertThat(got.hooks()).containsExactly(new WorkerReport.HookRuns("PostFork", 12, 0),
                new WorkerReport.HookRuns("PostWorkerInit", 3, 1));
        String oneLine = WorkerReport.oneLine(HOSTILE);
        assertThat(got.notes()).containsExactly(new WorkerReport.Note("app,key " + oneLine, oneLine));
        assertThat(got.apply("hooks").hooks()).isEmpty();
        assertThat(got.apply("hooks").notes()).hasSize(1);
        assertThat(got.apply("notes").notes()).isEmpty();
        assertThat(got.apply("notes").hooks()).hasSize(2);
        assertThat(got.isEmpty()).isFalse();
        assertThat(WorkerReport.NONE.isEmpty()).isTrue();
        assertThat(new WorkerReport(List.of(), List.of(), List.of(), List.of(new WorkerReport.Note("k", "v"))).isEmpty())
                .isFalse();
    }

    @Test
    void theSummaryOfAStatusSumsRunsByEventTypeInTheEventTypesOrder() {
        io.forksafe.ForkRegistry registry = new io.forksafe.ForkRegistry();
        registry.subscribe(io.forksafe.PostWorkerInit.class, "a", 0, e -> { });
        registry.subscribe(io.forksafe.PostWorkerInit.class, "b", 0, e -> {
            throw new IllegalStateException("b fails");
        });
        registry.subscribe(io.forksafe.PreFork.class, "c", 0, e -> { });
        io.forksafe.spi.HostContext host = io.forksafe.spi.HostContext.of(registry);
        io.forksafe.WorkerInfo w = io.forksafe.WorkerInfo.currentProcess(1, "worker-1", 0);
        for (int i = 0; i < 2; i++) {
            try {
                host.postWorkerInit(w, io.forksafe.ContainerInfo.of("test", "1"));
            } catch (RuntimeException expected) {
                // b fails
            }
        }
        host.note("k", "v");
        WorkerReport r = WorkerReport.of(registry.status());
        assertThat(r.hooks()).containsExactly(new WorkerReport.HookRuns("PostWorkerInit", 4, 2));
        assertThat(r.notes()).contains(new WorkerReport.Note("k", "v"));
        assertThat(r.hookFailures()).singleElement().satisfies(h -> {
            assertThat(h.subscriber()).isEqualTo("b");
            assertThat(h.failures()).isEqualTo(2);
            assertThat(h.lastError()).isEqualTo("java.lang.IllegalStateException: b fails");
        });
    }

    @Test
    void theSummaryLinesGoAtMostOnceASecondButErrorsAtOnce() {
        io.forksafe.ForkRegistry registry = new io.forksafe.ForkRegistry();
        io.forksafe.spi.HostContext host = io.forksafe.spi.HostContext.of(registry);
        List<String> sent = new ArrayList<>();
        long[] now = {0};
        WorkerReporter reporter = new WorkerReporter(registry, sent::add, () -> now[0]);
        host.note("n", "1");
        reporter.reportIfChanged();
        assertThat(sent).containsExactly("notes n,1");
        host.note("n", "2");
        host.reportError("x", "broken");
        now[0] += WorkerReporter.SUMMARY_INTERVAL_NANOS - 1;
        reporter.reportIfChanged();
        assertThat(sent).containsExactly("notes n,1", "errors x%20error%3A%20broken");
        now[0] += 1;
        reporter.reportIfChanged();
        assertThat(sent).containsExactly("notes n,1", "errors x%20error%3A%20broken", "notes n,2");
        reporter.reportIfChanged();
        assertThat(sent).hasSize(3);
        host.note("n", "3");
        reporter.flush();
        assertThat(sent).last().isEqualTo("notes n,3");
        reporter.reset();
        sent.clear();
        reporter.reportIfChanged();
        assertThat(sent).containsExactly("errors x%20error%3A%20broken", "notes n,3");
    }

    @Test
    void malformedLinesAreRejected() {
        for (String bad : List.of("errors a%", "errors a%G1", "errors a<b", "errors a\u00e9",
                "hook-failures s,e,1", "hook-failures s,e,x,y", "hook-failures s,e,1,y,z", "hook-failures s,e,-1,y",
                "hooks PostFork,1", "hooks PostFork,1,x", "hooks PostFork,-2,0", "notes k", "notes k,v,w")) {
            assertThatThrownBy(() -> WorkerReport.NONE.apply(bad)).as(bad).isInstanceOf(IllegalArgumentException.class);
        }
        assertThat(WorkerReport.isReportLine("errorsx")).isFalse();
        assertThat(WorkerReport.isReportLine("errors")).isTrue();
        assertThat(WorkerReport.isReportLine("hook-failures a,b,1,~")).isTrue();
        assertThat(WorkerReport.isReportLine("hooks")).isTrue();
        assertThat(WorkerReport.isReportLine("notes k,v")).isTrue();
        assertThat(WorkerReport.isReportLine("hooksx")).isFalse();
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
