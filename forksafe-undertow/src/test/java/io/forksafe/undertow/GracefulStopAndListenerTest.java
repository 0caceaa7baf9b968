package io.forksafe.undertow;

import io.forksafe.ForkRegistry;
import io.forksafe.WorkerExit;
import io.forksafe.WorkerKind;
import io.forksafe.undertow.internal.Installation;
import io.undertow.Undertow;
import io.undertow.server.handlers.BlockingHandler;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.http.HttpClient;
import java.net.http.HttpResponse;
import java.nio.channels.ServerSocketChannel;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import static io.forksafe.undertow.TestSupport.get;
import static io.forksafe.undertow.TestSupport.getAsync;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * The README's Undertow code, unchanged, is correct in both runs: stand-alone a stop waits for requests in flight,
 * and under the arbiter its {@code addHttpListener} is served by the arbiter's socket instead of being bound.
 */
class GracefulStopAndListenerTest {

    private Undertow server;
    private ServerSocketChannel shared;
    private ServerSocket occupied;
    private final HttpClient client = TestSupport.client();

    @AfterEach
    void tearDown() throws Exception {
        if (server != null) {
            ForksafeUndertow.stop(server);
        }
        if (shared != null) {
            shared.close();
        }
        if (occupied != null) {
            occupied.close();
        }
    }

    @Test
    void aStopWaitsForTheRequestInFlight_thenPublishesWorkerExit() throws Exception {
        ForkRegistry registry = new ForkRegistry("drain");
        List<String> order = new CopyOnWriteArrayList<>();
        registry.subscribe(WorkerExit.class, e -> {
            if (e.worker().kind() == WorkerKind.PROCESS) {
                order.add("WorkerExit");
            }
        });
        CountDownLatch entered = new CountDownLatch(1);
        server = ForksafeUndertow.install(Undertow.builder(), registry)
                .addHttpListener(0, "127.0.0.1")
                .setHandler(new BlockingHandler(exchange -> {
                    entered.countDown();
                    Thread.sleep(1_500); // a slow request: the stop must wait for it
                    order.add("response");
                    exchange.getResponseSender().send("done");
                }))
                .build();
        ForksafeUndertow.start(server);
        CompletableFuture<HttpResponse<String>> slow = getAsync(client,
                "http://127.0.0.1:" + TestSupport.port(server) + "/slow");
        assertThat(entered.await(20, TimeUnit.SECONDS)).isTrue();
        ForksafeUndertow.stop(server);
        server = null;
        HttpResponse<String> r = slow.get(20, TimeUnit.SECONDS);
        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(r.body()).isEqualTo("done");
        assertThat(order).containsExactly("response", "WorkerExit");
        assertThat(registry.status().autoconfigureLog())
                .anyMatch(l -> l.contains("stopped after its requests in flight finished"));
    }

    @Test
    void onTheArbitersSocketToo_aStopWaitsForTheRequestInFlight() throws Exception {
        ForkRegistry registry = new ForkRegistry("drain-shared");
        shared = ServerSocketChannel.open().bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
        int sharedPort = ((InetSocketAddress) shared.getLocalAddress()).getPort();
        CountDownLatch entered = new CountDownLatch(1);
        server = ForksafeUndertow.install(Undertow.builder(), registry)
                .addHttpListener(0, "127.0.0.1")
                .setHandler(new BlockingHandler(exchange -> {
                    entered.countDown();
                    Thread.sleep(1_500);
                    exchange.getResponseSender().send("done");
                }))
                .build();
        Installation.of(server).start(server, shared);
        CompletableFuture<HttpResponse<String>> slow = getAsync(client, "http://127.0.0.1:" + sharedPort + "/slow");
        assertThat(entered.await(20, TimeUnit.SECONDS)).isTrue();
        ForksafeUndertow.stop(server);
        server = null;
        HttpResponse<String> r = slow.get(20, TimeUnit.SECONDS);
        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(r.body()).isEqualTo("done");
        assertThat(shared.isOpen()).as("the shared socket stays open for the other workers").isTrue();
    }

    @Test
    void underTheArbiterTheBuildersHttpListenerIsServedByTheInheritedSocketInstead() throws Exception {
        ForkRegistry registry = new ForkRegistry("replace");
        shared = ServerSocketChannel.open().bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
        int sharedPort = ((InetSocketAddress) shared.getLocalAddress()).getPort();
        occupied = new ServerSocket(0, 50, InetAddress.getLoopbackAddress()); // as the arbiter holds --bind
        server = ForksafeUndertow.install(Undertow.builder(), registry)
                .addHttpListener(occupied.getLocalPort(), "127.0.0.1")
                .setHandler(new BlockingHandler(exchange -> exchange.getResponseSender().send("hello")))
                .build();
        Installation.of(server).start(server, shared); // what ForksafeUndertow.start does in an arbiter worker

        assertThat(get(client, "http://127.0.0.1:" + sharedPort + "/").body()).isEqualTo("hello");
        assertThat(server.getListenerInfo()).as("the builder's listener was never bound").isEmpty();
        assertThat(registry.status().status()).isEqualTo("Undertow hook configured");
        assertThat(registry.status().notes().get("undertow.arbiter")).isEqualTo("the builder's HTTP listener "
                + "127.0.0.1:" + occupied.getLocalPort() + " is served by the forksafe arbiter's socket 127.0.0.1:"
                + sharedPort + " instead (not bound)");
    }

    @Test
    void aListenersOwnHandlerServesTheInheritedSocket() throws Exception {
        ForkRegistry registry = new ForkRegistry("own-handler");
        shared = ServerSocketChannel.open().bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
        int sharedPort = ((InetSocketAddress) shared.getLocalAddress()).getPort();
        server = ForksafeUndertow.install(Undertow.builder(), registry)
                .addHttpListener(0, "127.0.0.1", new BlockingHandler(exchange -> exchange.getResponseSender()
                        .send("listener's own")))
                .setHandler(exchange -> exchange.getResponseSender().send("server root"))
                .build();
        Installation.of(server).start(server, shared);
        assertThat(get(client, "http://127.0.0.1:" + sharedPort + "/").body()).isEqualTo("listener's own");
    }
}
