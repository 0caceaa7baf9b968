package io.forksafe.arbiter;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;

import io.forksafe.arbiter.testapp.TestHooks;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;

import jnr.constants.platform.Signal;
import org.junit.jupiter.api.Test;

/**
 * The arbiter's dashboard in a real browser (headless Chromium over the DevTools protocol): two workers, slot 2's
 * PostWorkerInit hook fails with a hostile message; the page shows both rows, highlights slot 2, renders the
 * {@code <script>} of the message as text, and after slot 1's worker is killed shows its replacement without a
 * reload. Screenshots: target/dashboard.png and target/dashboard-after-kill.png.
 */
class ArbiterDashboardTest {

    private static final Duration BOOT = Duration.ofSeconds(60);

    @Test
    void theDashboardShowsTheWorkersTheirFailuresAsTextAndFollowsAKillWithoutAReload() throws Exception {
        try (ArbiterRun run = ArbiterRun.start(List.of("--workers", "2", "--bind", "127.0.0.1:0", "--status-port", "0",
                "--env", "TESTAPP_FAIL_POSTWORKERINIT=2"))) {
            List<JsonNode> ws = run.awaitWorkers(w -> ArbiterRun.allReady(w, 2)
                    && w.get(1).path("hookFailures").size() == 1, BOOT);
            long slot1Pid = ws.get(0).path("pid").asLong();
            long slot2Pid = ws.get(1).path("pid").asLong();
            String hostileInStatus = ws.get(1).path("hookFailures").get(0).path("lastError").asText();
            assertThat(hostileInStatus).contains("<script>alert(1)</script>");

            try (HeadlessChromium browser = HeadlessChromium.open("http://127.0.0.1:" + run.statusPort + "/")) {
                // the page runs under its Content-Security-Policy (its inline script and style by hash): it renders
                browser.awaitTrue("document.querySelectorAll('#workers tbody tr').length === 2"
                        + " && document.querySelector('#workers tr[data-slot=\"2\"]') !== null"
                        + " && document.querySelector('#workers tr[data-slot=\"2\"]').classList.contains('failing')",
                        Duration.ofSeconds(20), "two worker rows, slot 2 failing");
                assertThat(browser.evaluate("document.querySelector('#workers tr[data-slot=\"1\"]').className").asText())
                        .as("slot 1's hooks all ran").doesNotContain("failing");
                // highlighted as rendered: the style sheet applied (the CSP lets the page's own style through)
                assertThat(browser.evaluate("getComputedStyle(document.querySelector('#workers tr[data-slot=\"2\"] td'))"
                        + ".backgroundColor").asText()).isEqualTo("rgb(254, 243, 242)");
                assertThat(browser.evaluate("getComputedStyle(document.querySelector('#workers tr[data-slot=\"1\"] td'))"
                        + ".backgroundColor").asText()).isEqualTo("rgba(0, 0, 0, 0)");
                assertThat(browser.evaluate("document.querySelector('#workers tr[data-slot=\"1\"]').dataset.pid").asText())
                        .isEqualTo(String.valueOf(slot1Pid));
                assertThat(browser.evaluate("document.querySelector('#workers tr[data-slot=\"2\"] td.pid').textContent")
                        .asText()).isEqualTo(String.valueOf(slot2Pid));
                assertThat(browser.evaluate("document.querySelector('#workers tr[data-slot=\"2\"] td.failures')"
                        + ".textContent").asText()).isEqualTo("1");

                // the hostile error message is text: its <script> is in the failures table's text, not an element
                String failures = browser.evaluate("document.querySelector('#failures tbody').textContent").asText();
                assertThat(failures).contains("testapp.failing-init", "PostWorkerInit", "<script>alert(1)</script>")
                        .contains(hostileInStatus);
                assertThat(browser.evaluate("document.querySelectorAll('script').length").asInt())
                        .as("only the page's own script").isEqualTo(1);
                assertThat(browser.evaluate("document.querySelectorAll('main script, main img, main iframe').length")
                        .asInt()).isZero();
                assertThat(browser.evaluate("document.querySelector('#totals').textContent").asText())
                        .contains("2 / 2", "running");
                // the workers' own summaries (at most once a second): hook runs by event, the failing one marked
                browser.awaitTrue("document.querySelectorAll('#hooks tbody tr.failing').length === 1",
                        Duration.ofSeconds(20), "slot 2's failing PostWorkerInit among the hook runs by event");
                assertThat(browser.evaluate("document.querySelector('#hooks tbody tr.failing').textContent").asText())
                        .contains("worker-2", "PostWorkerInit");
                String row1 = browser.evaluate("document.querySelector('#workers tr[data-slot=\"1\"]').innerText")
                        .asText();
                assertThat(row1).as("uptime and RSS are shown").contains("MiB").containsPattern("\\d+(\\.\\d)? (ms|s)");
                browser.screenshot(Path.of("target", "dashboard.png"));
                assertThat(Files.size(Path.of("target", "dashboard.png"))).isGreaterThan(1000);

                // a marker a reload would wipe; then kill slot 1 and watch its row change
                browser.evaluate("window.noReloadMarker = 'still the same page'");
                int rendersBefore = browser.evaluate("window.forksafeDashboard.renders").asInt();
                ArbiterRun.signal(slot1Pid, Signal.SIGKILL);
                browser.awaitTrue("(function () { var r = document.querySelector('#workers tr[data-slot=\"1\"]"
                        + "[data-role=\"current\"]'); return r !== null && r.dataset.pid !== '' && r.dataset.pid !== '"
                        + slot1Pid + "' && r.querySelector('td.state').textContent === 'ready'; })()",
                        Duration.ofSeconds(30), "slot 1's replacement ready");
                assertThat(browser.evaluate("window.noReloadMarker").asText()).isEqualTo("still the same page");
                assertThat(browser.evaluate("window.forksafeDashboard.renders").asInt()).isGreaterThan(rendersBefore);
                assertThat(browser.evaluate("document.querySelector('#workers tr[data-slot=\"1\"] td.pid').textContent")
                        .asText()).isEqualTo(String.valueOf(run.current(1).path("pid").asLong()));
                browser.awaitTrue("document.querySelector('#totals').textContent.indexOf('EXITED 1') >= 0",
                        Duration.ofSeconds(10), "the kill counted in the exits by cause");
                assertThat(browser.evaluate("document.querySelector('#workers tr[data-slot=\"2\"]').className").asText())
                        .contains("failing");
                browser.awaitTrue("Array.prototype.some.call(document.querySelectorAll('#events li[data-kind=\"EXIT\"]'),"
                        + " function (li) { return li.textContent.indexOf('pid " + slot1Pid + "') >= 0; })",
                        Duration.ofSeconds(10), "the kill among the recent events");
                browser.screenshot(Path.of("target", "dashboard-after-kill.png"));
            }
        }
    }

    @Test
    void theDashboardIsServedToBrowsersAndTheJsonToEveryOtherClient() throws Exception {
        try (ArbiterRun run = ArbiterRun.start(List.of("--workers", "1", "--bind", "127.0.0.1:0", "--status-port", "0"))) {
            run.awaitReady(1, BOOT);
            Map<String, String> browser = Map.of("Accept",
                    "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8");
            TestHttp.Reply page = TestHttp.get(run.statusPort, "/", browser);
            assertThat(page.status()).isEqualTo(200);
            assertThat(page.contentType()).startsWith("text/html");
            assertThat(page.body()).contains("<title>forksafe arbiter</title>").doesNotContain("http://", "https://", "src=", "href=");
            assertThat(page.headers().get("content-security-policy")).startsWith("default-src 'none'; script-src 'sha256-")
                    .contains("frame-ancestors 'none'").doesNotContain("unsafe");
            assertThat(page.headers()).containsEntry("x-content-type-options", "nosniff");
            for (Map<String, String> headers : List.of(Map.<String, String>of(), Map.of("Accept", "*/*"),
                    Map.of("Accept", "application/json"), Map.of("Accept", "application/json, text/html;q=0.5"))) {
                TestHttp.Reply json = TestHttp.get(run.statusPort, "/", headers);
                assertThat(json.status()).as("/ with %s", headers).isEqualTo(200);
                assertThat(json.contentType()).startsWith("application/json");
                assertThat(ArbiterRun.parse(json.body()).path("details").path("arbiter").path("workers").size())
                        .isEqualTo(1);
            }
            TestHttp.Reply status = TestHttp.get(run.statusPort, "/status", browser);
            assertThat(status.contentType()).as("/status is JSON even to a browser").startsWith("application/json");
            assertThat(TestHttp.get(run.statusPort, "/status?format=text", Map.of()).body())
                    .contains("forksafe-arbiter");
            TestHttp.Reply missing = TestHttp.get(run.statusPort, "/nope", Map.of());
            assertThat(missing.status()).isEqualTo(404);
            assertThat(missing.body()).contains("/nope", "/status", "/healthz", "/readyz", "/metrics");
            assertThat(TestHttp.send("127.0.0.1", run.statusPort, "POST", "/status", Map.of(), 10_000).status()).isEqualTo(405);
            assertThat(TestHttp.get(run.statusPort, "/status?format=%zz", Map.of()).status()).isEqualTo(400);
        }
    }
}
