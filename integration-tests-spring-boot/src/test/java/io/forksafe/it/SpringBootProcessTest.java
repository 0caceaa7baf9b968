package io.forksafe.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import io.forksafe.arbiter.Criu;
import io.forksafe.arbiter.LoadLoop;
import io.forksafe.arbiter.TestHttp;

import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.Statement;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.StreamSupport;

import org.h2.tools.Server;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The Spring Boot 4 demo app ({@code io.forksafe.demo.SpringDemoApp}: Jetty, Actuator, HikariCP) with
 * forksafe-spring-boot as real processes on 127.0.0.1, against an H2 TCP server this test runs: plain, as two arbiter
 * workers (events at /actuator/forksafe, a SIGHUP roll under load), and as two copies restored from one checkpoint
 * ({@code --preload}, where CRIU runs). Each mode is one run that several assertions share: a Boot JVM takes seconds.
 */
class SpringBootProcessTest {

    static final String APP = "io.forksafe.demo.SpringDemoApp";
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Pattern STARTED = Pattern.compile("(?:Jetty|Tomcat) started on port (\\d+)");
    private static final Pattern VALUES = Pattern.compile(
            "pid=(\\d+) startup=(\\S+) next=(\\S+) uuid=(\\S+)");
    private static final Pattern SESSION = Pattern.compile("pid=(\\d+) session=(\\d+)");

    /** A Boot worker takes 3-20 s to boot on 2 shared cores (more while the other serves load). */
    private static final Duration BOOT = Duration.ofSeconds(90);

    private static Server h2;
    private static String jdbcUrl;

    @BeforeAll
    static void startDatabase() throws Exception {
        h2 = Server.createTcpServer("-tcpPort", "0", "-ifNotExists").start();
        jdbcUrl = "jdbc:h2:tcp://127.0.0.1:" + h2.getPort() + "/mem:forksafe;DB_CLOSE_DELAY=-1";
    }

    @AfterAll
    static void stopDatabase() {
        if (h2 != null) {
            h2.stop();
        }
    }

    private static String datasource() {
        return "--spring.datasource.url=" + jdbcUrl;
    }

    /** The app's class path with Boot's Jetty (the module's runtime) or Boot's Tomcat (target/tomcat-classpath.txt). */
    private static String classpath(String server) throws Exception {
        if (server.equals("jetty")) {
            return ProcessSupport.demoClasspath();
        }
        String deps = Files.readString(Path.of("target", server + "-classpath.txt")).strip();
        return Path.of("target", "classes").toAbsolutePath() + java.io.File.pathSeparator + deps;
    }

    @ParameterizedTest
    @ValueSource(strings = {"jetty", "tomcat"})
    void plainJavaServesAndItsStatusSaysThereIsNoArbiter(String server) throws Exception {
        try (RunningProcess app = RunningProcess.start(List.of(ProcessSupport.javaBinary(), "-XX:TieredStopAtLevel=1",
                "-XX:+UseSerialGC", "-cp", classpath(server), APP, "--server.port=0", datasource()))) {
            Matcher m = STARTED.matcher(app.awaitLine(l -> STARTED.matcher(l).find()));
            assertThat(m.find()).isTrue();
            int port = Integer.parseInt(m.group(1));
            assertThat(TestHttp.get(port, "/")[1]).contains("pid=" + app.pid());
            JsonNode status = actuator(port);
            assertThat(status.path("details").path("spring").path("arbiter").asText())
                    .as("the status of a plain java process says it has no arbiter: %s", status)
                    .startsWith("none: not started by the forksafe arbiter");
            assertThat(status.path("environment").asText()).startsWith(server);
            assertThat(status.path("details").path("spring").path("webServer").asText()).startsWith(server);
            assertThat(status.path("errors")).as("%s", status).isEmpty();
            assertThat(texts(status.path("autoconfigureLog"))).anyMatch(l -> l.startsWith("arbiter not available"));
            assertThat(status.path("details").path("spring").path("hookBeans").toString())
                    .contains("reseedRandom -> PostFork");
            assertThat(status.path("details").path("HikariPoolRecipe[dataSource]").path("pool").asText())
                    .as("the HikariDataSource bean got the pool recipe: %s", status).isEqualTo("dataSource");
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"jetty", "tomcat"})
    void twoArbiterWorkersReportTheirEventsAndASighupRollFailsNoRequest(String server) throws Exception {
        try (ArbiterProcess arbiter = ArbiterProcess.startWithClasspath(classpath(server), List.of(), APP,
                datasource())) {
            List<Long> first = ArbiterProcess.pids(arbiter.awaitWorkers(ws -> ArbiterProcess.allReady(ws, 2), BOOT));

            Map<Long, JsonNode> statuses = new HashMap<>();
            long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
            while (statuses.size() < 2 && System.nanoTime() < deadline) {
                JsonNode s = actuator(arbiter.port);
                statuses.put(s.path("pid").asLong(), s);
            }
            assertThat(statuses.keySet()).as("both workers answer /actuator/forksafe on the arbiter's socket")
                    .containsExactlyInAnyOrderElementsOf(first);
            for (JsonNode s : statuses.values()) {
                assertThat(s.path("details").path("spring").path("arbiter").asText())
                        .isEqualTo("worker of the forksafe arbiter, pid " + arbiter.pid());
                assertThat(s.path("errors")).as("%s", s).isEmpty();
                // worker threads have PostFork events too (kind THREAD): the hook bean sees them as well
                assertThat(hookCount(s, "bean:reseedRandom", "PostFork"))
                        .as("the ForkHook<PostFork> bean ran for this worker's PostFork: %s", s).isGreaterThanOrEqualTo(1);
                assertThat(hookCount(s, "spring.applicationEvents", "PostWorkerInit")).isEqualTo(1);
            }
            List<String> events = new ArrayList<>();
            JSON.readTree(TestHttp.get(arbiter.port, "/events")[1]).forEach(e -> events.add(e.asText()));
            assertThat(events).as("the @EventListener saw its worker's PostFork and PostWorkerInit, once each "
                    + "(thread events are not published by default)")
                    .hasSize(2).anyMatch(e -> e.matches("PostFork worker-\\d PROCESS"))
                    .anyMatch(e -> e.matches("PostWorkerInit worker-\\d PROCESS"));

            try (LoadLoop load = new LoadLoop(arbiter.port, 2, LoadLoop.PID_EQUALS)) {
                load.awaitSuccesses(200, 30_000);
                arbiter.run.signal("HUP");
                arbiter.awaitWorkers(ws -> ArbiterProcess.allReady(ws, 2)
                        && ws.stream().allMatch(w -> w.path("generation").asLong() == 1), BOOT.multipliedBy(2));
                for (long p : first) {
                    arbiter.run.awaitLine(l -> l.contains("(pid " + p + ", generation 0) exited"));
                }
                long before = load.success.get();
                load.awaitSuccesses(before + 200, 30_000);
                load.close();
                System.out.println("Spring Boot on " + server + ", SIGHUP roll: " + load);
                assertThat(load.refused.get()).as("%s", load).isZero();
                assertThat(load.failed.get()).as("%s", load).isZero();
            }
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"jetty", "tomcat"})
    void restoredCopiesDrawTheirOwnValuesAndShareNoDatabaseConnection(String server) throws Exception {
        var reason = Criu.unavailableReason();
        reason.ifPresent(r -> System.out.println("SpringBootProcessTest --preload skipped: " + r));
        assumeTrue(reason.isEmpty(), () -> reason.orElse(""));

        try (ArbiterProcess arbiter = ArbiterProcess.startWithClasspath(classpath(server), List.of("--preload"), APP,
                datasource())) {
            List<Long> copies = ArbiterProcess.pids(arbiter.awaitWorkers(ws -> ArbiterProcess.allReady(ws, 2), BOOT));

            Map<Long, Matcher> values = new HashMap<>();
            Map<Long, Set<Long>> sessions = new HashMap<>();
            long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
            while ((values.size() < 2 || sessions.size() < 2) && System.nanoTime() < deadline) {
                Matcher v = VALUES.matcher(TestHttp.get(arbiter.port, "/")[1]);
                assertThat(v.find()).isTrue();
                values.putIfAbsent(Long.parseLong(v.group(1)), v);
                Matcher s = SESSION.matcher(TestHttp.get(arbiter.port, "/db")[1]);
                assertThat(s.find()).isTrue();
                sessions.computeIfAbsent(Long.parseLong(s.group(1)), k -> new HashSet<>())
                        .add(Long.parseLong(s.group(2)));
            }
            assertThat(values.keySet()).as("both restored copies answered").containsExactlyInAnyOrderElementsOf(copies);
            Matcher a = values.get(copies.get(0));
            Matcher b = values.get(copies.get(1));
            assertThat(a.group(2)).as("start-up random value and UUID (a ForkLocal)").isNotEqualTo(b.group(2));
            assertThat(a.group(3)).as("next random value (reseeded by the ForkHook bean)").isNotEqualTo(b.group(3));
            assertThat(a.group(4)).as("UUID.randomUUID()").isNotEqualTo(b.group(4));

            assertThat(sessions.keySet()).containsExactlyInAnyOrderElementsOf(copies);
            Set<Long> ofA = sessions.get(copies.get(0));
            Set<Long> ofB = sessions.get(copies.get(1));
            assertThat(ofA).as("no database session is used by both copies").doesNotContainAnyElementsOf(ofB);
            Set<Long> serverSide = serverSessions();
            assertThat(serverSide).as("H2 sees every copy's sessions as its own").containsAll(ofA).containsAll(ofB);
            long pooled = 0;
            for (long copy : copies) {
                pooled += statusOf(arbiter.port, copy).path("details").path("HikariPoolRecipe[dataSource]")
                        .path("totalConnections").asLong();
            }
            assertThat(serverSide.size() - 1L).as("H2 counts a session for every pooled connection of both copies "
                    + "(plus this test's own): none is one restored twice; server %s, pooled %d", serverSide, pooled)
                    .isGreaterThanOrEqualTo(pooled);
            System.out.println("Spring Boot on " + server + " --preload: sessions used " + sessions + ", pooled " + pooled
                    + ", server-side " + serverSide.size() + " sessions " + serverSide);

            for (long copy : copies) {
                JsonNode status = statusOf(arbiter.port, copy);
                List<String> readiness = new ArrayList<>();
                status.path("details").path("spring").path("readiness")
                        .forEach(r -> readiness.add(r.path("state").asText() + " " + r.path("cause").asText()));
                assertThat(String.join("\n", readiness)).as("copy %d: Boot's readiness across the checkpoint", copy)
                        .containsPattern("ACCEPTING_TRAFFIC Spring Boot.*\nREFUSING_TRAFFIC PreFork \\(template\\)"
                                + "\nACCEPTING_TRAFFIC PostWorkerInit \\(worker-\\d\\)");
                assertThat(status.path("errors")).as("%s", status).isEmpty();
            }
        }
    }

    private static Set<Long> serverSessions() throws Exception {
        Set<Long> ids = new HashSet<>();
        try (Connection c = DriverManager.getConnection(jdbcUrl); Statement st = c.createStatement();
             ResultSet rs = st.executeQuery("SELECT SESSION_ID FROM INFORMATION_SCHEMA.SESSIONS")) {
            while (rs.next()) {
                ids.add(rs.getLong(1));
            }
        }
        return ids;
    }

    private static JsonNode statusOf(int port, long pid) throws Exception {
        long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
        while (System.nanoTime() < deadline) {
            JsonNode s = actuator(port);
            if (s.path("pid").asLong() == pid) {
                return s;
            }
        }
        throw new AssertionError("worker " + pid + " never answered /actuator/forksafe within 20 s");
    }

    private static JsonNode actuator(int port) throws Exception {
        String[] r = TestHttp.get(port, "/actuator/forksafe");
        assertThat(r[0]).as("GET /actuator/forksafe: %s", r[1]).startsWith("HTTP/1.1 200");
        return JSON.readTree(r[1]);
    }

    private static long hookCount(JsonNode status, String subscriber, String event) {
        return StreamSupport.stream(status.path("executedHooks").spliterator(), false)
                .filter(h -> h.path("subscriber").asText().equals(subscriber) && h.path("event").asText().equals(event))
                .mapToLong(h -> h.path("count").asLong()).sum();
    }

    private static List<String> texts(JsonNode array) {
        List<String> out = new ArrayList<>();
        array.forEach(n -> out.add(n.asText()));
        return out;
    }
}
