package io.forksafe.jetty;

import io.forksafe.ForkEvent;
import io.forksafe.ForkRegistry;
import io.forksafe.WorkerKind;

import org.eclipse.jetty.server.Connector;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.channels.ServerSocketChannel;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * {@code installer().connectorsStartLater()}: the way Spring Boot's {@code JettyWebServer} runs a server (start it
 * without connectors so the context initializes, then add the connectors back and start them one by one). The arbiter's
 * socket is adopted by the connector added later, PostWorkerInit follows that connector's start (not the server's),
 * and {@code ForksafeJetty.stopServing} publishes WorkerExit once, however often stopping is asked for.
 */
class ConnectorsStartLaterTest {

    private Server server;
    private ServerSocketChannel arbiterSocket;
    private ServerSocket occupied;

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

    @Test
    void theConnectorAddedAfterTheStartAdoptsTheArbiterSocketAndItsStartIsPostWorkerInit() throws Exception {
        ForkRegistry registry = new ForkRegistry("boot-style");
        List<String> events = new CopyOnWriteArrayList<>();
        registry.subscribe(ForkEvent.class, "recorder", 0, e -> {
            if (e.worker().kind() != WorkerKind.THREAD) {
                events.add(e.type().displayName());
            }
        });
        arbiterSocket = ServerSocketChannel.open();
        arbiterSocket.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
        int arbiterPort = ((InetSocketAddress) arbiterSocket.getLocalAddress()).getPort();
        occupied = new ServerSocket(0, 50, InetAddress.getLoopbackAddress()); // binding this port would fail

        server = new Server(ForksafeJetty.threadPool(registry, 16, 2, 60_000));
        ServerConnector connector = new ServerConnector(server, 1, 1);
        connector.setHost("127.0.0.1");
        connector.setPort(occupied.getLocalPort());
        server.addConnector(connector);
        ForksafeJetty.installer().registry(registry).connectorsStartLater()
                .environment(Map.of(io.forksafe.spi.ArbiterContract.ENV_ARBITER_PID, "4242")::get)
                .inheritedChannel(() -> arbiterSocket)
                .install(server);

        // what JettyWebServer does: start without connectors ...
        Connector[] connectors = server.getConnectors();
        server.setConnectors(null);
        server.start();
        assertThat(events).as("the server started, but serves nothing yet: no PostWorkerInit").isEmpty();
        assertThat(registry.status().errors()).isEmpty();

        // ... then add them back and start them
        server.setConnectors(connectors);
        for (Connector c : server.getConnectors()) {
            c.start();
        }
        assertThat(connector.getLocalPort()).as("the arbiter's socket, not the configured port").isEqualTo(arbiterPort);
        assertThat(events).containsExactly("PostWorkerInit");

        ForksafeJetty.stopServing(server);
        ForksafeJetty.stopServing(server);
        server.stop();
        server = null;
        assertThat(events).containsExactly("PostWorkerInit", "WorkerExit");
        assertThat(registry.status().errors()).isEmpty();
    }
}
