package io.forksafe;

import io.forksafe.internal.Json;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A read-only snapshot of what forksafe was configured to do and which hooks ran: the debug status object.
 * It renders as JSON ({@link #toJson()}), as a text dump ({@link #dump()}), and through the JMX MBean
 * {@code io.forksafe:type=Status}. Secret-looking settings are already redacted.
 *
 * <pre>{@code
 * ForksafeStatus status = Forksafe.status();
 * System.out.println(status.status());     // "jetty hook configured"
 * System.out.println(status.toJson());
 * }</pre>
 *
 * @param status           one line: "attempting auto-configure", "&lt;host&gt; hook configured" or "&lt;host&gt; error: ..."
 * @param environment      the configured host, for example "jetty 12.1.14", or null
 * @param autoconfigureLog ordered log lines, newest last (bounded)
 * @param executedHooks    one entry per (subscriber, event type) that has run or is subscribed
 * @param pid              this process's pid
 * @param workers          live workers this process knows about (bounded)
 * @param recentlyEnded    the most recently ended workers (bounded)
 * @param workerCounters   started, ended, live and untracked (beyond the bound) worker counts
 * @param settings         the settings, with secret values redacted
 * @param notes            plain statements from adapters, such as what a host cannot report
 * @param errors           configuration errors, oldest first (bounded)
 * @param details          adapter-specific sections, for example the arbiter's worker table
 * @param generatedAt      when the snapshot was taken
 */
public record ForksafeStatus(
        String status,
        String environment,
        List<String> autoconfigureLog,
        List<HookExecution> executedHooks,
        long pid,
        List<WorkerState> workers,
        List<WorkerState> recentlyEnded,
        Map<String, Long> workerCounters,
        Map<String, String> settings,
        Map<String, String> notes,
        List<String> errors,
        Map<String, Object> details,
        Instant generatedAt) {

    public ForksafeStatus {
        autoconfigureLog = List.copyOf(autoconfigureLog);
        executedHooks = List.copyOf(executedHooks);
        workers = List.copyOf(workers);
        recentlyEnded = List.copyOf(recentlyEnded);
        workerCounters = java.util.Collections.unmodifiableMap(new LinkedHashMap<>(workerCounters));
        settings = java.util.Collections.unmodifiableMap(new LinkedHashMap<>(settings));
        notes = java.util.Collections.unmodifiableMap(new LinkedHashMap<>(notes));
        errors = List.copyOf(errors);
        details = java.util.Collections.unmodifiableMap(new LinkedHashMap<>(details));
    }

    /**
     * What one subscriber did for one event type.
     *
     * @param subscriber   the subscription's name
     * @param event        the event type's simple name, for example "PostFork"
     * @param count        how many times it ran
     * @param lastRun      when it last started, or null if it never ran
     * @param lastDuration how long the last run took, or null
     * @param failures     how many runs threw
     * @param lastError    the last failure as "class: message", or null
     */
    public record HookExecution(String subscriber, String event, long count, Instant lastRun, Duration lastDuration,
                                long failures, String lastError) {
    }

    /**
     * One worker as this process last saw it.
     *
     * @param worker the worker
     * @param state  starting, running, ready, exiting or exited
     * @param since  when it entered that state
     * @param detail an exit reason or exit status, or null
     */
    public record WorkerState(WorkerInfo worker, String state, Instant since, String detail) {
    }

    /** {@code true} when the status line reports an error. */
    public boolean isError() {
        return status != null && status.contains(" error: ");
    }

    /** The total number of hook failures recorded. */
    public long totalFailures() {
        return executedHooks.stream().mapToLong(HookExecution::failures).sum();
    }

    /** The snapshot as nested maps and lists of plain values, the shape {@link #toJson()} writes. */
    public Map<String, Object> toMap() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("status", status);
        m.put("environment", environment);
        m.put("pid", pid);
        m.put("generatedAt", generatedAt);
        m.put("autoconfigureLog", autoconfigureLog);
        List<Map<String, Object>> hooks = new ArrayList<>();
        for (HookExecution h : executedHooks) {
            Map<String, Object> e = new LinkedHashMap<>();
            e.put("subscriber", h.subscriber());
            e.put("event", h.event());
            e.put("count", h.count());
            e.put("lastRun", h.lastRun());
            e.put("lastDurationMillis", h.lastDuration());
            e.put("failures", h.failures());
            e.put("lastError", h.lastError());
            hooks.add(e);
        }
        m.put("executedHooks", hooks);
        m.put("workerCounters", workerCounters);
        m.put("workers", workers.stream().map(ForksafeStatus::workerMap).toList());
        m.put("recentlyEnded", recentlyEnded.stream().map(ForksafeStatus::workerMap).toList());
        m.put("notes", notes);
        m.put("errors", errors);
        m.put("settings", settings);
        m.put("details", details);
        return m;
    }

    private static Map<String, Object> workerMap(WorkerState s) {
        Map<String, Object> w = new LinkedHashMap<>();
        WorkerInfo info = s.worker();
        w.put("slot", info.slot());
        w.put("name", info.name());
        w.put("kind", info.kind());
        w.put("pid", info.pid());
        w.put("parentPid", info.parentPid());
        w.put("generation", info.generation());
        w.put("state", s.state());
        w.put("since", s.since());
        w.put("detail", s.detail());
        return w;
    }

    /** The snapshot as valid, escaped JSON. */
    public String toJson() {
        return Json.write(toMap());
    }

    /** A human-readable dump, one fact per line. */
    public String dump() {
        StringBuilder out = new StringBuilder(1024);
        out.append("forksafe status: ").append(status).append('\n');
        out.append("environment:     ").append(environment).append('\n');
        out.append("pid:             ").append(pid).append('\n');
        out.append("generated at:    ").append(generatedAt).append('\n');
        out.append("\nautoconfigure log:\n");
        autoconfigureLog.forEach(l -> out.append("  ").append(l).append('\n'));
        out.append("\nexecuted hooks:\n");
        if (executedHooks.isEmpty()) {
            out.append("  (none)\n");
        }
        for (HookExecution h : executedHooks) {
            out.append("  ").append(h.event()).append(" <- ").append(h.subscriber())
                    .append(": ran ").append(h.count()).append("x, ").append(h.failures()).append(" failed");
            if (h.lastDuration() != null) {
                out.append(", last ").append(String.format("%.3f ms", h.lastDuration().toNanos() / 1e6));
            }
            if (h.lastError() != null) {
                out.append(", last error: ").append(h.lastError());
            }
            out.append('\n');
        }
        out.append("\nworkers ").append(workerCounters).append(":\n");
        for (WorkerState s : workers) {
            out.append("  ").append(workerLine(s)).append('\n');
        }
        if (!recentlyEnded.isEmpty()) {
            out.append("recently ended:\n");
            for (WorkerState s : recentlyEnded) {
                out.append("  ").append(workerLine(s)).append('\n');
            }
        }
        if (!notes.isEmpty()) {
            out.append("\nnotes:\n");
            notes.forEach((k, v) -> out.append("  ").append(k).append(": ").append(v).append('\n'));
        }
        if (!errors.isEmpty()) {
            out.append("\nerrors:\n");
            errors.forEach(e -> out.append("  ").append(e).append('\n'));
        }
        out.append("\nsettings:\n");
        settings.forEach((k, v) -> out.append("  ").append(k).append(" = ").append(v).append('\n'));
        if (!details.isEmpty()) {
            out.append("\ndetails:\n");
            details.forEach((k, v) -> out.append("  ").append(k).append(": ").append(v).append('\n'));
        }
        return out.toString();
    }

    private static String workerLine(WorkerState s) {
        WorkerInfo w = s.worker();
        return String.format("#%d %s %s pid=%d ppid=%d gen=%d %s%s", w.slot(), w.kind(), w.name(), w.pid(),
                w.parentPid(), w.generation(), s.state(), s.detail() == null || s.detail().isEmpty() ? "" : " (" + s.detail() + ")");
    }

    @Override
    public String toString() {
        return "ForksafeStatus[" + status + ", environment=" + environment + "]";
    }
}
