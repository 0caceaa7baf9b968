package io.forksafe.jetty;

import com.fasterxml.jackson.databind.JsonNode;

import io.forksafe.ForkRegistry;

import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpResponse;
import java.nio.channels.ServerSocketChannel;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;

import static io.forksafe.jetty.JettyTestSupport.get;
import static io.forksafe.jetty.JettyTestSupport.json;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * The arbiter contract, in-process: with FORKSAFE_ARBITER_PID set and a listening socket as the inherited channel,
 * install() makes the server's ServerConnector serve on that socket instead of binding its own port.
 */
class ArbiterAdoptionTest {

    private Server server;
    private ServerSocketChannel arbiterSocket;
    private ServerSocket occupied;
    private final HttpClient client = JettyTestSupport.client();

    @AfterEach
    void tearDown() throws Exception {
        if (server != null) {
            server.stop();
        }
        if (arbiterSocket != null) {
            arbiterSocket.close();
        }
        if (occupied != null) {
            occupied.close();
        }
    }

    private Server newServer(ForkRegistry registry, int port) {
        Server s = new Server(ForksafeJetty.threadPool(registry, 16, 2, 60_000));
        ServerConnector connector = new ServerConnector(s, 1, 1);
        connector.setHost("127.0.0.1");
        connector.setPort(port);
        s.addConnector(connector);
        s.setHandler(ForksafeJetty.statusContext("/forksafe/status", ForksafeJetty.statusHandler(registry)));
        return s;
    }

    @Test
    void adoptsTheInheritedListeningSocketInsteadOfBinding() throws Exception {
        ForkRegistry registry = new ForkRegistry("arbiter");
        arbiterSocket = ServerSocketChannel.open();
        arbiterSocket.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
        int arbiterPort = ((InetSocketAddress) arbiterSocket.getLocalAddress()).getPort();
        // The connector is configured for a port that is taken: binding it would fail the start.
        occupied = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
        server = newServer(registry, occupied.getLocalPort());
        ForksafeJetty.installer().registry(registry)
                .environment(Map.of(ForksafeJetty.ARBITER_PID_ENV, "4242")::get)
                .inheritedChannel(() -> arbiterSocket)
                .install(server);
        server.start();

        ServerConnector connector = (ServerConnector) server.getConnectors()[0];
        assertThat(connector.getLocalPort()).isEqualTo(arbiterPort);
        assertThat(connector.isInheritChannel()).isTrue();
        HttpResponse<String> r = get(client, URI.create("http://127.0.0.1:" + arbiterPort + "/forksafe/status"));
        assertThat(r.statusCode()).isEqualTo(200);
        JsonNode status = json(r.body());
        assertThat(status.path("status").asText()).isEqualTo("Jetty hook configured");
        String expected = "adopted the forksafe arbiter's listening socket /127.0.0.1:" + arbiterPort
                + " (arbiter pid 4242)";
        assertThat(status.path("notes").path("jetty.arbiter").asText()).contains(expected)
                .contains("instead of binding 127.0.0.1:" + occupied.getLocalPort());
        assertThat(status.path("autoconfigureLog").toString()).contains(expected);
        assertThat(status.path("details").path("jetty").path("arbiterSocket").asText())
                .isEqualTo("/127.0.0.1:" + arbiterPort);
        assertThat(status.path("details").path("jetty").path("connectors").get(0).path("inheritChannel")
                .asBoolean()).isTrue();
    }

    @Test
    void arbiterPidWithoutAListeningSocketIsAnErrorAndTheConnectorBindsItsOwnPort() throws Exception {
        ForkRegistry registry = new ForkRegistry("arbiter-missing");
        server = newServer(registry, 0);
        ForksafeJetty.installer().registry(registry)
                .environment(Map.of(ForksafeJetty.ARBITER_PID_ENV, "4242")::get)
                .inheritedChannel(() -> null)
                .install(server);
        server.start();
        int port = ((ServerConnector) server.getConnectors()[0]).getLocalPort();
        JsonNode status = json(get(client, URI.create("http://127.0.0.1:" + port + "/forksafe/status")).body());
        assertThat(status.path("status").asText()).startsWith("Jetty error: ")
                .contains("FORKSAFE_ARBITER_PID=4242 is set but System.inheritedChannel() is null",
                        "binds its own port instead", "unset FORKSAFE_ARBITER_PID");
        assertThat(status.path("notes").has("jetty.arbiter")).isFalse();
    }

    @Test
    void withoutTheArbiterEnvironmentTheInheritedChannelIsNotTouched() throws Exception {
        ForkRegistry registry = new ForkRegistry("no-arbiter");
        AtomicInteger asked = new AtomicInteger();
        server = newServer(registry, 0);
        ForksafeJetty.installer().registry(registry)
                .environment(name -> null)
                .inheritedChannel(() -> {
                    asked.incrementAndGet();
                    return null;
                })
                .install(server);
        server.start();
        ServerConnector connector = (ServerConnector) server.getConnectors()[0];
        assertThat(asked.get()).isZero();
        assertThat(connector.isInheritChannel()).isFalse();
        assertThat(get(client, URI.create("http://127.0.0.1:" + connector.getLocalPort() + "/forksafe/status"))
                .statusCode()).isEqualTo(200);
        assertThat(registry.status().status()).isEqualTo("Jetty hook configured");
    }

    @Test
    void arbiterSocketButNoServerConnectorIsAnError() throws Exception {
        ForkRegistry registry = new ForkRegistry("arbiter-no-connector");
        arbiterSocket = ServerSocketChannel.open();
        arbiterSocket.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
        server = new Server(ForksafeJetty.threadPool(registry, 16, 2, 60_000));
        ForksafeJetty.installer().registry(registry)
                .environment(Map.of(ForksafeJetty.ARBITER_PID_ENV, "7")::get)
                .inheritedChannel(() -> arbiterSocket)
                .install(server);
        server.start();
        assertThat(registry.status().status()).startsWith("Jetty error: ")
                .contains("has no ServerConnector to adopt it", "server.addConnector(new ServerConnector(server))");
    }
}
