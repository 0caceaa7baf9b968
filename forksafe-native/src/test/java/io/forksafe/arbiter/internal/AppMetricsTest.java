package io.forksafe.arbiter.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;

/** The app-metrics line: what survives the trip, and what the arbiter refuses from an untrusted worker. */
class AppMetricsTest {

    @Test
    void samplesRoundTripWithHostileLabelValues() {
        String hostile = "a \"b\" c\\d\ne, f <g>";
        AppMetrics sent = new AppMetrics(List.of(
                new AppMetrics.Sample("app_requests_total", AppMetrics.Type.COUNTER, 12, Map.of("path", hostile)),
                new AppMetrics.Sample("app_heap", AppMetrics.Type.GAUGE, 0.5, Map.of())));
        assertThat(sent.line()).matches("app-metrics [\\x21-\\x7e ]+").doesNotContain("\n", "\"");
        AppMetrics got = AppMetrics.parse(sent.line());
        assertThat(got).isEqualTo(sent);
        assertThat(AppMetrics.parse("app-metrics")).isEqualTo(AppMetrics.NONE);
    }

    @Test
    void namesPrometheusRejectsOrTheArbiterOwnsAreDropped() {
        AppMetrics got = AppMetrics.parse(new AppMetrics(List.of(
                sample("ok_total", Map.of()),
                sample("forksafe_arbiter_workers", Map.of()),
                sample("9starts_with_digit", Map.of()),
                sample("has-dash", Map.of()),
                sample("spoof", Map.of("worker", "worker-9")),
                sample("spoof2", Map.of("generation", "7")),
                sample("reserved", Map.of("__name__", "x")),
                sample("bad_label", Map.of("a-b", "x")),
                new AppMetrics.Sample("nan", AppMetrics.Type.GAUGE, Double.NaN, Map.of()),
                new AppMetrics.Sample("lat_seconds_count", AppMetrics.Type.SUMMARY, 2, Map.of()),
                new AppMetrics.Sample("lat_seconds_max", AppMetrics.Type.SUMMARY, 2, Map.of()),
                sample("kept", Map.of("path", "/x")))).line());
        assertThat(got.samples()).extracting(AppMetrics.Sample::name).containsExactly("ok_total", "lat_seconds_count", "kept");
        assertThat(AppMetrics.Type.SUMMARY.family("lat_seconds_count")).isEqualTo("lat_seconds");
        assertThat(AppMetrics.Type.GAUGE.family("lat_seconds_count")).isEqualTo("lat_seconds_count");
    }

    @Test
    void malformedLinesAreRejectedAndSizesBounded() {
        for (String bad : List.of("app-metrics x", "app-metrics x,counter", "app-metrics x,histogram,1",
                "app-metrics x,gauge,one", "app-metrics x,gauge,1,k", "app-metrics x%ZZ,gauge,1")) {
            assertThatThrownBy(() -> AppMetrics.parse(bad)).as(bad).isInstanceOf(IllegalArgumentException.class);
        }
        assertThat(AppMetrics.isLine("app-metricsx")).isFalse();
        List<AppMetrics.Sample> many = new ArrayList<>();
        for (int i = 0; i < AppMetrics.MAX_SAMPLES + 10; i++) {
            many.add(sample("m" + i, Map.of()));
        }
        assertThat(new AppMetrics(many).samples()).hasSize(AppMetrics.MAX_SAMPLES);
        StringBuilder forged = new StringBuilder("app-metrics");
        for (int i = 0; i < AppMetrics.MAX_SAMPLES + 10; i++) {
            forged.append(" m").append(i).append(",gauge,1");
        }
        assertThat(AppMetrics.parse(forged.toString()).samples()).hasSize(AppMetrics.MAX_SAMPLES);
        StringBuilder labels = new StringBuilder("app-metrics m,gauge,1");
        for (int i = 0; i <= AppMetrics.MAX_LABELS; i++) {
            labels.append(",k").append(i).append(",v");
        }
        assertThat(AppMetrics.parse(labels.toString()).samples()).as("more than MAX_LABELS labels").isEmpty();
    }

    private static AppMetrics.Sample sample(String name, Map<String, String> labels) {
        return new AppMetrics.Sample(name, AppMetrics.Type.GAUGE, 1, labels);
    }
}
