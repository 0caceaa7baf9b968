package io.forksafe.arbiter.internal;

import io.forksafe.ForksafeStatus;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The arbiter's metrics in the Prometheus text exposition format (version 0.0.4), served at {@code /metrics} on
 * the status port. Rendered from one status snapshot ({@link Supervisor.Status}) plus the counters that only grow
 * ({@link #observeBoot}, {@link #restarted}), so the page and the JSON status never disagree. Not API.
 *
 * <p>Families: {@code forksafe_arbiter_workers{state}} (gauge), {@code forksafe_arbiter_target_workers},
 * {@code forksafe_arbiter_restarts_total}, {@code forksafe_arbiter_exits_total{cause}},
 * {@code forksafe_arbiter_boot_duration_seconds{source}} (histogram), {@code forksafe_arbiter_start_time_seconds},
 * {@code forksafe_arbiter_hook_runs_total{event}} and {@code forksafe_arbiter_hook_failures_total{event}} (the
 * arbiter's own hooks), and per live worker {@code forksafe_worker_heartbeat_age_seconds},
 * {@code forksafe_worker_resident_memory_bytes}, {@code forksafe_worker_hook_runs_total} and
 * {@code forksafe_worker_hook_failures_total} (labels {@code worker}, {@code generation}, and {@code event}).
 */
final class ArbiterMetrics {

    /** The content type of the text format. */
    static final String CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";
    /** Upper bounds (seconds) of the boot duration buckets: a warm restore is well under a second, a cold JVM seconds. */
    static final double[] BOOT_BUCKETS = {0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60};

    /** How a worker came to be, the {@code source} label of its boot duration. */
    enum BootSource {
        /** a JVM spawned cold */
        SPAWN,
        /** a copy restored from the preload image */
        RESTORE
    }

    private final long[][] bootBuckets = new long[BootSource.values().length][BOOT_BUCKETS.length];
    private final long[] bootCount = new long[BootSource.values().length];
    private final double[] bootSum = new double[BootSource.values().length];
    private long restarts;

    /** A worker (or standby) booted: from spawn or restore to ready, or to booted for a standby. */
    synchronized void observeBoot(BootSource source, long nanos) {
        double seconds = nanos / 1e9;
        int s = source.ordinal();
        for (int i = 0; i < BOOT_BUCKETS.length; i++) {
            if (seconds <= BOOT_BUCKETS[i]) {
                bootBuckets[s][i]++;
            }
        }
        bootCount[s]++;
        bootSum[s] += seconds;
    }

    /** A slot's worker was replaced after it ended (not by a reload). */
    synchronized void restarted() {
        restarts++;
    }

    /**
     * One live worker's application metrics, with the labels the arbiter adds.
     *
     * @param worker     its name ("worker-1")
     * @param generation its generation
     * @param metrics    what it last sent
     */
    record WorkerAppMetrics(String worker, long generation, AppMetrics metrics) {
    }

    /**
     * The exposition of {@code status} (the arbiter section), {@code own} (the arbiter's registry) and the live
     * workers' application metrics ({@code ArbiterMetricsBinder}).
     */
    synchronized String render(Supervisor.Status status, ForksafeStatus own, List<WorkerAppMetrics> apps) {
        StringBuilder b = new StringBuilder(4096);
        Map<String, Long> byState = new LinkedHashMap<>();
        for (WorkerProcess.State s : WorkerProcess.State.values()) {
            if (s != WorkerProcess.State.EXITED) {
                byState.put(s.label(), 0L);
            }
        }
        byState.put("respawning", 0L);
        for (Supervisor.WorkerRow w : status.workers()) {
            byState.merge(w.state(), 1L, Long::sum);
        }
        family(b, "forksafe_arbiter_workers", "gauge",
                "Worker processes by state (a standby is state standby; respawning: a slot waiting for its worker).");
        byState.forEach((state, n) -> sample(b, "forksafe_arbiter_workers", labels("state", state), n));
        family(b, "forksafe_arbiter_target_workers", "gauge", "Slots the arbiter keeps serving (--workers).");
        sample(b, "forksafe_arbiter_target_workers", "", status.targetWorkers());
        family(b, "forksafe_arbiter_restarts_total", "counter",
                "Workers started again after their predecessor in the slot ended (reloads and recycling not counted).");
        sample(b, "forksafe_arbiter_restarts_total", "", restarts);
        family(b, "forksafe_arbiter_exits_total", "counter", "Workers and standbys that ended, by cause.");
        for (ExitCause c : ExitCause.values()) {
            sample(b, "forksafe_arbiter_exits_total", labels("cause", c.label()),
                    status.exitsByCause().getOrDefault(c, 0L));
        }
        family(b, "forksafe_arbiter_boot_duration_seconds", "histogram",
                "From spawn or restore to serving (a standby: to booted), by source.");
        for (BootSource s : BootSource.values()) {
            String source = s.name().toLowerCase(Locale.ROOT);
            for (int i = 0; i < BOOT_BUCKETS.length; i++) {
                sample(b, "forksafe_arbiter_boot_duration_seconds_bucket",
                        labels("source", source, "le", number(BOOT_BUCKETS[i])), bootBuckets[s.ordinal()][i]);
            }
            sample(b, "forksafe_arbiter_boot_duration_seconds_bucket", labels("source", source, "le", "+Inf"),
                    bootCount[s.ordinal()]);
            sample(b, "forksafe_arbiter_boot_duration_seconds_sum", labels("source", source), bootSum[s.ordinal()]);
            sample(b, "forksafe_arbiter_boot_duration_seconds_count", labels("source", source),
                    bootCount[s.ordinal()]);
        }
        family(b, "forksafe_arbiter_start_time_seconds", "gauge", "When the arbiter started, in Unix seconds.");
        sample(b, "forksafe_arbiter_start_time_seconds", "", status.startedAtMillis() / 1000.0);

        List<WorkerReport.HookRuns> ownHooks = WorkerReport.hookRunsByEvent(own);
        family(b, "forksafe_arbiter_hook_runs_total", "counter", "Hook runs in the arbiter's own JVM, by event type.");
        for (WorkerReport.HookRuns h : ownHooks) {
            sample(b, "forksafe_arbiter_hook_runs_total", labels("event", h.event()), h.runs());
        }
        family(b, "forksafe_arbiter_hook_failures_total", "counter",
                "Hook runs that threw in the arbiter's own JVM, by event type.");
        for (WorkerReport.HookRuns h : ownHooks) {
            sample(b, "forksafe_arbiter_hook_failures_total", labels("event", h.event()), h.failures());
        }

        List<Supervisor.WorkerRow> live = status.workers().stream().filter(w -> w.pid() != null).toList();
        family(b, "forksafe_worker_heartbeat_age_seconds", "gauge", "Time since each worker's last heartbeat.");
        for (Supervisor.WorkerRow w : live) {
            if (w.heartbeatAgeMillis() != null) {
                sample(b, "forksafe_worker_heartbeat_age_seconds", worker(w), w.heartbeatAgeMillis() / 1000.0);
            }
        }
        family(b, "forksafe_worker_resident_memory_bytes", "gauge", "Each worker's resident memory (VmRSS).");
        for (Supervisor.WorkerRow w : live) {
            if (w.rssBytes() != null) {
                sample(b, "forksafe_worker_resident_memory_bytes", worker(w), w.rssBytes());
            }
        }
        family(b, "forksafe_worker_hook_runs_total", "counter",
                "Hook runs in each worker, by event type, as the worker last reported them.");
        for (Supervisor.WorkerRow w : live) {
            for (WorkerReport.HookRuns h : w.hooks()) {
                sample(b, "forksafe_worker_hook_runs_total", worker(w, "event", h.event()), h.runs());
            }
        }
        family(b, "forksafe_worker_hook_failures_total", "counter",
                "Hook runs that threw in each worker, by event type, as the worker last reported them.");
        for (Supervisor.WorkerRow w : live) {
            for (WorkerReport.HookRuns h : w.hooks()) {
                sample(b, "forksafe_worker_hook_failures_total", worker(w, "event", h.event()), h.failures());
            }
        }
        renderApps(b, apps);
        return b.toString();
    }

    /** The workers' own metrics, one family per name (the first sample's type wins), labelled by worker. */
    private static void renderApps(StringBuilder b, List<WorkerAppMetrics> apps) {
        Map<String, AppMetrics.Type> types = new LinkedHashMap<>();
        Map<String, List<String>> lines = new LinkedHashMap<>();
        for (WorkerAppMetrics app : apps) {
            for (AppMetrics.Sample s : app.metrics().samples()) {
                String family = s.type().family(s.name());
                AppMetrics.Type type = types.putIfAbsent(family, s.type());
                if (type != null && type != s.type()) {
                    continue;
                }
                String[] kv = new String[4 + 2 * s.labels().size()];
                kv[0] = "worker";
                kv[1] = app.worker();
                kv[2] = "generation";
                kv[3] = String.valueOf(app.generation());
                int i = 4;
                for (Map.Entry<String, String> l : s.labels().entrySet()) {
                    kv[i++] = l.getKey();
                    kv[i++] = l.getValue();
                }
                lines.computeIfAbsent(family, n -> new java.util.ArrayList<>())
                        .add(s.name() + labels(kv) + ' ' + number(s.value()));
            }
        }
        lines.forEach((name, samples) -> {
            family(b, name, types.get(name).name().toLowerCase(Locale.ROOT),
                    "Application metric of each worker (ArbiterMetricsBinder).");
            samples.forEach(line -> b.append(line).append('\n'));
        });
    }

    /** The labels of one worker's series: its name (standby-N for a standby) and its generation. */
    private static String worker(Supervisor.WorkerRow w, String... more) {
        String name = w.role().equals("standby") ? ControlProtocol.standbyName((int) (long) w.generation())
                : WorkerProcess.name(w.slot());
        String[] all = new String[4 + more.length];
        all[0] = "worker";
        all[1] = name;
        all[2] = "generation";
        all[3] = w.role().equals("standby") ? "" : String.valueOf(w.generation());
        System.arraycopy(more, 0, all, 4, more.length);
        return labels(all);
    }

    private static void family(StringBuilder b, String name, String type, String help) {
        b.append("# HELP ").append(name).append(' ').append(help.replace("\\", "\\\\").replace("\n", "\\n"))
                .append('\n');
        b.append("# TYPE ").append(name).append(' ').append(type).append('\n');
    }

    private static void sample(StringBuilder b, String name, String labels, double value) {
        b.append(name).append(labels).append(' ').append(number(value)).append('\n');
    }

    /** {@code {k1="v1",k2="v2"}}, the values escaped (backslash, quote, newline); empty for no labels. */
    static String labels(String... kv) {
        if (kv.length == 0) {
            return "";
        }
        StringBuilder b = new StringBuilder("{");
        for (int i = 0; i < kv.length; i += 2) {
            if (i > 0) {
                b.append(',');
            }
            b.append(kv[i]).append("=\"").append(kv[i + 1].replace("\\", "\\\\").replace("\"", "\\\"")
                    .replace("\n", "\\n")).append('"');
        }
        return b.append('}').toString();
    }

    /** A sample value as Prometheus writes it: integers without a fraction, no exponent, {@code +Inf}, {@code NaN}. */
    static String number(double v) {
        if (Double.isNaN(v)) {
            return "NaN";
        }
        if (Double.isInfinite(v)) {
            return v > 0 ? "+Inf" : "-Inf";
        }
        if (v == Math.rint(v) && Math.abs(v) < 1e15) {
            return Long.toString((long) v);
        }
        return java.math.BigDecimal.valueOf(v).toPlainString();
    }
}
