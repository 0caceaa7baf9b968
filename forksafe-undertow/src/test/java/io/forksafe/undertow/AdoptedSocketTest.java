package io.forksafe.undertow;

import io.forksafe.spi.HostContext;
import io.forksafe.EventType;
import io.forksafe.ForkRegistry;
import io.forksafe.WorkerKind;
import io.undertow.Undertow;
import io.undertow.server.handlers.BlockingHandler;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.net.http.HttpClient;
import java.net.http.HttpResponse;
import java.nio.channels.ServerSocketChannel;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static io.forksafe.undertow.TestSupport.get;
import static io.forksafe.undertow.TestSupport.getAsync;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * Serving a socket that was bound elsewhere, the way an arbiter worker serves the arbiter's socket inherited as
 * fd 0: here the test binds a ServerSocketChannel and hands it to two Undertow servers at once.
 */
class AdoptedSocketTest {

    private final List<Undertow> servers = new ArrayList<>();
    private final List<ServerSocketChannel> channels = new ArrayList<>();

    @AfterEach
    void cleanUp() throws Exception {
        servers.forEach(ForksafeUndertow::stop);
        for (ServerSocketChannel c : channels) {
            c.close();
        }
    }

    private ServerSocketChannel bound() throws Exception {
        ServerSocketChannel channel = ServerSocketChannel.open();
        channel.bind(new InetSocketAddress("127.0.0.1", 0), 128);
        channels.add(channel);
        return channel;
    }

    private Undertow server(ForkRegistry registry, String id) {
        Undertow server = ForksafeUndertow.install(Undertow.builder().setIoThreads(1).setWorkerThreads(2), registry)
                .setHandler(new BlockingHandler(ex -> ex.getResponseSender().send(id + " on "
                        + Thread.currentThread().getName())))
                .build(); // no listener of its own: it serves only the adopted socket
        servers.add(server);
        return server;
    }

    @Test
    void twoServersServeOneInheritedStyleSocket() throws Exception {
        ForkRegistry registry = new ForkRegistry("undertow-adopt");
        TestSupport.Recorder recorder = new TestSupport.Recorder(registry);
        ServerSocketChannel shared = bound();
        int port = ((InetSocketAddress) shared.getLocalAddress()).getPort();
        Undertow a = server(registry, "A");
        Undertow b = server(registry, "B");
        ForksafeUndertow.adoptChannel(a, shared);
        ForksafeUndertow.start(a);
        ForksafeUndertow.start(b);
        ForksafeUndertow.adoptChannel(b, shared); // adopting on a running server serves at once
        ForksafeUndertow.adoptChannel(b, shared); // the same channel twice is served once
        assertThat(ForksafeUndertow.adoptedAddresses(a)).containsExactly(new InetSocketAddress("127.0.0.1", port));
        assertThat(ForksafeUndertow.adoptedAddresses(b)).containsExactly(new InetSocketAddress("127.0.0.1", port));

        // Both accept threads wait on the one socket; each new connection goes to whichever accepts first.
        Set<String> servedBy = new HashSet<>();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        while (servedBy.size() < 2 && System.nanoTime() < deadline) {
            HttpClient fresh = TestSupport.client(); // a new client opens new connections
            List<CompletableFuture<HttpResponse<String>>> batch = new ArrayList<>();
            for (int i = 0; i < 8; i++) {
                batch.add(getAsync(fresh, "http://127.0.0.1:" + port + "/"));
            }
            for (CompletableFuture<HttpResponse<String>> f : batch) {
                HttpResponse<String> r = f.get(20, TimeUnit.SECONDS);
                assertThat(r.statusCode()).isEqualTo(200);
                assertThat(r.body()).matches("[AB] on forksafe-undertow-\\d+ task-\\d+");
                servedBy.add(r.body().substring(0, 1));
            }
        }
        assertThat(servedBy).containsExactlyInAnyOrder("A", "B");
        assertThat(recorder.count(EventType.POST_WORKER_INIT, WorkerKind.PROCESS)).isEqualTo(2);
        // Two servers in one registry share slots, so their threads are distinct workers.
        assertThat(registry.duplicatePostForks()).isZero();
        assertThat(registry.status().toJson()).contains("(adopted socket)");

        // Stopping A stops A serving the socket, but does not close it: B goes on serving every connection.
        ForksafeUndertow.stop(a);
        assertThat(shared.isOpen()).isTrue();
        for (int i = 0; i < 3; i++) {
            HttpResponse<String> r = get(TestSupport.client(), "http://127.0.0.1:" + port + "/");
            assertThat(r.body()).startsWith("B on ");
        }
        ForksafeUndertow.stop(b);
        assertThat(shared.isOpen()).as("the caller owns the socket").isTrue();
        assertThat(registry.status().autoconfigureLog()).noneMatch(l -> l.contains("could not stop serving"));
    }

    @Test
    void adoptionErrorsNameTheProblem() throws Exception {
        ForkRegistry registry = new ForkRegistry("undertow-adopt-errors");
        Undertow server = server(registry, "X");
        ServerSocketChannel closed = ServerSocketChannel.open();
        closed.close();
        ForksafeUndertow.adoptChannel(server, closed); // queued until start
        assertThatThrownBy(() -> ForksafeUndertow.start(server))
                .isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("the channel to serve is closed");
        assertThat(registry.status().errors()).anyMatch(e -> e.contains("the channel to serve is closed"));

        Undertow running = server(registry, "Y");
        ForksafeUndertow.start(running);
        ServerSocketChannel unbound = ServerSocketChannel.open();
        channels.add(unbound);
        assertThatThrownBy(() -> ForksafeUndertow.adoptChannel(running, unbound))
                .isInstanceOf(UncheckedIOException.class)
                .hasMessageContaining("is not bound");
    }

    @Test
    void inheritWhenNoSocketWasInheritedIsReported() throws Exception {
        ForkRegistry registry = new ForkRegistry("undertow-inherit");
        HostContext.of(registry).putSettings(java.util.Map.of(ForksafeUndertow.INHERIT_SETTING, "true"));
        // The test JVM's stdin is not a listening socket.
        assertThat(ForksafeUndertow.inheritedServerChannel()).isNull();
        Undertow server = ForksafeUndertow.install(Undertow.builder().setIoThreads(1), registry)
                .addHttpListener(0, "127.0.0.1").setHandler(ex -> ex.getResponseSender().send("still serves"))
                .build();
        servers.add(server);
        ForksafeUndertow.start(server);
        assertThat(registry.status().errors()).anyMatch(e -> e.contains("System.inheritedChannel() is not a "
                + "listening socket") && e.contains(ForksafeUndertow.INHERIT_SETTING + "=false"));
        assertThat(get(TestSupport.client(), "http://127.0.0.1:" + TestSupport.port(server) + "/").body())
                .isEqualTo("still serves");
    }
}
