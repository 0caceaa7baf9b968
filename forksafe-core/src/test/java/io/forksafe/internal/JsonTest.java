package io.forksafe.internal;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;

/** The one JSON writer of the status: exact layout, every value type, and every escape. */
class JsonTest {

    private static String quoted(String s) {
        StringBuilder out = new StringBuilder();
        Json.string(out, s);
        return out.toString();
    }

    @Test
    void nestedObjectsAndArraysAreIndentedTwoSpacesPerLevel() {
        Map<String, Object> inner = new LinkedHashMap<>();
        inner.put("b", "x");
        inner.put("c", List.of());
        Map<String, Object> root = new LinkedHashMap<>();
        root.put("a", List.of(1, inner, new Object[] {true, null}));
        root.put("d", Map.of());
        assertThat(Json.write(root)).isEqualTo("""
                {
                  "a": [
                    1,
                    {
                      "b": "x",
                      "c": []
                    },
                    [
                      true,
                      null
                    ]
                  ],
                  "d": {}
                }""");
    }

    @Test
    void scalarsRenderAsJsonValues() {
        assertThat(Json.write(null)).isEqualTo("null");
        assertThat(Json.write(false)).isEqualTo("false");
        assertThat(Json.write(42L)).isEqualTo("42");
        assertThat(Json.write(2.5)).isEqualTo("2.5");
        assertThat(Json.write(Double.NaN)).isEqualTo("null");
        assertThat(Json.write(Double.NEGATIVE_INFINITY)).isEqualTo("null");
        assertThat(Json.write(Float.NaN)).isEqualTo("null");
        assertThat(Json.write(Float.POSITIVE_INFINITY)).isEqualTo("null");
        assertThat(Json.write(1.5f)).isEqualTo("1.5");
        assertThat(Json.write(Instant.parse("2026-01-02T03:04:05Z"))).isEqualTo("\"2026-01-02T03:04:05Z\"");
        assertThat(Json.write(TimeUnit.SECONDS)).isEqualTo("\"SECONDS\"");
        assertThat(Json.write(new StringBuilder("sb"))).isEqualTo("\"sb\"");
        assertThat(Json.write(new Object[0])).isEqualTo("[]");
    }

    @Test
    void aDurationIsMillisecondsWithAFraction() {
        assertThat(Json.write(Duration.ofNanos(1_500_000))).isEqualTo("1.5");
        assertThat(Json.write(Duration.ofSeconds(2))).isEqualTo("2000.0");
        assertThat(Json.write(Duration.ofNanos(250_000))).isEqualTo("0.25");
    }

    @Test
    void mapKeysAreStringsEscapedLikeValues() {
        Map<Object, Object> m = new LinkedHashMap<>();
        m.put(7, "seven");
        m.put("q\"", null);
        assertThat(Json.write(m)).isEqualTo("{\n  \"7\": \"seven\",\n  \"q\\\"\": null\n}");
    }

    @Test
    void everyCharacterThatNeedsItIsEscaped() {
        assertThat(quoted("a\"b\\c")).isEqualTo("\"a\\\"b\\\\c\"");
        assertThat(quoted("\n\r\t\b\f")).isEqualTo("\"\\n\\r\\t\\b\\f\"");
        assertThat(quoted("\u0000\u001f")).isEqualTo("\"\\u0000\\u001f\"");
        assertThat(quoted(" ~é")).as("space and above are themselves").isEqualTo("\" ~é\"");
        assertThat(quoted("\u2028\u2029")).isEqualTo("\"\\u2028\\u2029\"");
        assertThat(quoted("<script>&")).isEqualTo("\"\\u003cscript\\u003e\\u0026\"");
        assertThat(quoted("")).isEqualTo("\"\"");
    }
}
