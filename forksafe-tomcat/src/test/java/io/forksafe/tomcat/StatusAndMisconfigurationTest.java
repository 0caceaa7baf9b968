package io.forksafe.tomcat;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import io.forksafe.ForkEvent;
import io.forksafe.ForkRegistry;
import io.forksafe.PostWorkerInit;
import io.forksafe.WorkerExit;
import io.forksafe.WorkerKind;
import io.forksafe.spi.ArbiterContract;
import io.forksafe.tomcat.internal.ConnectorInstallation;

import org.apache.catalina.connector.Connector;
import org.apache.catalina.startup.Tomcat;
import org.apache.catalina.valves.RemoteIpValve;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.channels.ServerSocketChannel;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

/**
 * The status valve on a real embedded Tomcat (loopback answered, a remote client refused: its address set by Tomcat's
 * own RemoteIpValve from X-Forwarded-For), the process events, idempotence, and each misconfiguration as a status
 * error (or, under the arbiter, a boot error) that names the fix.
 */
class StatusAndMisconfigurationTest {

    private final HttpClient client = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
    private final List<Tomcat> started = new CopyOnWriteArrayList<>();

    @AfterEach
    void stopAll() throws Exception {
        for (Tomcat t : started) {
            t.stop();
            t.destroy();
        }
    }

    private Tomcat start(Tomcat tomcat) throws Exception {
        tomcat.start();
        started.add(tomcat);
        return tomcat;
    }

    private HttpResponse<String> get(Tomcat tomcat, String path, String forwardedFor) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create("http://127.0.0.1:"
                + tomcat.getConnector().getLocalPort() + path)).timeout(Duration.ofSeconds(10));
        if (forwardedFor != null) {
            b.header("X-Forwarded-For", forwardedFor);
        }
        return client.send(b.build(), HttpResponse.BodyHandlers.ofString());
    }

    @Test
    void statusAnswersLoopbackRefusesRemoteAndTheProcessEventsComeOnce() throws Exception {
        ForkRegistry registry = new ForkRegistry("tomcat-status");
        List<ForkEvent> process = new CopyOnWriteArrayList<>();
        registry.subscribe(ForkEvent.class, "test.process", 0, e -> {
            if (e.worker().kind() == WorkerKind.PROCESS) {
                process.add(e);
            }
        });
        Tomcat tomcat = TomcatTestSupport.tomcat(() -> "app");
        RemoteIpValve remoteIp = new RemoteIpValve(); // trusts 127.0.0.1: X-Forwarded-For becomes the client
        tomcat.getHost().getPipeline().addValve(remoteIp);
        ForksafeTomcat.install(tomcat, registry);
        ForksafeTomcat.install(tomcat, registry); // idempotent
        ForksafeTomcat.customize(tomcat.getConnector(), registry);
        start(tomcat);

        HttpResponse<String> json = get(tomcat, "/forksafe/status", null);
        assertThat(json.statusCode()).isEqualTo(200);
        assertThat(json.headers().firstValue("Content-Type").orElse("")).startsWith("application/json");
        JsonNode status = new ObjectMapper().readTree(json.body());
        assertThat(status.path("status").asText()).isEqualTo("Tomcat hook configured");
        JsonNode section = status.path("details").path("tomcat");
        assertThat(section.path("primary").asBoolean()).isTrue();
        assertThat(section.path("localPort").asInt()).isEqualTo(tomcat.getConnector().getLocalPort());
        assertThat(section.path("executor").path("threadNamePrefix").asText()).endsWith("-exec-");
        assertThat(section.path("gracefulStop").asText()).contains("registered by ForksafeTomcat.install(tomcat)");
        assertThat(get(tomcat, "/forksafe/status?format=text", null).body()).contains("Tomcat hook configured");
        assertThat(get(tomcat, "/", null).body()).isEqualTo("app");

        HttpResponse<String> remote = get(tomcat, "/forksafe/status", "203.0.113.7");
        assertThat(remote.statusCode()).as(remote.body()).isEqualTo(403);
        assertThat(remote.body()).doesNotContain("Tomcat hook configured");
        assertThat(get(tomcat, "/", "203.0.113.7").body()).as("only the status is loopback-only").isEqualTo("app");

        tomcat.stop();
        assertThat(process).extracting(e -> e.getClass().getSimpleName())
                .containsExactly("PostWorkerInit", "WorkerExit");
        assertThat(((WorkerExit) process.get(1)).reason()).isEqualTo("server stopping");
        assertThat(process.get(0)).isInstanceOf(PostWorkerInit.class);
        assertThat(registry.status().errors()).isEmpty();
    }

    @Test
    void aConnectorWithItsOwnExecutorIsAStatusErrorNamingTheFixAndStillServes() throws Exception {
        ForkRegistry registry = new ForkRegistry("tomcat-foreign");
        ExecutorService own = Executors.newFixedThreadPool(4);
        try {
            Tomcat tomcat = TomcatTestSupport.tomcat(() -> "served by " + Thread.currentThread().getName());
            tomcat.getConnector().getProtocolHandler().setExecutor(own);
            ForksafeTomcat.install(tomcat, registry);
            start(tomcat);
            assertThat(get(tomcat, "/", null).body()).startsWith("served by pool-");
            assertThat(registry.status().isError()).isTrue();
            assertThat(registry.status().status()).startsWith("Tomcat error: ")
                    .contains("already runs on the executor").contains("Remove that executor");
            assertThat(tomcat.getConnector().getProtocolHandler().getExecutor()).isSameAs(own);
        } finally {
            own.shutdownNow();
        }
    }

    @Test
    void customizingAStartedConnectorIsAStatusErrorNamingTheFix() throws Exception {
        ForkRegistry registry = new ForkRegistry("tomcat-late");
        Tomcat tomcat = start(TomcatTestSupport.tomcat(() -> "app"));
        ForksafeTomcat.customize(tomcat.getConnector(), registry);
        assertThat(registry.status().status()).startsWith("Tomcat error: ").contains("after the connector")
                .contains("before tomcat.start()");
    }

    @Test
    void underTheArbiterAConnectorThatCannotServeTheInheritedSocketFailsTheBoot() throws Exception {
        Map<String, String> arbiter = Map.of(ArbiterContract.ENV_ARBITER_PID, "42");
        try (ServerSocketChannel socket = ServerSocketChannel.open()) {
            socket.bind(new InetSocketAddress("127.0.0.1", 0));

            ForkRegistry nio2 = new ForkRegistry("tomcat-nio2");
            Connector connector = new Connector("org.apache.coyote.http11.Http11Nio2Protocol");
            assertThatThrownBy(() -> ConnectorInstallation.install(connector, nio2, arbiter::get, () -> socket))
                    .isInstanceOf(IllegalStateException.class).hasMessageContaining("Http11Nio2Protocol")
                    .hasMessageContaining("Use the NIO protocol");
            assertThat(nio2.status().status()).startsWith("Tomcat error: ").contains("cannot serve an inherited");

            ForkRegistry noSocket = new ForkRegistry("tomcat-no-socket");
            assertThatThrownBy(() -> ConnectorInstallation.install(new Connector("HTTP/1.1"), noSocket, arbiter::get,
                    () -> null)).hasMessageContaining("not a listening ServerSocketChannel")
                    .hasMessageContaining("Start it through the forksafe arbiter");

            ForkRegistry adopting = new ForkRegistry("tomcat-adopting");
            Connector nio = new Connector("HTTP/1.1");
            ConnectorInstallation first = ConnectorInstallation.install(nio, adopting, arbiter::get, () -> socket);
            assertThat(first.primary()).isTrue();
            assertThat(String.valueOf(nio.getProperty("useInheritedChannel"))).isEqualTo("true");
            Connector second = new Connector("HTTP/1.1");
            assertThat(ConnectorInstallation.install(second, adopting, arbiter::get, () -> socket).primary())
                    .as("only the first connector customized adopts the socket").isFalse();
            assertThat(String.valueOf(second.getProperty("useInheritedChannel"))).isNotEqualTo("true");
            assertThat(adopting.status().errors()).isEmpty();
        }
    }
}
