package io.forksafe.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Prints the suite's table of ratios from the JMH CSV ({@code -rf csv}) and the {@code key=value} files the load
 * scripts wrote, all from the same run. Missing inputs (a part of the suite that was skipped) show as "not run"; an
 * anchor that this build or machine cannot run (AnchorBench's {@code key.na=reason}) shows its reason, never a figure.
 *
 * <pre>{@code
 * java -cp ... io.forksafe.bench.Report target/bench/jmh.json target/bench/http.txt target/bench/arbiter.txt \
 *     target/bench/anchors.txt
 * }</pre>
 */
public final class Report {

    private final Map<String, Double> jmh = new HashMap<>();
    private final Map<String, String> kv = new LinkedHashMap<>();
    private final List<String[]> rows = new ArrayList<>();

    private Report() {
    }

    public static void main(String[] args) throws IOException {
        Report r = new Report();
        for (String a : args) {
            Path p = Path.of(a);
            if (!Files.exists(p)) {
                continue;
            }
            if (a.endsWith(".json")) {
                r.readJson(p);
            } else if (a.endsWith(".csv")) {
                r.readCsv(p);
            } else {
                r.readKv(p);
            }
        }
        r.build();
        System.out.println(r.markdown());
    }

    private void readCsv(Path p) throws IOException {
        List<String> lines = Files.readAllLines(p);
        if (lines.isEmpty()) {
            return;
        }
        List<String> header = split(lines.get(0));
        for (String line : lines.subList(1, lines.size())) {
            List<String> f = split(line);
            StringBuilder key = new StringBuilder(f.get(0).replaceFirst("^io\\.forksafe\\.bench\\.", ""));
            for (int i = 7; i < header.size() && i < f.size(); i++) {
                if (!f.get(i).isEmpty()) {
                    key.append(' ').append(header.get(i).replace("Param: ", "")).append('=').append(f.get(i));
                }
            }
            jmh.put(key.toString(), Double.parseDouble(f.get(4)));
        }
    }

    /**
     * JMH's JSON ({@code -rf json}): the score used is the <b>median</b> of the measurement iterations, not their mean,
     * so that one iteration disturbed by another process on a shared machine does not decide the ratio.
     */
    private void readJson(Path p) throws IOException {
        com.fasterxml.jackson.databind.JsonNode root = new com.fasterxml.jackson.databind.ObjectMapper().readTree(p.toFile());
        for (com.fasterxml.jackson.databind.JsonNode b : root) {
            StringBuilder key = new StringBuilder(b.path("benchmark").asText().replaceFirst("^io\\.forksafe\\.bench\\.", ""));
            b.path("params").fields().forEachRemaining(e -> key.append(' ').append(e.getKey()).append('=')
                    .append(e.getValue().asText()));
            List<Double> raw = new ArrayList<>();
            b.path("primaryMetric").path("rawData").forEach(fork -> fork.forEach(v -> raw.add(v.asDouble())));
            double score = raw.isEmpty() ? b.path("primaryMetric").path("score").asDouble()
                    : HttpThroughput.median(raw.stream().mapToDouble(Double::doubleValue).toArray());
            jmh.put(key.toString(), score);
        }
    }

    private static List<String> split(String line) {
        List<String> out = new ArrayList<>();
        for (String s : line.split(",", -1)) {
            out.add(s.startsWith("\"") && s.endsWith("\"") && s.length() >= 2 ? s.substring(1, s.length() - 1) : s);
        }
        return out;
    }

    private void readKv(Path p) throws IOException {
        for (String line : Files.readAllLines(p)) {
            int eq = line.indexOf('=');
            if (eq > 0 && !line.startsWith("#")) {
                kv.put(line.substring(0, eq).trim(), line.substring(eq + 1).trim());
            }
        }
    }

    private Double j(String key) {
        return jmh.get(key);
    }

    private Double k(String key) {
        String v = kv.get(key);
        return v == null ? null : Double.valueOf(v);
    }

    private void row(String num, String figure, Double measured, Double baseline, String unit, Double ratio,
                     String target, Boolean met) {
        rows.add(new String[] {num, figure, fmt(measured, unit), fmt(baseline, unit),
                ratio == null ? (measured == null ? "not run" : "—") : String.format(Locale.ROOT, "%.2f×", ratio),
                target, met == null ? (ratio == null && measured == null ? "not run" : "reported")
                        : met ? "met" : "MISSED"});
    }

    private static String fmt(Double v, String unit) {
        if (v == null) {
            return "—";
        }
        String n = v >= 1000 ? String.format(Locale.ROOT, "%,.0f", v)
                : v >= 10 ? String.format(Locale.ROOT, "%.1f", v) : String.format(Locale.ROOT, "%.3f", v);
        return n + " " + unit;
    }

    private static Double ratio(Double a, Double b) {
        return a == null || b == null || b == 0 ? null : a / b;
    }

    private void build() {
        for (String work : List.of("0", "20")) {
            for (String n : List.of("1", "10", "100")) {
                String params = " subscribers=" + n + " work=" + work;
                Double f = j("PublishBenchmark.forksafePublish" + params);
                Double b = j("PublishBenchmark.baselinePlainLoop" + params);
                Double r = ratio(f, b);
                boolean anchored = n.equals("10");
                row("1", "publish to N=" + n + " hooks, " + (work.equals("0") ? "empty hooks" : work + " CPU tokens each"),
                        f, b, "ns", r, anchored ? "≤ 1.5×" : "—", anchored && r != null ? r <= 1.5 : null);
            }
        }
        for (String work : List.of("0", "20")) {
            // Diagnostic: the same ForkHook objects forksafe calls, in a plain loop; separates forksafe's own cost
            // from the hooks' indirection (each wraps a Consumer).
            String params = " subscribers=10 work=" + work;
            Double f = j("PublishBenchmark.forksafePublish" + params);
            Double h = j("PublishBenchmark.sameHooksPlainLoop" + params);
            row("1", "publish to N=10 vs the same hook objects in a plain loop, " + (work.equals("0") ? "empty hooks"
                    : work + " CPU tokens each") + " (diagnostic)", f, h, "ns", ratio(f, h), "reported", null);
        }
        Double sc = j("SubscribeCloseBenchmark.subscribeAndClose");
        row("2", "subscribe + close, 2 threads (ops/µs, both threads)", sc, null, "ops/µs", null, "reported", null);
        for (String n : List.of("0", "1")) {
            Double f = j("JettyThreadBenchmark.forksafeJettyThread subscribers=" + n);
            Double b = j("JettyThreadBenchmark.plainJettyThread subscribers=" + n);
            Double r = ratio(f, b);
            row("3", "Jetty QueuedThreadPool thread life, " + n + " subscriber(s)", f, b, "µs", r, "≤ 1.10×",
                    r == null ? null : r <= 1.10);
        }
        for (String n : List.of("0", "1")) {
            Double f = j("UndertowThreadBenchmark.forksafeExecutorThread subscribers=" + n);
            Double b = j("UndertowThreadBenchmark.plainExecutorThread subscribers=" + n);
            Double r = ratio(f, b);
            row("3", "Undertow task-pool thread life, " + n + " subscriber(s)", f, b, "µs", r, "≤ 1.10×",
                    r == null ? null : r <= 1.10);
        }
        for (String s : List.of("jetty", "undertow")) {
            Double r = k("http." + s + ".ratio");
            String rounds = kv.getOrDefault("http." + s + ".rounds", "?");
            String spread = kv.containsKey("http." + s + ".ratio.min")
                    ? String.format(Locale.ROOT, ", rounds %s..%s", kv.get("http." + s + ".ratio.min"),
                    kv.get("http." + s + ".ratio.max")) : "";
            String total = kv.containsKey("http." + s + ".ratio.total")
                    ? String.format(Locale.ROOT, ", ratio of totals %.2f×", Double.valueOf(kv.get("http." + s + ".ratio.total")))
                    : "";
            row("4", s + " hello, req/s, median of " + rounds + " alternating rounds, servers side by side" + spread + total,
                    k("http." + s + ".forksafe.rps"), k("http." + s + ".bare.rps"), "req/s", r, "≥ 0.98×",
                    r == null ? null : r >= 0.98);
        }
        Double a2 = k("arbiter.start2.ms");
        Double plain = k("plain.start.ms");
        row("5", "arbiter start → 2 workers serving (ms)", a2, plain, "ms", ratio(a2, plain), "reported", null);
        Double kill = k("arbiter.kill9.ms");
        row("6", "arbiter kill -9 → replacement serving (ms)", kill, plain, "ms", ratio(kill, plain), "reported", null);
        Double t2 = k("arbiter.rps.2workers");
        Double t1 = k("arbiter.rps.1worker");
        row("7", "arbiter throughput, 2 workers vs 1 (req/s)", t2, t1, "req/s", ratio(t2, t1), "reported", null);
        Double cdsStart = k("cds.on.start.ms");
        Double noCdsStart = k("cds.off.start.ms");
        row("CDS", "worker start → serving with AppCDS vs without (ms)", cdsStart, noCdsStart, "ms",
                ratio(cdsStart, noCdsStart), "reported", null);
        Double cdsPss = k("cds.on.pss.kb");
        Double noCdsPss = k("cds.off.pss.kb");
        row("CDS", "per-worker PSS with AppCDS vs without (kB)", cdsPss, noCdsPss, "kB", ratio(cdsPss, noCdsPss),
                "reported", null);
        anchors();
    }

    private String text(String key) {
        return kv.get(key);
    }

    /** A figure of AnchorBench: its median, or null when it was not measured (see {@link #naText}). */
    private Double anchor(String key) {
        return k(key + (key.startsWith("pss.") ? ".kb" : key.startsWith("rps.") ? ".rps" : ".ms"));
    }

    /** Why a figure of AnchorBench is missing: its {@code .na} reason, or "not run". */
    private String naText(String key) {
        return kv.getOrDefault(key + ".na", "not run");
    }

    private String spread(String key, String unit) {
        String min = kv.get(key + ".min");
        String max = kv.get(key + ".max");
        String n = kv.getOrDefault(key + ".rounds", "?");
        return min == null ? "" : String.format(Locale.ROOT, " (%s..%s %s, %s)", trim(min), trim(max), unit,
                key.startsWith("pss.") ? n + " workers over " + kv.getOrDefault(key + ".starts", "?") + " starts"
                        : n + " rounds");
    }

    private static String trim(String v) {
        return v.endsWith(".0") ? v.substring(0, v.length() - 2) : v;
    }

    /**
     * One anchor row: the figure against its anchor from the same run, or its n/a reason. {@code target} is a bound
     * on the ratio ({@code max}) or null when the row is only reported.
     */
    private void anchorRow(String num, String figure, String key, String anchorKey, String unit, Double max) {
        Double v = anchor(key);
        Double base = anchor(anchorKey);
        Double r = ratio(v, base);
        String targetText = max == null ? "reported" : String.format(Locale.ROOT, "≤ %.1f×", max);
        if (v == null) {
            rows.add(new String[] {num, figure, naText(key), fmt(base, unit), "—", targetText,
                    kv.containsKey(key + ".na") ? "n/a" : "not run"});
            return;
        }
        rows.add(new String[] {num, figure + spread(key, unit), fmt(v, unit), key.equals(anchorKey) ? "(anchor)"
                : base == null ? naText(anchorKey) : fmt(base, unit),
                r == null ? "—" : String.format(Locale.ROOT, "%.2f×", r), targetText,
                max == null || r == null ? (r == null && !key.equals(anchorKey) ? "no anchor" : "reported")
                        : r <= max ? "met" : "MISSED"});
    }

    /** Rows A1 to A4: AnchorBench's side-by-side anchors (issue 16). */
    private void anchors() {
        if (kv.keySet().stream().noneMatch(key -> key.startsWith("kill.") || key.startsWith("start.")
                || key.startsWith("pss.") || key.startsWith("rps."))) {
            return;
        }
        String g = "gunicorn " + kv.getOrDefault("kill.gunicorn.version", "");
        anchorRow("A1", "kill -9 → first response from a new pid, " + g.strip() + " (2 sync workers)",
                "kill.gunicorn", "kill.gunicorn", "ms", null);
        for (String[] m : new String[][] {{"spawn", "arbiter spawn"}, {"spawn-standby", "arbiter spawn + standby 1"},
                {"preload", "arbiter --preload"}, {"preload-standby", "arbiter --preload + standby 1"}}) {
            anchorRow("A1", "kill -9 → first response from a new pid, " + m[1] + " vs gunicorn", "kill." + m[0],
                    "kill.gunicorn", "ms", null);
        }
        String best = null;
        for (String m : List.of("spawn", "spawn-standby", "preload", "preload-standby")) {
            Double v = anchor("kill." + m);
            if (v != null && (best == null || v < anchor("kill." + best))) {
                best = m;
            }
        }
        if (best != null) {
            Double v = anchor("kill." + best);
            Double gu = anchor("kill.gunicorn");
            Double r = ratio(v, gu);
            rows.add(new String[] {"A1", "kill -9 → new pid serving, best forksafe mode (" + best + ") / gunicorn",
                    fmt(v, "ms"), gu == null ? naText("kill.gunicorn") : fmt(gu, "ms"),
                    r == null ? "—" : String.format(Locale.ROOT, "%.2f×", r), "≤ 1.0×",
                    r == null ? "no anchor" : r <= 1.0 ? "met" : "MISSED"});
        }
        anchorRow("A1", "kill -9 → new pid serving, spawn + standby 1 vs spawn", "kill.spawn-standby", "kill.spawn",
                "ms", 0.1);
        anchorRow("A2", "start → 2 workers serving, one plain JVM (launch → first answer)", "start.plain",
                "start.plain", "ms", null);
        anchorRow("A2", "start → 2 workers serving, arbiter spawn vs plain JVM", "start.spawn", "start.plain", "ms",
                2.0);
        anchorRow("A2", "start → 2 workers serving, arbiter --preload vs plain JVM", "start.preload", "start.plain",
                "ms", null);
        anchorRow("A2", "start → 2 workers serving, --preload from a kept image (--image-dir) vs plain JVM",
                "start.image", "start.plain", "ms", 0.5);
        anchorRow("A3", "per-worker PSS at 4 workers, spawn", "pss.spawn", "pss.spawn", "kB", null);
        anchorRow("A3", "per-worker PSS at 4 workers, spawn + AppCDS vs spawn", "pss.cds", "pss.spawn", "kB", null);
        anchorRow("A3", "per-worker PSS at 4 workers, --preload copies vs spawn", "pss.preload", "pss.spawn", "kB",
                null);
        anchorRow("A4", "throughput, 1 worker (" + kv.getOrDefault("rps.client", "?") + ")", "rps.1", "rps.1",
                "req/s", null);
        anchorRow("A4", "throughput, 2 workers vs 1, same pinning", "rps.2", "rps.1", "req/s", null);
    }

    /** Where the time goes, for the start and kill figures (stages AnchorBench read from the logs). */
    private String stages() {
        StringBuilder sb = new StringBuilder();
        for (String[] f : new String[][] {
                {"start.spawn", "start → 2 serving, spawn (ms from launch; each stage when the last worker passed it)",
                        "arbiterListening:arbiter JVM listening,spawned:2nd worker spawned,workerMain:2nd worker JVM in "
                                + "main (forksafe loaded),appPostFork:2nd app main running (PostFork replayed to its "
                                + "printer),serverStarted:2nd Jetty started,ready:2nd ready (arbiter log)"},
                {"start.preload", "start → 2 serving, --preload (ms)",
                        "templateColdStart:template spawn → ready (status),dump:criu dump (status),arbiterListening:"
                                + "arbiter listening (after the template),restoring:2nd restore started,ready:2nd copy "
                                + "ready"},
                {"start.image", "start → 2 serving, from a kept image (ms)", "arbiterListening:arbiter listening,"
                        + "restoring:2nd restore started,ready:2nd copy ready"}}) {
            appendStages(sb, f[0], f[1], f[2], "all serving");
        }
        for (String m : List.of("spawn", "spawn-standby", "preload", "preload-standby")) {
            appendStages(sb, "kill." + m, "kill -9 → new pid, " + m + " (ms after the kill)",
                    "noticed:arbiter logs the exit,replacing:replacement spawned/restoring,ready:replacement ready",
                    "a new pid answers");
        }
        return sb.toString();
    }

    private void appendStages(StringBuilder sb, String key, String title, String spec, String end) {
        Double total = anchor(key);
        if (total == null) {
            return;
        }
        StringBuilder line = new StringBuilder();
        for (String part : spec.split(",")) {
            String[] kl = part.split(":", 2);
            String v = text(key + "." + kl[0] + ".ms");
            if (v != null) {
                line.append(line.length() == 0 ? "" : "; ").append(kl[1]).append(' ').append(trim(v));
            }
        }
        if (line.length() > 0) {
            sb.append("- ").append(title).append(": ").append(line).append("; ").append(end).append(' ')
                    .append(trim(String.format(Locale.ROOT, "%.1f", total))).append(" (medians)\n");
        }
    }

    private String markdown() {
        StringBuilder sb = new StringBuilder();
        sb.append("| # | figure | forksafe | baseline | ratio | target | result |\n");
        sb.append("|---|---|---:|---:|---:|---|---|\n");
        for (String[] r : rows) {
            sb.append("| ").append(String.join(" | ", r)).append(" |\n");
        }
        String stages = stages();
        if (!stages.isEmpty()) {
            sb.append("\nWhere the time goes (median stage times of the same rounds):\n").append(stages);
        }
        return sb.toString();
    }
}
