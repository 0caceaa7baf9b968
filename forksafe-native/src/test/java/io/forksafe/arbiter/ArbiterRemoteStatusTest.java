package io.forksafe.arbiter;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * {@code --status-bind} on a non-loopback address of this machine, reached from a client in a network namespace
 * this test creates (a veth pair in 10.231.X.0/30; every 127.x address is loopback, so a remote client needs one):
 * the probes and /metrics answer it; the dashboard and {@code /status} answer it 403 unless
 * {@code forksafe.status.allowRemote=true}. Needs root and {@code ip netns}; without them it says why and skips.
 */
class ArbiterRemoteStatusTest {

    private static final Duration BOOT = Duration.ofSeconds(60);
    /** An HTTP client for the namespace: prints each URL's status code ("html:" first: with a browser's Accept). */
    private static final String CLIENT = String.join("\n",
            "import sys, urllib.request, urllib.error",
            "for u in sys.argv[1:]:",
            "    h = {'Accept': 'text/html'} if u.startswith('html:') else {}",
            "    try:",
            "        r = urllib.request.urlopen(urllib.request.Request(u.replace('html:', '', 1), headers=h), timeout=10)",
            "        print(r.status, r.headers.get('Content-Type'))",
            "    except urllib.error.HTTPError as e:",
            "        print(e.code, e.headers.get('Content-Type'))");

    private static final long ID = ProcessHandle.current().pid() % 100_000;
    private static final String NS = "fsk-status-" + ID;
    private static final String HOST_LINK = "fsks" + ID;
    private static final String NS_LINK = "fskn" + ID;
    private static final int NET = (int) (ProcessHandle.current().pid() % 63) * 4;
    private static final String HOST_ADDRESS = "10.231." + (ProcessHandle.current().pid() % 250) + "." + (NET + 1);
    private static final String NS_ADDRESS = "10.231." + (ProcessHandle.current().pid() % 250) + "." + (NET + 2);
    private static boolean created;

    @BeforeAll
    static void namespace() throws Exception {
        String why = null;
        if (!"root".equals(System.getProperty("user.name"))) {
            why = "not root (creating a network namespace needs it)";
        } else {
            Result r = sh("ip", "netns", "add", NS);
            if (r.code() != 0) {
                why = "'ip netns add' failed (" + r.output().strip() + ")";
            }
        }
        if (why != null) {
            System.out.println("ArbiterRemoteStatusTest skipped: " + why);
            Assumptions.abort(why + "; .ci/netns.sh installs iproute2, and CI runs as root");
        }
        created = true;
        for (List<String> cmd : List.of(
                List.of("ip", "link", "add", HOST_LINK, "type", "veth", "peer", "name", NS_LINK),
                List.of("ip", "link", "set", NS_LINK, "netns", NS),
                List.of("ip", "addr", "add", HOST_ADDRESS + "/30", "dev", HOST_LINK),
                List.of("ip", "link", "set", HOST_LINK, "up"),
                List.of("ip", "netns", "exec", NS, "ip", "addr", "add", NS_ADDRESS + "/30", "dev", NS_LINK),
                List.of("ip", "netns", "exec", NS, "ip", "link", "set", NS_LINK, "up"),
                List.of("ip", "netns", "exec", NS, "ip", "link", "set", "lo", "up"))) {
            Result r = sh(cmd.toArray(String[]::new));
            assertThat(r.code()).as("%s: %s", cmd, r.output()).isZero();
        }
    }

    @AfterAll
    static void removeNamespace() throws Exception {
        if (created) {
            sh("ip", "link", "del", HOST_LINK); // takes its peer with it
            sh("ip", "netns", "del", NS);
        }
    }

    private record Result(int code, String output) {
    }

    private static Result sh(String... cmd) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        if (!p.waitFor(30, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            return new Result(-1, String.join(" ", cmd) + " timed out");
        }
        return new Result(p.exitValue(), new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8));
    }

    /** The status code and content type of each path, requested from inside the namespace. */
    private static List<String> fromNamespace(int port, String... paths) throws Exception {
        List<String> cmd = new ArrayList<>(List.of("ip", "netns", "exec", NS, "/usr/bin/python3", "-c", CLIENT));
        for (String p : paths) {
            boolean html = p.startsWith("html:");
            cmd.add((html ? "html:" : "") + "http://" + HOST_ADDRESS + ":" + port + (html ? p.substring(5) : p));
        }
        Result r = sh(cmd.toArray(String[]::new));
        assertThat(r.code()).as("the namespace's client: %s", r.output()).isZero();
        return r.output().strip().lines().toList();
    }

    private static ArbiterRun start(Map<String, String> env) throws Exception {
        ArbiterRun run = ArbiterRun.start(List.of(), env, List.of("--workers", "1", "--bind", "127.0.0.1:0",
                "--status-bind", HOST_ADDRESS + ":0"), ArbiterRun.APP);
        assertThat(run.statusHost).as("output:\n%s", run.output()).isEqualTo(HOST_ADDRESS);
        // readiness from this host (any client may read it): a worker serves
        long deadline = System.nanoTime() + BOOT.toNanos();
        while (TestHttp.send(HOST_ADDRESS, run.statusPort, "GET", "/readyz", Map.of(), 10_000).status() != 200) {
            assertThat(System.nanoTime()).as("ready within %s; output:\n%s", BOOT, run.output()).isLessThan(deadline);
            Thread.sleep(50);
        }
        return run;
    }

    @Test
    void aRemoteClientGetsTheProbesButNotTheStatusOrTheDashboard() throws Exception {
        try (ArbiterRun run = start(Map.of())) {
            List<String> answers = fromNamespace(run.statusPort, "/healthz", "/readyz", "/metrics", "/", "html:/",
                    "/status", "/status?format=text");
            assertThat(answers.get(2)).startsWith("200 text/plain; version=0.0.4");
            answers = new ArrayList<>(answers);
            answers.remove(2);
            assertThat(answers).containsExactly(
                    "200 text/plain; charset=utf-8", "200 text/plain; charset=utf-8",
                    "403 text/plain; charset=utf-8", "403 text/plain; charset=utf-8",
                    "403 text/plain; charset=utf-8", "403 text/plain; charset=utf-8");
            TestHttp.Reply refused = TestHttp.send(HOST_ADDRESS, run.statusPort, "GET", "/status", Map.of(), 10_000);
            assertThat(refused.status()).as("this host's own non-loopback address is not loopback").isEqualTo(403);
            assertThat(refused.body()).contains("forksafe.status.allowRemote");
            assertThat(run.countLines(l -> l.contains("is not loopback-only"))).as("logged once at start").isEqualTo(1);
            assertThat(run.output()).contains("status port " + HOST_ADDRESS + ":" + run.statusPort
                    + " is not loopback-only: /healthz, /readyz and /metrics answer any client; the dashboard / and /status "
                    + "answer loopback clients only");
        }
    }

    @Test
    void allowRemoteOpensTheStatusAndTheDashboard() throws Exception {
        try (ArbiterRun run = start(Map.of("JDK_JAVA_OPTIONS", "-Dforksafe.status.allowRemote=true"))) {
            assertThat(fromNamespace(run.statusPort, "/healthz", "/", "html:/", "/status")).containsExactly(
                    "200 text/plain; charset=utf-8", "200 application/json; charset=utf-8",
                    "200 text/html; charset=utf-8", "200 application/json; charset=utf-8");
            assertThat(run.output()).contains("the dashboard / and /status too (forksafe.status.allowRemote=true)");
        }
    }
}
