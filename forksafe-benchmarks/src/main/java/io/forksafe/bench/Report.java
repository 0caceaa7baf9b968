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
 * scripts wrote, all from the same run. Missing inputs (a part of the suite that was skipped) show as "not run".
 *
 * <pre>{@code
 * java -cp ... io.forksafe.bench.Report target/bench/jmh.csv target/bench/http.txt target/bench/arbiter.txt
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
    }

    private String markdown() {
        StringBuilder sb = new StringBuilder();
        sb.append("| # | figure | forksafe | baseline | ratio | target | result |\n");
        sb.append("|---|---|---:|---:|---:|---|---|\n");
        for (String[] r : rows) {
            sb.append("| ").append(String.join(" | ", r)).append(" |\n");
        }
        return sb.toString();
    }
}
