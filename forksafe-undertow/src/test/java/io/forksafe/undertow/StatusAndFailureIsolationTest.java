package io.forksafe.undertow;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.forksafe.ForkRegistry;
import io.forksafe.PostFork;
import io.forksafe.PreFork;
import io.forksafe.StatusEndpoint;
import io.undertow.Handlers;
import io.undertow.Undertow;
import io.undertow.server.HttpHandler;
import io.undertow.server.handlers.BlockingHandler;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.net.InetSocketAddress;
import java.net.http.HttpClient;
import java.net.http.HttpResponse;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import static io.forksafe.undertow.TestSupport.get;
import static io.forksafe.undertow.TestSupport.getAsync;
import static org.assertj.core.api.Assertions.assertThat;

/** The status HttpHandler on a real server, and one failing subscriber never stopping the others or the server. */
class StatusAndFailureIsolationTest {

    private final HttpClient client = TestSupport.client();
    private final ObjectMapper json = new ObjectMapper();
    private Undertow server;

    @AfterEach
    void stop() {
        if (server != null) {
            ForksafeUndertow.stop(server);
        }
    }

    /** Pretends the request came from a remote peer, the way a proxy or a non-loopback client would look. */
    static HttpHandler fromRemotePeer(HttpHandler next) {
        return exchange -> {
            exchange.setSourceAddress(new InetSocketAddress("203.0.113.7", 40000));
            next.handleRequest(exchange);
        };
    }

    @Test
    void failingHookIsIsolatedAndVisibleInTheStatusJson() throws Exception {
        ForkRegistry registry = new ForkRegistry("undertow-status");
        AtomicInteger good = new AtomicInteger();
        AtomicInteger preForks = new AtomicInteger();
        registry.subscribe(PostFork.class, "test.failing", 0, e -> {
            throw new IllegalStateException("boom in " + e.worker().name());
        });
        registry.subscribe(PostFork.class, "test.counting", 10, e -> good.incrementAndGet());
        registry.subscribe(PreFork.class, "test.prefork", 0, e -> preForks.incrementAndGet());

        int n = 5;
        CountDownLatch inside = new CountDownLatch(n);
        CountDownLatch release = new CountDownLatch(1);
        HttpHandler work = new BlockingHandler(ex -> {
            inside.countDown();
            release.await(20, TimeUnit.SECONDS);
            ex.getResponseSender().send("worked on " + Thread.currentThread().getName());
        });
        server = ForksafeUndertow.install(Undertow.builder().setIoThreads(1).setWorkerThreads(n), registry)
                .addHttpListener(0, "127.0.0.1")
                .setHandler(Handlers.path(work)
                        .addExactPath("/forksafe/status", ForksafeUndertow.statusHandler(registry))
                        .addExactPath("/remote/status", fromRemotePeer(ForksafeUndertow.statusHandler(registry)))
                        .addExactPath("/remote/open", fromRemotePeer(ForksafeUndertow.statusHandler(
                                StatusEndpoint.loopbackOnly(registry).allowRemote(true)))))
                .build();
        ForksafeUndertow.start(server);
        String base = "http://127.0.0.1:" + TestSupport.port(server);

        List<CompletableFuture<HttpResponse<String>>> requests = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            requests.add(getAsync(client, base + "/work"));
        }
        assertThat(inside.await(20, TimeUnit.SECONDS)).isTrue();
        release.countDown();
        for (CompletableFuture<HttpResponse<String>> r : requests) {
            HttpResponse<String> response = r.get(20, TimeUnit.SECONDS);
            assertThat(response.statusCode()).isEqualTo(200);
            assertThat(response.body()).startsWith("worked on forksafe-undertow-");
        }

        HttpResponse<String> status = get(client, base + "/forksafe/status");
        assertThat(status.statusCode()).isEqualTo(200);
        assertThat(status.headers().firstValue("Content-Type")).hasValueSatisfying(
                v -> assertThat(v).startsWith("application/json"));
        assertThat(status.headers().firstValue("Cache-Control")).hasValue("no-store");
        JsonNode root = json.readTree(status.body());

        assertThat(root.path("status").asText()).isEqualTo("Undertow hook configured");
        assertThat(root.path("environment").asText()).isEqualTo("undertow " + io.undertow.Version.getVersionString());
        JsonNode failing = hook(root, "test.failing", "PostFork");
        JsonNode counting = hook(root, "test.counting", "PostFork");
        assertThat(failing.path("count").asLong()).isEqualTo(n);
        assertThat(failing.path("failures").asLong()).isEqualTo(n);
        assertThat(failing.path("lastError").asText()).contains("IllegalStateException").contains("boom in");
        assertThat(counting.path("count").asLong()).isEqualTo(n);
        assertThat(counting.path("failures").asLong()).isZero();
        assertThat(good.get()).isEqualTo(n);
        assertThat(preForks.get()).isEqualTo(n);

        JsonNode undertow = root.path("details").path("undertow");
        JsonNode mine = undertow.path("servers").get(0);
        assertThat(mine.path("state").asText()).isEqualTo("started");
        assertThat(mine.path("ioThreads").asInt()).isEqualTo(1);
        assertThat(mine.path("listeners").get(0).asText()).isEqualTo("http://127.0.0.1:" + TestSupport.port(server));
        assertThat(mine.path("taskPool").path("threadsCreated").asLong()).isEqualTo(n);
        assertThat(mine.path("taskPool").path("liveThreads").asLong()).isEqualTo(n);
        assertThat(root.path("notes").path("undertow.ioThreads").asText()).contains("no thread-factory hook");
        long liveThreadWorkers = 0;
        for (JsonNode w : root.path("workers")) {
            if (w.path("kind").asText().equals("THREAD")) {
                liveThreadWorkers++;
            }
        }
        assertThat(liveThreadWorkers).isEqualTo(n);

        HttpResponse<String> text = get(client, base + "/forksafe/status?format=text");
        assertThat(text.statusCode()).isEqualTo(200);
        assertThat(text.headers().firstValue("Content-Type")).hasValueSatisfying(
                v -> assertThat(v).startsWith("text/plain"));
        assertThat(text.body()).contains("Undertow hook configured").contains("test.failing");

        assertThat(get(client, base + "/forksafe/status?format=xml").statusCode()).isEqualTo(400);

        HttpResponse<String> refused = get(client, base + "/remote/status");
        assertThat(refused.statusCode()).isEqualTo(403);
        assertThat(refused.body()).contains("loopback clients only").contains(StatusEndpoint.ALLOW_REMOTE_SETTING);
        assertThat(get(client, base + "/remote/open").statusCode()).isEqualTo(200);
    }

    private static JsonNode hook(JsonNode root, String subscriber, String event) {
        for (JsonNode h : root.path("executedHooks")) {
            if (h.path("subscriber").asText().equals(subscriber) && h.path("event").asText().equals(event)) {
                return h;
            }
        }
        throw new AssertionError("no executedHooks entry for " + subscriber + "/" + event + " in " + root);
    }
}
