package io.forksafe.it;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/** Runs the Jetty demo as a real JVM: events for every thread it created and ended, and the status it served. */
class JettyDemoProcessTest {

    @Test
    void jettyDemoPrintsEventsAndTheServedStatus() throws Exception {
        Process p = new ProcessBuilder(ProcessSupport.javaCommand("io.forksafe.demo.JettyDemo"))
                .redirectError(ProcessBuilder.Redirect.DISCARD).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
        assertThat(p.exitValue()).as(out).isZero();

        List<String> lines = out.lines().toList();
        assertThat(lines.stream().filter(l -> l.startsWith("GET /hello/ -> 200 hello from demo-"))).hasSize(6);
        long postForks = lines.stream().filter(l -> l.startsWith("event PostFork ") && l.contains("kind=THREAD"))
                .count();
        long exits = lines.stream().filter(l -> l.startsWith("event WorkerExit ") && l.contains("kind=THREAD"))
                .count();
        Matcher stopped = Pattern.compile("stopped: pool created (\\d+) threads, (\\d+) ended; status: (.*)")
                .matcher(lines.get(lines.size() - 1));
        assertThat(stopped.matches()).as(lines.get(lines.size() - 1)).isTrue();
        assertThat(Long.parseLong(stopped.group(1))).isEqualTo(postForks).isEqualTo(exits).isPositive();
        assertThat(Long.parseLong(stopped.group(2))).isEqualTo(exits);
        assertThat(stopped.group(3)).isEqualTo("Jetty hook configured");
        assertThat(lines).contains("event PostWorkerInit  worker=main         kind=PROCESS slot=0 gen=0 on thread main");

        int statusAt = out.indexOf("GET /forksafe/status -> 200");
        assertThat(statusAt).isNotNegative();
        JsonNode status = new ObjectMapper().readTree(out.substring(out.indexOf('{', statusAt)));
        assertThat(status.path("status").asText()).isEqualTo("Jetty hook configured");
        assertThat(status.path("pid").asLong()).isEqualTo(p.pid());
        assertThat(status.path("details").path("jetty").path("threadPool").path("hooked").asBoolean()).isTrue();
        assertThat(status.path("autoconfigureLog").toString()).contains("Jetty available");
    }
}
