package io.forksafe.it;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** Runs the README's demo as a real JVM and checks what it prints. */
class DemoMainProcessTest {

    @Test
    void demoPrintsEveryEventAndAValidStatus() throws Exception {
        Process p = new ProcessBuilder(ProcessSupport.javaCommand("io.forksafe.demo.DemoMain"))
                .redirectError(ProcessBuilder.Redirect.DISCARD).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
        assertThat(p.exitValue()).isZero();

        List<String> eventLines = out.lines().filter(l -> l.startsWith("event ")).toList();
        assertThat(eventLines).hasSize(18);
        assertThat(eventLines.get(0)).startsWith("event PreFork");
        assertThat(eventLines.get(5)).startsWith("event ChildExit");
        assertThat(eventLines.get(12)).contains("slot=1 gen=1");

        JsonNode status = new ObjectMapper().readTree(out.substring(out.indexOf('{')));
        assertThat(status.get("status").asText()).isEqualTo("demo simulator mark_configured");
        assertThat(status.get("pid").asLong()).isEqualTo(p.pid());
        assertThat(status.get("workerCounters").get("ended").asLong()).isEqualTo(3);
    }
}
