package io.forksafe.arbiter;

import io.forksafe.ForkRegistry;
import io.forksafe.Forksafe;
import io.forksafe.arbiter.internal.AppMetrics;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.DistributionSummary;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.FunctionTimer;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.LongTaskTimer;
import io.micrometer.core.instrument.Measurement;
import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tag;
import io.micrometer.core.instrument.TimeGauge;
import io.micrometer.core.instrument.Timer;
import io.micrometer.core.instrument.binder.MeterBinder;
import io.micrometer.core.instrument.config.NamingConvention;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * Exports a worker's Micrometer meters to the arbiter, which serves them on its {@code /metrics} with the labels
 * {@code worker} and {@code generation}. Behind the arbiter's shared port, a Prometheus scrape of the application
 * reaches whichever worker accepts it; through the arbiter every worker's meters are in one scrape.
 *
 * <p>Bind it like any Micrometer binder, in the worker's code (Spring Boot binds {@link MeterBinder} beans by
 * itself). Outside a JVM the arbiter spawned it does nothing. Names follow Prometheus' conventions as Micrometer's
 * Prometheus registry writes them: {@code app.requests} counter becomes {@code app_requests_total}, a timer a
 * summary {@code _seconds} (its {@code _seconds_count} and {@code _seconds_sum}) and a gauge {@code _seconds_max}, a
 * distribution summary a summary ({@code _count}, {@code _sum}) and a gauge {@code _max}; gauges keep their name. The meters are read on the worker's heartbeat thread, at
 * most every 5 seconds, and sent when they changed; the arbiter keeps at most 1,000 samples of a worker. micrometer-core
 * is an optional dependency of forksafe-native: an application that uses this class has it already.
 *
 * <pre>{@code
 * MeterRegistry meters = new SimpleMeterRegistry();
 * new ArbiterMetricsBinder().bindTo(meters);
 * Counter served = meters.counter("app.requests");
 * }</pre>
 */
public final class ArbiterMetricsBinder implements MeterBinder {

    private final ForkRegistry registry;

    /** A binder for the default registry's worker ({@link Forksafe#registry()}). */
    public ArbiterMetricsBinder() {
        this(Forksafe.registry());
    }

    /** A binder for the worker attached to {@code registry}. */
    public ArbiterMetricsBinder(ForkRegistry registry) {
        this.registry = registry;
    }

    /** Starts sending {@code meters} to the arbiter, if this JVM is an arbiter worker; otherwise does nothing. */
    @Override
    public void bindTo(MeterRegistry meters) {
        if (ArbiterWorker.isArbiterWorker()) {
            ArbiterWorker.attach(registry).exportAppMetrics(() -> samples(meters).line());
        }
    }

    /** The meters of {@code meters} as samples, named as Micrometer's Prometheus registry names them. */
    static AppMetrics samples(MeterRegistry meters) {
        List<AppMetrics.Sample> out = new ArrayList<>();
        for (Meter m : meters.getMeters()) {
            if (out.size() >= AppMetrics.MAX_SAMPLES) {
                break;
            }
            String name = m.getId().getConventionName(NamingConvention.snakeCase);
            Map<String, String> tags = new LinkedHashMap<>();
            for (Tag t : m.getId().getConventionTags(NamingConvention.snakeCase)) {
                tags.put(t.getKey(), t.getValue());
            }
            if (m instanceof Counter c) {
                add(out, total(name), AppMetrics.Type.COUNTER, c.count(), tags);
            } else if (m instanceof FunctionCounter c) {
                add(out, total(name), AppMetrics.Type.COUNTER, c.count(), tags);
            } else if (m instanceof TimeGauge g) {
                add(out, name + "_seconds", AppMetrics.Type.GAUGE, g.value(TimeUnit.SECONDS), tags);
            } else if (m instanceof Gauge g) {
                add(out, name, AppMetrics.Type.GAUGE, g.value(), tags);
            } else if (m instanceof Timer t) {
                add(out, name + "_seconds_count", AppMetrics.Type.SUMMARY, t.count(), tags);
                add(out, name + "_seconds_sum", AppMetrics.Type.SUMMARY, t.totalTime(TimeUnit.SECONDS), tags);
                add(out, name + "_seconds_max", AppMetrics.Type.GAUGE, t.max(TimeUnit.SECONDS), tags);
            } else if (m instanceof FunctionTimer t) {
                add(out, name + "_seconds_count", AppMetrics.Type.SUMMARY, t.count(), tags);
                add(out, name + "_seconds_sum", AppMetrics.Type.SUMMARY, t.totalTime(TimeUnit.SECONDS), tags);
            } else if (m instanceof LongTaskTimer t) {
                add(out, name + "_active_tasks", AppMetrics.Type.GAUGE, t.activeTasks(), tags);
                add(out, name + "_duration_seconds", AppMetrics.Type.GAUGE, t.duration(TimeUnit.SECONDS), tags);
            } else if (m instanceof DistributionSummary d) {
                add(out, name + "_count", AppMetrics.Type.SUMMARY, d.count(), tags);
                add(out, name + "_sum", AppMetrics.Type.SUMMARY, d.totalAmount(), tags);
                add(out, name + "_max", AppMetrics.Type.GAUGE, d.max(), tags);
            } else {
                for (Measurement x : m.measure()) {
                    add(out, name + "_" + x.getStatistic().getTagValueRepresentation().toLowerCase(Locale.ROOT),
                            AppMetrics.Type.GAUGE, x.getValue(), tags);
                }
            }
        }
        return new AppMetrics(out);
    }

    private static String total(String name) {
        return name.endsWith("_total") ? name : name + "_total";
    }

    private static void add(List<AppMetrics.Sample> out, String name, AppMetrics.Type type, double value,
                            Map<String, String> tags) {
        if (Double.isFinite(value)) {
            out.add(new AppMetrics.Sample(name, type, value, tags));
        }
    }
}
