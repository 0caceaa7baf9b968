package io.forksafe;

import io.forksafe.spi.HostContext;
import static io.forksafe.TestWorkers.TEST_HOST;
import static io.forksafe.TestWorkers.process;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.lang.management.ManagementFactory;
import java.util.Map;
import javax.management.MBeanServer;
import javax.management.ObjectName;
import org.junit.jupiter.api.Test;

class StatusTest {

    private static final ObjectMapper JSON = new ObjectMapper();

    @Test
    void freshRegistryStartsAsAttemptingAutoConfigure() {
        ForksafeStatus s = new ForkRegistry().status();
        assertThat(s.status()).isEqualTo("attempting auto-configure");
        assertThat(s.environment()).isNull();
        assertThat(s.autoconfigureLog()).containsExactly("registry_setup");
        assertThat(s.pid()).isEqualTo(ProcessHandle.current().pid());
    }

    /**
     * A restored copy (preload) is told its host pid: ProcessHandle in the copy still says the template's pid (the JDK
     * caches it, and the copy runs in its own pid namespace), so the status reports the identified worker's pid.
     */
    @Test
    void pidIsTheIdentifiedWorkersPidNotProcessHandles() {
        ForkRegistry registry = new ForkRegistry();
        HostContext.of(registry).identifyProcess(new WorkerInfo(1, "worker-1", WorkerKind.RESTORE, 424242, 4242, 1));
        assertThat(registry.status().pid()).isEqualTo(424242);
    }

    /** A hook's first run is always timed, also for a hook subscribed later; after that, one publish in 64 is. */
    @Test
    void durationsAreTimedOnAHooksFirstRunThenSampled() throws Exception {
        ForkRegistry registry = new ForkRegistry();
        java.util.concurrent.atomic.AtomicInteger runs = new java.util.concurrent.atomic.AtomicInteger();
        registry.subscribe(PostWorkerInit.class, "slow-first", 0, e -> {
            if (runs.incrementAndGet() == 1) {
                Thread.sleep(30);
            }
        });
        HostContext.of(registry).postWorkerInit(process(1), TEST_HOST);
        assertThat(duration(registry, "slow-first")).as("first run timed").isGreaterThanOrEqualTo(
                java.time.Duration.ofMillis(30));

        registry.subscribe(PostWorkerInit.class, "late", 0, e -> Thread.sleep(runs.get() == 2 ? 30 : 0));
        HostContext.of(registry).postWorkerInit(process(1), TEST_HOST);
        assertThat(duration(registry, "late")).as("a later subscriber's first run timed")
                .isGreaterThanOrEqualTo(java.time.Duration.ofMillis(30));

        for (int i = 0; i < 2 * 64; i++) {
            HostContext.of(registry).postWorkerInit(process(1), TEST_HOST);
        }
        assertThat(duration(registry, "slow-first")).as("re-sampled since the slow first run")
                .isLessThan(java.time.Duration.ofMillis(30));
        assertThat(registry.status().executedHooks()).filteredOn(h -> h.subscriber().equals("slow-first"))
                .singleElement().extracting(ForksafeStatus.HookExecution::count).isEqualTo(2L * 64 + 2);
    }

    private static java.time.Duration duration(ForkRegistry registry, String subscriber) {
        return registry.status().executedHooks().stream().filter(h -> h.subscriber().equals(subscriber))
                .findFirst().orElseThrow().lastDuration();
    }

    @Test
    void jsonIsValidEscapedAndCarriesEverything() throws Exception {
        ForkRegistry registry = new ForkRegistry();
        HostContext.of(registry).putSettings(Map.of("db.url", "jdbc:h2:tcp://127.0.0.1/x", "weird \"name\"\n", "line1\nline2\t\u0001<b>"));
        registry.subscribe(PostFork.class, "hook \"quoted\" \\ back", 0, e -> {
            throw new IllegalStateException("bad \"news\"\n\u0007");
        });
        registry.markConfigured("gunicorn-like \"launcher\"");
        try {
            HostContext.of(registry).postFork(process(7), TEST_HOST);
        } catch (ForkHookException expected) {
            // recorded in the status
        }
        HostContext.of(registry).note("virtual-threads", "none");
        HostContext.of(registry).statusDetail("arbiter", () -> Map.of("workers", java.util.List.of(Map.of("slot", 1))));

        String json = registry.status().toJson();
        JsonNode root = JSON.readTree(json);

        assertThat(root.get("status").asText()).isEqualTo("gunicorn-like \"launcher\" mark_configured");
        assertThat(root.get("environment").asText()).isEqualTo("gunicorn-like \"launcher\"");
        assertThat(root.get("pid").asLong()).isEqualTo(ProcessHandle.current().pid());
        JsonNode hook = root.get("executedHooks").get(0);
        assertThat(hook.get("subscriber").asText()).isEqualTo("hook \"quoted\" \\ back");
        assertThat(hook.get("event").asText()).isEqualTo("PostFork");
        assertThat(hook.get("count").asLong()).isEqualTo(1);
        assertThat(hook.get("failures").asLong()).isEqualTo(1);
        assertThat(hook.get("lastError").asText()).isEqualTo("java.lang.IllegalStateException: bad \"news\"\n\u0007");
        assertThat(root.get("settings").get("weird \"name\"\n").asText()).isEqualTo("line1\nline2\t\u0001<b>");
        assertThat(root.get("workers").get(0).get("slot").asInt()).isEqualTo(7);
        assertThat(root.get("workers").get(0).get("state").asText()).isEqualTo("running");
        assertThat(root.get("notes").get("virtual-threads").asText()).isEqualTo("none");
        assertThat(root.get("details").get("arbiter").get("workers").get(0).get("slot").asInt()).isEqualTo(1);
        assertThat(json).doesNotContain("<b>");
    }

    @Test
    void textDumpNamesHooksWorkersAndErrors() {
        ForkRegistry registry = new ForkRegistry();
        registry.subscribe(PostFork.class, "pool.evict", 0, e -> { });
        HostContext.of(registry).postFork(process(2), TEST_HOST);
        HostContext.of(registry).reportError("uWSGI", "run uWSGI with --master");
        String dump = registry.status().dump();
        assertThat(dump).contains("forksafe status: uWSGI error: run uWSGI with --master")
                .contains("PostFork <- pool.evict: ran 1x, 0 failed, last ")
                .contains("#2 PROCESS worker-2 pid=1002")
                .contains("errors:\n  uWSGI error: run uWSGI with --master");
    }

    @Test
    void errorStatusIsStickyAgainstLaterConfiguration() {
        ForkRegistry registry = new ForkRegistry();
        HostContext.of(registry).reportError("Jetty", "install() called after the server started: call install before start");
        HostContext.of(registry).configured("Undertow", ContainerInfo.of("undertow", "2.3.26.Final"));
        ForksafeStatus s = registry.status();
        assertThat(s.status()).isEqualTo("Jetty error: install() called after the server started: call install before start");
        assertThat(s.isError()).isTrue();
        assertThat(s.environment()).isEqualTo("undertow 2.3.26.Final");
        assertThat(s.autoconfigureLog()).contains("Undertow hook configured");
    }

    @Test
    void secretsAreRedactedInSettingsAndErrorMessages() throws Exception {
        ForkRegistry registry = new ForkRegistry();
        HostContext.of(registry).putSettings(Map.of(
                "db.password", "hunter2-pass",
                "api.TOKEN", "tok-123456",
                "aws.secretAccessKey", "AKIA-secret",
                "service.credentials", "user:pw",
                "ssl.keystore", "/etc/ks.p12",
                "db.url", "jdbc:h2:tcp://127.0.0.1/db"));
        System.setProperty("forksafe.test.apiKey", "sys-prop-key-value");
        try {
            registry.subscribe(PostFork.class, "leaky", 0, e -> {
                throw new IllegalStateException("login failed with hunter2-pass");
            });
            assertThatThrownBy(() -> HostContext.of(registry).postFork(process(1), TEST_HOST)).isInstanceOf(ForkHookException.class);
            ForksafeStatus status = registry.status();
            assertThat(status.settings())
                    .containsEntry("db.password", "<redacted>")
                    .containsEntry("api.TOKEN", "<redacted>")
                    .containsEntry("aws.secretAccessKey", "<redacted>")
                    .containsEntry("service.credentials", "<redacted>")
                    .containsEntry("ssl.keystore", "<redacted>")
                    .containsEntry("forksafe.test.apiKey", "<redacted>")
                    .containsEntry("db.url", "jdbc:h2:tcp://127.0.0.1/db");
            String everything = status.toJson() + status.dump();
            assertThat(everything).doesNotContain("hunter2-pass", "tok-123456", "AKIA-secret", "user:pw",
                    "sys-prop-key-value");
            // The events themselves carry the real values: hooks need them.
            assertThat(registry.settings()).containsEntry("db.password", "hunter2-pass");
        } finally {
            System.clearProperty("forksafe.test.apiKey");
        }
    }

    @Test
    void systemPropertiesOverrideContainerSettings() {
        ForkRegistry registry = new ForkRegistry();
        HostContext.of(registry).putSettings(Map.of("forksafe.mode", "container", "app.name", "demo"));
        System.setProperty("forksafe.mode", "system");
        try {
            Map<String, String> settings = registry.settings();
            assertThat(settings).containsEntry("forksafe.mode", "system").containsEntry("app.name", "demo");
            assertThatThrownBy(() -> settings.put("x", "y")).isInstanceOf(UnsupportedOperationException.class);
        } finally {
            System.clearProperty("forksafe.mode");
        }
    }

    @Test
    void statusMBeanIsReadableThroughThePlatformServer() throws Exception {
        ForkRegistry registry = Forksafe.registry();
        registry.markConfigured("jmx-test");
        MBeanServer server = ManagementFactory.getPlatformMBeanServer();
        ObjectName name = new ObjectName("io.forksafe:type=Status");
        assertThat(server.isRegistered(name)).isTrue();
        assertThat(server.getAttribute(name, "Status")).asString().contains("mark_configured");
        assertThat(server.getAttribute(name, "Pid")).isEqualTo(ProcessHandle.current().pid());
        String json = (String) server.getAttribute(name, "Json");
        assertThat(JSON.readTree(json).get("environment").asText()).isNotBlank();
        assertThat((String[]) server.getAttribute(name, "AutoconfigureLog")).contains("registry_setup");
        assertThat(server.getMBeanInfo(name).getAttributes()).allSatisfy(a -> {
            assertThat(a.isReadable()).isTrue();
            assertThat(a.isWritable()).isFalse();
        });
        assertThatThrownBy(() -> server.setAttribute(name, new javax.management.Attribute("Status", "x")))
                .hasRootCauseInstanceOf(UnsupportedOperationException.class);
    }

    @Test
    void isolatedRegistriesGetTheirOwnMBeanName() throws Exception {
        ForkRegistry registry = new ForkRegistry("isolated");
        String name = registry.exposeStatusMBean();
        assertThat(name).startsWith("io.forksafe:type=Status,name=");
        assertThat(ManagementFactory.getPlatformMBeanServer().getAttribute(new ObjectName(name), "Status"))
                .isEqualTo("attempting auto-configure");
    }
}
