package io.forksafe.jetty;

import com.fasterxml.jackson.databind.JsonNode;

import io.forksafe.ForkRegistry;

import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import org.eclipse.jetty.util.component.LifeCycle;
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
import java.util.concurrent.atomic.AtomicReference;

import static io.forksafe.jetty.JettyTestSupport.get;
import static io.forksafe.jetty.JettyTestSupport.json;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

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
                .environment(Map.of(io.forksafe.spi.ArbiterContract.ENV_ARBITER_PID, "4242")::get)
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
    void arbiterPidWithoutAListeningSocketIsABootError() {
        ForkRegistry registry = new ForkRegistry("arbiter-missing");
        server = newServer(registry, 0);
        ForksafeJetty.installer().registry(registry)
                .environment(Map.of(io.forksafe.spi.ArbiterContract.ENV_ARBITER_PID, "4242")::get)
                .inheritedChannel(() -> null)
                .install(server);
        assertThatThrownBy(server::start).isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("FORKSAFE_ARBITER_PID=4242 is set but System.inheritedChannel() is null")
                .hasMessageContaining("unset FORKSAFE_ARBITER_PID");
        assertThat(server.isFailed()).isTrue();
        assertThat(((ServerConnector) server.getConnectors()[0]).getLocalPort()).as("never bound a port of its own")
                .isLessThanOrEqualTo(0);
        assertThat(registry.status().status()).startsWith("Jetty error: ").contains("has no socket to serve");
        assertThat(registry.status().executedHooks()).noneMatch(h -> h.event().equals("PostWorkerInit"));
        server = null;
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
    void arbiterSocketButNoServerConnectorIsABootError_neverReady() throws Exception {
        ForkRegistry registry = new ForkRegistry("arbiter-no-connector");
        AtomicInteger ready = new AtomicInteger();
        registry.subscribe(io.forksafe.PostWorkerInit.class, e -> ready.incrementAndGet());
        arbiterSocket = ServerSocketChannel.open();
        arbiterSocket.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
        server = new Server(ForksafeJetty.threadPool(registry, 16, 2, 60_000));
        ForksafeJetty.installer().registry(registry)
                .environment(Map.of(io.forksafe.spi.ArbiterContract.ENV_ARBITER_PID, "7")::get)
                .inheritedChannel(() -> arbiterSocket)
                .install(server);
        assertThatThrownBy(server::start).isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("has no ServerConnector to adopt it")
                .hasMessageContaining("server.addConnector(new ServerConnector(server))");
        assertThat(registry.status().status()).startsWith("Jetty error: ")
                .contains("has no ServerConnector to adopt it");
        assertThat(ready).hasValue(0);
        server = null;
    }

    @Test
    void stoppingAWorkerFirstStopsAcceptingOnTheSharedSocketAndLeavesItOpen() throws Exception {
        ForkRegistry registry = new ForkRegistry("arbiter-drain");
        arbiterSocket = ServerSocketChannel.open();
        arbiterSocket.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
        int arbiterPort = ((InetSocketAddress) arbiterSocket.getLocalAddress()).getPort();
        server = newServer(registry, 0);
        ForksafeJetty.installer().registry(registry)
                .environment(Map.of(io.forksafe.spi.ArbiterContract.ENV_ARBITER_PID, "4242")::get)
                .inheritedChannel(() -> arbiterSocket)
                .install(server);
        server.start();
        ServerConnector connector = (ServerConnector) server.getConnectors()[0];
        assertThat(connector.isAccepting()).isTrue();
        assertThat(get(client, URI.create("http://127.0.0.1:" + arbiterPort + "/forksafe/status")).statusCode())
                .isEqualTo(200);

        // Jetty notifies listeners in the order they were added: this one runs after forksafe's.
        AtomicReference<String> whenStopping = new AtomicReference<>();
        server.addEventListener(new LifeCycle.Listener() {
            @Override
            public void lifeCycleStopping(LifeCycle event) {
                whenStopping.set("accepting=" + connector.isAccepting() + " socketOpen=" + arbiterSocket.isOpen());
            }
        });
        server.stop();

        // Before Jetty's graceful stop interrupts its acceptor and closes the socket, the worker has stopped taking
        // connections from the shared queue, so none is accepted and then dropped; the socket itself is still open.
        assertThat(whenStopping.get()).isEqualTo("accepting=false socketOpen=true");
        assertThat(registry.status().autoconfigureLog().toString()).contains("Jetty stopped accepting on the forksafe "
                + "arbiter's shared socket /127.0.0.1:" + arbiterPort + " before stopping");
    }
}
