package io.forksafe.arbiter.internal;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;

import org.junit.jupiter.api.Test;

/** The exposition's own rules: label escaping, number format, histogram buckets that only grow. */
class ArbiterMetricsTest {

    @Test
    void labelValuesEscapeBackslashQuoteAndNewline() {
        assertThat(ArbiterMetrics.labels()).isEmpty();
        assertThat(ArbiterMetrics.labels("event", "a\\b\"c\nd", "x", "y"))
                .isEqualTo("{event=\"a\\\\b\\\"c\\nd\",x=\"y\"}");
    }

    @Test
    void integersHaveNoFractionAndOthersKeepIt() {
        assertThat(ArbiterMetrics.number(2)).isEqualTo("2");
        assertThat(ArbiterMetrics.number(0.25)).isEqualTo("0.25");
        assertThat(ArbiterMetrics.number(1.7e-3)).isEqualTo("0.0017");
        assertThat(ArbiterMetrics.number(Double.POSITIVE_INFINITY)).isEqualTo("+Inf");
        assertThat(ArbiterMetrics.number(Double.NEGATIVE_INFINITY)).isEqualTo("-Inf");
        assertThat(ArbiterMetrics.number(Double.NaN)).isEqualTo("NaN");
        assertThat(ArbiterMetrics.number(1.7000000005e9)).isEqualTo("1700000000.5");
        assertThat(ArbiterMetrics.number(-3)).isEqualTo("-3");
        assertThat(ArbiterMetrics.number(1e16)).isEqualTo("10000000000000000");
    }

    @Test
    void renderGivesEveryFamilyFromOneStatusSnapshot() {
        ArbiterMetrics m = new ArbiterMetrics();
        m.observeBoot(ArbiterMetrics.BootSource.SPAWN, 300_000_000L);   // 0.3 s: buckets from 0.5 up
        m.observeBoot(ArbiterMetrics.BootSource.SPAWN, 1_000_000_000L); // exactly 1 s: the le="1" bucket counts it
        m.observeBoot(ArbiterMetrics.BootSource.RESTORE, 40_000_000L);  // 0.04 s: every bucket
        m.restarted();
        Supervisor.WorkerRow ready = new Supervisor.WorkerRow(1, "current", "PROCESS", 101L, 3L, "ready", 1, 5000L,
                250L, 64L << 20, 137, 900L, List.of(), List.of(), List.of(),
                List.of(new WorkerReport.HookRuns("PostFork", 4, 1)), List.of(), null);
        Supervisor.WorkerRow standby = new Supervisor.WorkerRow(0, "standby", "PROCESS", 102L, 2L, "standby", 0, 100L,
                null, null, null, null, List.of(), List.of(), List.of(), List.of(), List.of(), null);
        Supervisor.WorkerRow respawning = new Supervisor.WorkerRow(2, "current", null, null, null, "respawning", 2,
                null, null, null, 1, null, List.of(), List.of(), List.of(), List.of(), List.of(), null);
        Supervisor.Status status = new Supervisor.Status(1, 1_700_000_000_500L, "127.0.0.1:8080", "spawn", "running",
                2, 1, 30_000, 60_000, 30_000, 2_000, false, null,
                java.util.Map.of(ExitCause.EXITED, 2L, ExitCause.MAX_RSS, 1L), List.of(ready, standby, respawning),
                List.of(), null, null);
        io.forksafe.ForkRegistry own = new io.forksafe.ForkRegistry();
        own.subscribe(io.forksafe.ChildExit.class, "a", 0, e -> { });
        io.forksafe.spi.HostContext.of(own).childExit(io.forksafe.WorkerInfo.currentProcess(1, "worker-1", 0),
                io.forksafe.ContainerInfo.of("t", "1"), 0);
        AppMetrics app = new AppMetrics(List.of(
                new AppMetrics.Sample("app_seconds_count", AppMetrics.Type.SUMMARY, 3, java.util.Map.of()),
                new AppMetrics.Sample("app_seconds_sum", AppMetrics.Type.SUMMARY, 1.5, java.util.Map.of()),
                new AppMetrics.Sample("app_seconds", AppMetrics.Type.GAUGE, 9, java.util.Map.of("k", "v"))));

        String text = m.render(status, own.status(), List.of(new ArbiterMetrics.WorkerAppMetrics("worker-1", 3, app)));
        List<String> lines = text.lines().toList();

        assertThat(lines).contains(
                "# TYPE forksafe_arbiter_workers gauge",
                "forksafe_arbiter_workers{state=\"booting\"} 0",
                "forksafe_arbiter_workers{state=\"standby\"} 1",
                "forksafe_arbiter_workers{state=\"ready\"} 1",
                "forksafe_arbiter_workers{state=\"respawning\"} 1",
                "forksafe_arbiter_target_workers 2",
                "# TYPE forksafe_arbiter_restarts_total counter",
                "forksafe_arbiter_restarts_total 1",
                "forksafe_arbiter_exits_total{cause=\"exited\"} 2",
                "forksafe_arbiter_exits_total{cause=\"max_rss\"} 1",
                "forksafe_arbiter_exits_total{cause=\"shutdown\"} 0",
                "# TYPE forksafe_arbiter_boot_duration_seconds histogram",
                "forksafe_arbiter_boot_duration_seconds_bucket{source=\"spawn\",le=\"0.25\"} 0",
                "forksafe_arbiter_boot_duration_seconds_bucket{source=\"spawn\",le=\"0.5\"} 1",
                "forksafe_arbiter_boot_duration_seconds_bucket{source=\"spawn\",le=\"1\"} 2",
                "forksafe_arbiter_boot_duration_seconds_bucket{source=\"spawn\",le=\"+Inf\"} 2",
                "forksafe_arbiter_boot_duration_seconds_sum{source=\"spawn\"} 1.3",
                "forksafe_arbiter_boot_duration_seconds_count{source=\"spawn\"} 2",
                "forksafe_arbiter_boot_duration_seconds_bucket{source=\"restore\",le=\"0.05\"} 1",
                "forksafe_arbiter_boot_duration_seconds_count{source=\"restore\"} 1",
                "forksafe_arbiter_start_time_seconds 1700000000.5",
                "forksafe_arbiter_hook_runs_total{event=\"ChildExit\"} 1",
                "forksafe_arbiter_hook_runs_total{event=\"PreFork\"} 0",
                "forksafe_arbiter_hook_failures_total{event=\"ChildExit\"} 0",
                "forksafe_worker_heartbeat_age_seconds{worker=\"worker-1\",generation=\"3\"} 0.25",
                "forksafe_worker_resident_memory_bytes{worker=\"worker-1\",generation=\"3\"} 67108864",
                "forksafe_worker_hook_runs_total{worker=\"worker-1\",generation=\"3\",event=\"PostFork\"} 4",
                "forksafe_worker_hook_failures_total{worker=\"worker-1\",generation=\"3\",event=\"PostFork\"} 1",
                "# TYPE app_seconds summary",
                "app_seconds_count{worker=\"worker-1\",generation=\"3\"} 3",
                "app_seconds_sum{worker=\"worker-1\",generation=\"3\"} 1.5");
        // the standby has no heartbeat yet and no RSS: no sample, rather than a made-up 0
        assertThat(lines).noneMatch(l -> l.startsWith("forksafe_worker_") && l.contains("standby-2"));
        // a gauge named like the summary's family is dropped: one family, one type
        assertThat(lines).noneMatch(l -> l.startsWith("app_seconds{"));
        // every family has its HELP and TYPE before its samples, once
        assertThat(lines.stream().filter(l -> l.startsWith("# TYPE forksafe_arbiter_exits_total "))).hasSize(1);
        assertThat(lines.indexOf("# HELP forksafe_arbiter_workers Worker processes by state (a standby is state standby;"
                + " respawning: a slot waiting for its worker).")).isEqualTo(0);
    }

    @Test
    void recentEventsKeepTheNewestAndCausesHaveLowerCaseLabels() {
        RecentEvents events = new RecentEvents();
        for (int i = 0; i < RecentEvents.MAX + 5; i++) {
            events.add(RecentEvents.Kind.ROLL_START, "roll " + i);
        }
        assertThat(events.entries()).hasSize(RecentEvents.MAX);
        assertThat(events.entries().get(0).detail()).isEqualTo("roll 5");
        assertThat(events.entries().get(RecentEvents.MAX - 1).detail()).isEqualTo("roll " + (RecentEvents.MAX + 4));
        assertThat(events.entries().get(0).worker()).isNull();
        assertThat(ExitCause.HEARTBEAT_TIMEOUT.label()).isEqualTo("heartbeat_timeout");
        assertThat(ExitCause.EXITED.requested()).isFalse();
        assertThat(ExitCause.MAX_RSS.requested()).isTrue();
    }
}
