package io.forksafe.arbiter.internal;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * An application's own metrics, sent by a worker to the arbiter (see {@code io.forksafe.arbiter.ArbiterMetricsBinder})
 * so that {@code /metrics} on the arbiter shows every worker's, not whichever worker a scrape of the shared port
 * reached. One control line, replaced by the next:
 *
 * <pre>
 * app-metrics [&lt;name&gt;,&lt;type&gt;,&lt;value&gt;[,&lt;label&gt;,&lt;value&gt;]* ...]
 * </pre>
 *
 * Names and label texts are percent-encoded as in {@link WorkerReport}; type is {@code counter}, {@code gauge} or
 * {@code summary} (a sample named {@code ..._count} or {@code ..._sum}).
 * The arbiter treats the line as untrusted: a metric name or label name that Prometheus would reject, a name in
 * forksafe's own namespace ({@code forksafe_}), the labels the arbiter adds ({@code worker}, {@code generation}),
 * a value that is not finite, and everything beyond {@link #MAX_SAMPLES} samples or {@link #MAX_LABELS} labels are
 * dropped. Not API.
 *
 * @param samples the samples, in the worker's order
 */
public record AppMetrics(List<Sample> samples) {

    /** The control line's keyword. */
    public static final String KEYWORD = "app-metrics";
    /** The most samples one worker's line carries. */
    public static final int MAX_SAMPLES = 1000;
    /** The most labels one sample carries. */
    public static final int MAX_LABELS = 16;
    /** No samples. */
    public static final AppMetrics NONE = new AppMetrics(List.of());

    private static final Pattern METRIC_NAME = Pattern.compile("[a-zA-Z_:][a-zA-Z0-9_:]*");
    private static final Pattern LABEL_NAME = Pattern.compile("[a-zA-Z_][a-zA-Z0-9_]*");

    /** A sample's type. */
    public enum Type {
        /** only grows (its name ends with {@code _total}, {@code _count} or {@code _sum}) */
        COUNTER,
        /** goes up and down */
        GAUGE,
        /** the {@code _count} or {@code _sum} of a summary (a timer, a distribution summary); its family is the name without that suffix */
        SUMMARY;

        /** The family a sample of this type and name belongs to. */
        String family(String sample) {
            if (this == SUMMARY) {
                return sample.substring(0, sample.lastIndexOf('_'));
            }
            return sample;
        }
    }

    /**
     * One sample.
     *
     * @param name   the Prometheus metric name ("app_requests_total")
     * @param type   counter or gauge
     * @param value  the value
     * @param labels label names and values, in order
     */
    public record Sample(String name, Type type, double value, Map<String, String> labels) {
        public Sample {
            labels = java.util.Collections.unmodifiableMap(new LinkedHashMap<>(labels));
        }
    }

    public AppMetrics {
        samples = List.copyOf(samples.subList(0, Math.min(MAX_SAMPLES, samples.size())));
    }

    /** The control line (without the newline). */
    public String line() {
        StringBuilder b = new StringBuilder(KEYWORD);
        for (Sample s : samples) {
            b.append(' ').append(WorkerReport.encode(s.name())).append(',')
                    .append(s.type().name().toLowerCase(java.util.Locale.ROOT)).append(',').append(s.value());
            s.labels().forEach((k, v) -> b.append(',').append(WorkerReport.encode(k)).append(',')
                    .append(WorkerReport.encode(v)));
        }
        return b.toString();
    }

    /** Whether {@code line} is an {@code app-metrics} line. */
    static boolean isLine(String line) {
        return line.startsWith(KEYWORD) && (line.length() == KEYWORD.length() || line.charAt(KEYWORD.length()) == ' ');
    }

    /**
     * The samples of an {@code app-metrics} line, keeping only what Prometheus accepts and the arbiter does not
     * own (see the class comment).
     *
     * @throws IllegalArgumentException if the line is malformed (the caller ignores it)
     */
    static AppMetrics parse(String line) {
        if (!isLine(line)) {
            throw new IllegalArgumentException("not an app-metrics line");
        }
        List<Sample> out = new ArrayList<>();
        if (line.length() == KEYWORD.length()) {
            return NONE;
        }
        for (String item : line.substring(KEYWORD.length() + 1).split(" ")) {
            if (out.size() == MAX_SAMPLES) {
                break;
            }
            String[] f = item.split(",", -1);
            if (f.length < 3 || f.length % 2 == 0) {
                throw new IllegalArgumentException("a sample has a name, a type, a value and label pairs");
            }
            String name = WorkerReport.decode(f[0]);
            Type type = switch (f[1]) {
                case "counter" -> Type.COUNTER;
                case "gauge" -> Type.GAUGE;
                case "summary" -> Type.SUMMARY;
                default -> throw new IllegalArgumentException("unknown type " + f[1]);
            };
            double value = Double.parseDouble(f[2]);
            Map<String, String> labels = new LinkedHashMap<>();
            boolean keep = name != null && METRIC_NAME.matcher(name).matches() && !name.startsWith("forksafe_")
                    && Double.isFinite(value) && (f.length - 3) / 2 <= MAX_LABELS
                    && (type != Type.SUMMARY || name.endsWith("_count") || name.endsWith("_sum"));
            for (int i = 3; keep && i < f.length; i += 2) {
                String k = WorkerReport.decode(f[i]);
                String v = WorkerReport.decode(f[i + 1]);
                keep = k != null && v != null && LABEL_NAME.matcher(k).matches() && !k.startsWith("__")
                        && !k.equals("worker") && !k.equals("generation") && labels.put(k, v) == null;
            }
            if (keep) {
                out.add(new Sample(name, type, value, labels));
            }
        }
        return new AppMetrics(out);
    }
}
