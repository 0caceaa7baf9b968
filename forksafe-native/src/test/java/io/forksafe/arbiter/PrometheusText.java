package io.forksafe.arbiter;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;

/**
 * Parses a Prometheus text exposition with a real parser: the Prometheus Python client's
 * ({@code prometheus_client.parser.text_string_to_metric_families}, Debian's {@code python3-prometheus-client},
 * installed by {@code .ci/prometheus.sh}). A text the parser rejects fails the test with its error.
 */
final class PrometheusText {

    private static final String PYTHON = "/usr/bin/python3";
    private static final String SCRIPT = String.join("\n",
            "import sys, json",
            "from prometheus_client.parser import text_string_to_metric_families",
            "out = []",
            "for f in text_string_to_metric_families(sys.stdin.read()):",
            "    out.append({'name': f.name, 'type': f.type, 'samples': [",
            "        {'name': s.name, 'labels': s.labels, 'value': s.value} for s in f.samples]})",
            "print(json.dumps(out))");

    /** The families, as the parser gives them: [{name, type, samples: [{name, labels, value}]}]. */
    final JsonNode families;

    private PrometheusText(JsonNode families) {
        this.families = families;
    }

    static PrometheusText parse(String text) throws IOException, InterruptedException {
        Path in = Files.createTempFile("forksafe-metrics", ".txt");
        try {
            Files.writeString(in, text, StandardCharsets.UTF_8);
            Process p = new ProcessBuilder(PYTHON, "-c", SCRIPT).redirectInput(in.toFile()).start();
            byte[] out = p.getInputStream().readAllBytes();
            String err = new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
            if (!p.waitFor(60, TimeUnit.SECONDS) || p.exitValue() != 0) {
                throw new AssertionError(err.contains("No module named 'prometheus_client'")
                        ? "the Prometheus text parser is missing: install python3-prometheus-client (bash .ci/prometheus.sh)"
                        : "the Prometheus parser rejected the exposition: " + err + "\n" + text);
            }
            return new PrometheusText(new ObjectMapper().readTree(out));
        } finally {
            Files.deleteIfExists(in);
        }
    }

    /** The type of family {@code name} (the parser's name: a counter's without {@code _total}), or null. */
    String type(String family) {
        for (JsonNode f : families) {
            if (f.path("name").asText().equals(family)) {
                return f.path("type").asText();
            }
        }
        return null;
    }

    /** The value of the one sample named {@code sample} whose labels include {@code labels}; fails if not one. */
    double value(String sample, Map<String, String> labels) {
        Double found = null;
        for (JsonNode f : families) {
            for (JsonNode s : f.path("samples")) {
                if (s.path("name").asText().equals(sample) && matches(s.path("labels"), labels)) {
                    if (found != null) {
                        throw new AssertionError("more than one sample " + sample + labels);
                    }
                    found = s.path("value").asDouble();
                }
            }
        }
        if (found == null) {
            throw new AssertionError("no sample " + sample + labels + " in " + families);
        }
        return found;
    }

    /** Every sample named {@code sample}, by the value of its label {@code key}. */
    Map<String, Double> byLabel(String sample, String key) {
        Map<String, Double> out = new TreeMap<>();
        for (JsonNode f : families) {
            for (JsonNode s : f.path("samples")) {
                if (s.path("name").asText().equals(sample)) {
                    out.put(s.path("labels").path(key).asText(), s.path("value").asDouble());
                }
            }
        }
        return out;
    }

    private static boolean matches(JsonNode have, Map<String, String> want) {
        for (Map.Entry<String, String> e : want.entrySet()) {
            if (!have.path(e.getKey()).asText("\u0000").equals(e.getValue())) {
                return false;
            }
        }
        return true;
    }
}
