package io.forksafe.arbiter.internal;

import static org.assertj.core.api.Assertions.assertThat;

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
        assertThat(ArbiterMetrics.number(Double.POSITIVE_INFINITY)).isEqualTo("Infinity");
    }
}
