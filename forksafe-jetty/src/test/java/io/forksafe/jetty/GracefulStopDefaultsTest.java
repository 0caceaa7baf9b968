package io.forksafe.jetty;

import static io.forksafe.jetty.JettyTestSupport.await;
import static org.assertj.core.api.Assertions.assertThat;

import io.forksafe.ForkRegistry;
import io.forksafe.WorkerExit;
import io.forksafe.spi.GracefulStop;

import org.eclipse.jetty.server.Handler;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.util.Callback;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A server set up as the README shows (no stop settings) stops gracefully: forksafe sets Jetty's stop at shutdown
 * and a stop timeout unless the user chose their own, so a request in flight completes and WorkerExit runs.
 */
class GracefulStopDefaultsTest {

    private Server server;

    @AfterEach
    void tearDown() throws Exception {
        if (server != null) {
            server.stop();
        }
    }

    private Server readmeServer(ForkRegistry registry, Map<String, String> env) {
        Server s = new Server(ForksafeJetty.threadPool(registry, 16, 2, 60_000));
        JettyTestSupport.loopbackConnector(s);
        ForksafeJetty.installer().registry(registry).environment(env::get).inheritedChannel(() -> null).install(s);
        return s;
    }

    @Test
    void standAloneTheServerStopsAtShutdownWithForksafesDefaultTimeout() throws Exception {
        ForkRegistry registry = new ForkRegistry("defaults");
        server = readmeServer(registry, Map.of());
        assertThat(server.getStopAtShutdown()).isFalse();
        assertThat(server.getStopTimeout()).isZero();
        server.start();
        assertThat(server.getStopAtShutdown()).isTrue();
        assertThat(server.getStopTimeout()).isEqualTo(GracefulStop.STANDALONE_MILLIS);
        assertThat(registry.status().autoconfigureLog()).anyMatch(l -> l.startsWith("Jetty graceful stop: forksafe "
                + "set stopAtShutdown=true, stopTimeout=30000 ms from forksafe's stand-alone default"));
    }

    @Test
    void underTheArbiterTheTimeoutEndsBeforeTheArbitersGracefulTimeout() throws Exception {
        ForkRegistry registry = new ForkRegistry("arbiter-defaults");
        server = readmeServer(registry, Map.of(GracefulStop.ARBITER_GRACEFUL_ENV, "8000"));
        server.start();
        assertThat(server.getStopTimeout()).isEqualTo(7_000);
        assertThat(registry.status().details().get("jetty").toString())
                .contains("stopTimeout=7000 ms from the arbiter's --graceful-timeout (8000 ms) less a margin");
    }

    @Test
    void theUsersOwnSettingsAreKept_andTheSettingTurnsTheDefaultsOff() throws Exception {
        ForkRegistry registry = new ForkRegistry("own");
        server = readmeServer(registry, Map.of(GracefulStop.ARBITER_GRACEFUL_ENV, "8000"));
        server.setStopTimeout(1_234);
        server.start();
        assertThat(server.getStopTimeout()).isEqualTo(1_234);
        assertThat(server.getStopAtShutdown()).isTrue();
        server.stop();

        System.setProperty(GracefulStop.SETTING, "false");
        try {
            ForkRegistry off = new ForkRegistry("off");
            server = readmeServer(off, Map.of());
            server.start();
            assertThat(server.getStopAtShutdown()).isFalse();
            assertThat(server.getStopTimeout()).isZero();
            assertThat(off.status().details().get("jetty").toString()).contains("left as configured");
        } finally {
            System.clearProperty(GracefulStop.SETTING);
        }
    }

    @Test
    void aRequestInFlightWhenTheServerStopsCompletes_thenWorkerExitRuns() throws Exception {
        ForkRegistry registry = new ForkRegistry("in-flight");
        AtomicInteger processExits = new AtomicInteger();
        registry.subscribe(WorkerExit.class, e -> {
            if (e.worker().kind() == io.forksafe.WorkerKind.PROCESS) {
                processExits.incrementAndGet();
            }
        });
        server = readmeServer(registry, Map.of());
        CountDownLatch entered = new CountDownLatch(1);
        server.setHandler(new Handler.Abstract() {
            @Override
            public boolean handle(Request request, Response response, Callback callback) throws Exception {
                entered.countDown();
                Thread.sleep(1_500); // a slow request: the stop must wait for it
                response.write(true, ByteBuffer.wrap("done\n".getBytes(StandardCharsets.UTF_8)), callback);
                return true;
            }
        });
        server.start();
        HttpClient client = JettyTestSupport.client();
        CompletableFuture<HttpResponse<String>> slow = client.sendAsync(HttpRequest.newBuilder(
                JettyTestSupport.uri(server, "/slow")).timeout(Duration.ofSeconds(20)).build(),
                HttpResponse.BodyHandlers.ofString());
        assertThat(entered.await(20, TimeUnit.SECONDS)).isTrue();
        server.stop();
        HttpResponse<String> r = slow.get(20, TimeUnit.SECONDS);
        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(r.body()).isEqualTo("done\n");
        await("WorkerExit for the process", () -> processExits.get() == 1);
        server = null;
    }
}
