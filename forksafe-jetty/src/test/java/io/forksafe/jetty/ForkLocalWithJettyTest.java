package io.forksafe.jetty;

import io.forksafe.ForkLocal;
import io.forksafe.ForkRegistry;

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
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Jetty's thread events must not disturb per-process values: a core {@link ForkLocal} keeps one value while the
 * pool creates threads under load, and is closed by the process-level WorkerExit when the server stops.
 */
class ForkLocalWithJettyTest {

    private Server server;

    @AfterEach
    void stop() throws Exception {
        if (server != null) {
            server.stop();
        }
    }

    @Test
    void threadEventsKeepTheProcessValueAndServerStopClosesIt() throws Exception {
        ForkRegistry registry = new ForkRegistry("forklocal");
        AtomicInteger made = new AtomicInteger();
        ForkLocal<String> client = ForkLocal.of(registry, "client", () -> "client-" + made.incrementAndGet());
        ForksafeThreadPool pool = ForksafeJetty.threadPool(registry, 32, 2, 60_000);
        server = new Server(pool);
        JettyTestSupport.loopbackConnector(server);
        server.setHandler(new Handler.Abstract() {
            @Override
            public boolean handle(Request request, Response response, Callback callback) throws Exception {
                Thread.sleep(30);
                response.write(true, ByteBuffer.wrap(client.get().getBytes(StandardCharsets.UTF_8)), callback);
                return true;
            }
        });
        ForksafeJetty.install(server, registry);
        server.start();

        HttpClient http = JettyTestSupport.client();
        List<CompletableFuture<HttpResponse<String>>> calls = new ArrayList<>();
        for (int i = 0; i < 16; i++) {
            calls.add(http.sendAsync(HttpRequest.newBuilder(JettyTestSupport.uri(server, "/")).build(),
                    HttpResponse.BodyHandlers.ofString()));
        }
        Set<String> seen = new HashSet<>();
        for (CompletableFuture<HttpResponse<String>> c : calls) {
            seen.add(c.get(20, TimeUnit.SECONDS).body());
        }
        assertThat(pool.threadsCreated()).as("the pool created threads beyond acceptor and selector").isGreaterThan(2);
        assertThat(seen).containsExactly("client-1");
        assertThat(client.createdCount()).isEqualTo(1);
        assertThat(client.closedCount()).isZero();

        server.stop();
        assertThat(client.closedCount()).as("process WorkerExit on stop closes it").isEqualTo(1);
    }
}
