package io.forksafe.it;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import io.forksafe.arbiter.LoadLoop;
import io.forksafe.arbiter.TestHttp;

import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The adapter contract of {@code --max-requests}, for every server adapter: the arbiter runs the real Jetty, Undertow
 * and Tomcat demo workers, the adapter counts the requests it serves (installed only because the arbiter asked), and
 * under load a worker that served its limit plus its jitter is replaced gracefully, with no failed request.
 */
class RecyclingAdaptersProcessTest {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final int MAX = 200;
    private static final int JITTER = 40;
    private static final Pattern SERVED = Pattern.compile("worker-\\d \\(pid (\\d+), generation 0\\) served (\\d+) "
            + "requests");

    @ParameterizedTest(name = "{0}")
    @CsvSource({
            "Jetty, io.forksafe.demo.JettyWorkerApp",
            "Undertow, io.forksafe.demo.UndertowWorkerApp",
            "Tomcat, io.forksafe.demo.TomcatWorkerApp"})
    void aWorkerIsRecycledAfterMaxRequestsPlusJitterUnderLoadWithNoFailedRequest(String adapter, String app)
            throws Exception {
        try (ArbiterProcess arbiter = ArbiterProcess.start(List.of("--max-requests", String.valueOf(MAX),
                "--max-requests-jitter", String.valueOf(JITTER)), app)) {
            List<Long> pids = ArbiterProcess.pids(arbiter.awaitWorkers(ws -> ArbiterProcess.allReady(ws, 2)));

            // the adapter installed its counter because the arbiter asked for it
            JsonNode requests = JSON.readTree(TestHttp.get(arbiter.port, "/forksafe/status")[1])
                    .path("details").path("arbiterWorker").path("requests");
            assertThat(requests.path("countedBy").toString()).as("%s", requests).contains(adapter);
            assertThat(requests.path("maxRequests").asLong()).isBetween((long) MAX, (long) MAX + JITTER);

            try (LoadLoop load = new LoadLoop(arbiter.port, 4, LoadLoop.PID_SPACE)) {
                List<JsonNode> after = arbiter.awaitWorkers(ws -> ws.stream().anyMatch(w ->
                        w.path("role").asText().equals("current") && w.path("state").asText().equals("ready")
                                && w.path("previous").path("exitCause").asText().equals("MAX_REQUESTS")));
                load.awaitSuccesses(200, 30_000); // the replacement serves as well
                load.close();
                System.out.println("FIGURE " + adapter + " --max-requests " + MAX + " --max-requests-jitter " + JITTER
                        + ": " + load);
                assertThat(load.refused.get() + load.failed.get()).as("%s; failures %s", load, load.failures)
                        .isZero();
                Matcher m = SERVED.matcher(arbiter.run.awaitLine(l -> SERVED.matcher(l).find()));
                assertThat(m.find()).isTrue();
                long oldPid = Long.parseLong(m.group(1));
                assertThat(pids).contains(oldPid);
                assertThat(Long.parseLong(m.group(2))).as("its own limit: N + a draw of 0..J")
                        .isBetween((long) MAX, (long) MAX + JITTER);
                JsonNode replacement = after.stream().filter(w -> w.path("previous").path("exitCause").asText()
                        .equals("MAX_REQUESTS")).findFirst().orElseThrow();
                assertThat(replacement.path("generation").asLong()).isEqualTo(1);
                assertThat(replacement.path("previous").path("exitStatus").asInt()).as("a graceful stop")
                        .isNotEqualTo(137);
            }
            assertThat(arbiter.status().path("details").path("arbiter").path("exitsByCause").path("MAX_REQUESTS")
                    .asLong()).isGreaterThanOrEqualTo(1);
        }
    }
}
