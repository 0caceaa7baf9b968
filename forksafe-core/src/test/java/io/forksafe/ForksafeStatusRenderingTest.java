package io.forksafe;

import static org.assertj.core.api.Assertions.assertThat;

import io.forksafe.ForksafeStatus.HookExecution;
import io.forksafe.ForksafeStatus.WorkerState;

import java.time.Duration;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;

/** The status record rendered as text and as a map, line by line, from one fixed status. */
class ForksafeStatusRenderingTest {

    private static final Instant AT = Instant.parse("2026-01-01T00:00:00Z");
    private static final WorkerInfo W0 = new WorkerInfo(0, "w0", WorkerKind.PROCESS, 100, 1, 2);
    private static final WorkerInfo W1 = new WorkerInfo(1, "w1", WorkerKind.PROCESS, 101, 1, 3);

    private static ForksafeStatus full() {
        Map<String, Long> counters = new LinkedHashMap<>();
        counters.put("started", 2L);
        counters.put("ended", 1L);
        return new ForksafeStatus("configured: jetty", "jetty 12", List.of("found jetty"),
                List.of(new HookExecution("a.Hook", "PostFork", 3, AT, Duration.ofNanos(1_234_567), 1, "x.Boom: no"),
                        new HookExecution("b.Hook", "PreFork", 0, null, null, 0, null)),
                7, List.of(new WorkerState(W0, "ready", AT, null), new WorkerState(W1, "running", AT, "")),
                List.of(new WorkerState(W1, "exited", AT, "exit status 1")), counters, Map.of("forksafe.a", "1"),
                Map.of("hint", "do this"), List.of("e1"), Map.of("pool", "hikari"), AT);
    }

    @Test
    void theTextDumpShowsEverySection() {
        assertThat(full().dump()).isEqualTo("""
                forksafe status: configured: jetty
                environment:     jetty 12
                pid:             7
                generated at:    2026-01-01T00:00:00Z

                autoconfigure log:
                  found jetty

                executed hooks:
                  PostFork <- a.Hook: ran 3x, 1 failed, last %s, last error: x.Boom: no
                  PreFork <- b.Hook: ran 0x, 0 failed

                workers {started=2, ended=1}:
                  #0 PROCESS w0 pid=100 ppid=1 gen=2 ready
                  #1 PROCESS w1 pid=101 ppid=1 gen=3 running
                recently ended:
                  #1 PROCESS w1 pid=101 ppid=1 gen=3 exited (exit status 1)

                notes:
                  hint: do this

                errors:
                  e1

                settings:
                  forksafe.a = 1

                details:
                  pool: hikari
                """.formatted(String.format("%.3f ms", 1.234567)));
    }

    @Test
    void emptySectionsAreLeftOutOrSayNone() {
        ForksafeStatus empty = new ForksafeStatus("not configured", "none", List.of(), List.of(), 7, List.of(),
                List.of(), Map.of(), Map.of(), Map.of(), List.of(), Map.of(), AT);
        assertThat(empty.dump()).isEqualTo("""
                forksafe status: not configured
                environment:     none
                pid:             7
                generated at:    2026-01-01T00:00:00Z

                autoconfigure log:

                executed hooks:
                  (none)

                workers {}:

                settings:
                """);
        assertThat(empty.isError()).isFalse();
        assertThat(empty.totalFailures()).isZero();
    }

    @Test
    void theMapHoldsEveryFieldInOrder() {
        Map<String, Object> m = full().toMap();
        assertThat(m.keySet()).containsExactly("status", "environment", "pid", "generatedAt", "autoconfigureLog",
                "executedHooks", "workerCounters", "workers", "recentlyEnded", "notes", "errors", "settings",
                "details");
        assertThat(m.get("executedHooks")).asList().first().isEqualTo(Map.of("subscriber", "a.Hook",
                "event", "PostFork", "count", 3L, "lastRun", AT, "lastDurationMillis", Duration.ofNanos(1_234_567),
                "failures", 1L, "lastError", "x.Boom: no"));
        Map<String, Object> w1 = new LinkedHashMap<>();
        w1.put("slot", 1);
        w1.put("name", "w1");
        w1.put("kind", WorkerKind.PROCESS);
        w1.put("pid", 101L);
        w1.put("parentPid", 1L);
        w1.put("generation", 3L);
        w1.put("state", "exited");
        w1.put("since", AT);
        w1.put("detail", "exit status 1");
        assertThat(m.get("recentlyEnded")).isEqualTo(List.of(w1));
        assertThat(m.get("pid")).isEqualTo(7L);
        assertThat(m.get("details")).isEqualTo(Map.of("pool", "hikari"));
        assertThat(full().toJson()).contains("\"lastDurationMillis\": 1.234567", "\"failures\": 1");
    }

    @Test
    void anErrorStatusAndTheFailureTotal() {
        ForksafeStatus s = full();
        assertThat(s.totalFailures()).isEqualTo(1);
        assertThat(s.isError()).isFalse();
        assertThat(s.toString()).isEqualTo("ForksafeStatus[configured: jetty, environment=jetty 12]");
        ForksafeStatus error = new ForksafeStatus("configure error: boom", "none", List.of(), List.of(), 7, List.of(),
                List.of(), Map.of(), Map.of(), Map.of(), List.of(), Map.of(), AT);
        assertThat(error.isError()).isTrue();
        ForksafeStatus nullStatus = new ForksafeStatus(null, "none", List.of(), List.of(), 7, List.of(),
                List.of(), Map.of(), Map.of(), Map.of(), List.of(), Map.of(), AT);
        assertThat(nullStatus.isError()).isFalse();
    }
}
