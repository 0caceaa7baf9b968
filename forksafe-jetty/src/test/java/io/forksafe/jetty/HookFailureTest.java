package io.forksafe.jetty;

import com.fasterxml.jackson.databind.JsonNode;

import io.forksafe.ForkRegistry;
import io.forksafe.PostFork;
import io.forksafe.PostWorkerInit;
import io.forksafe.PreFork;
import io.forksafe.WorkerExit;
import io.forksafe.WorkerKind;

import org.eclipse.jetty.server.Handler;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.handler.ContextHandler;
import org.eclipse.jetty.server.handler.ContextHandlerCollection;
import org.eclipse.jetty.util.Callback;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import static io.forksafe.jetty.JettyTestSupport.await;
import static io.forksafe.jetty.JettyTestSupport.get;
import static io.forksafe.jetty.JettyTestSupport.json;
import static io.forksafe.jetty.JettyTestSupport.uri;
import static org.assertj.core.api.Assertions.assertThat;

/** Failing hooks never stop Jetty or the other hooks, and every failure shows in the status JSON. */
class HookFailureTest {

    private Server server;

    @AfterEach
    void stop() throws Exception {
        if (server != null) {
            server.stop();
        }
    }

    @Test
    void failuresAreIsolatedAndVisibleInStatusJson() throws Exception {
        ForkRegistry registry = new ForkRegistry("failures");
        AtomicInteger goodPostForks = new AtomicInteger();
        AtomicInteger goodPreForks = new AtomicInteger();
        AtomicInteger goodInits = new AtomicInteger();
        registry.subscribe(PostFork.class, "failing.postFork", -10, e -> {
            throw new IllegalStateException("boom in PostFork for " + e.worker().name());
        });
        registry.subscribe(PostFork.class, "counting.postFork", 10, e -> goodPostForks.incrementAndGet());
        registry.subscribe(PreFork.class, "failing.preFork", 0, e -> {
            throw new IllegalStateException("boom in PreFork");
        });
        registry.subscribe(PreFork.class, "counting.preFork", 0, e -> goodPreForks.incrementAndGet());
        registry.subscribe(PostWorkerInit.class, "failing.init", 0, e -> {
            throw new IllegalStateException("boom in PostWorkerInit");
        });
        registry.subscribe(PostWorkerInit.class, "counting.init", 1, e -> goodInits.incrementAndGet());
        registry.subscribe(WorkerExit.class, "failing.exit", 0, e -> {
            throw new IllegalStateException("boom in WorkerExit");
        });

        // A fixed-size pool (min == max): exactly 12 threads, so the expected counts are known.
        ForksafeThreadPool pool = ForksafeJetty.threadPool(registry, 12, 12, 60_000);
        server = new Server(pool);
        JettyTestSupport.loopbackConnector(server);
        ContextHandlerCollection contexts = new ContextHandlerCollection();
        contexts.addHandler(ForksafeJetty.statusContext("/forksafe/status", ForksafeJetty.statusHandler(registry)));
        contexts.addHandler(new ContextHandler(new Hello(), "/hello"));
        server.setHandler(contexts);
        ForksafeJetty.install(server, registry);
        server.start();
        assertThat(server.isStarted()).as("a failing PostWorkerInit hook does not stop the server").isTrue();

        HttpClient client = JettyTestSupport.client();
        List<CompletableFuture<HttpResponse<String>>> all = new ArrayList<>();
        for (int i = 0; i < 32; i++) {
            all.add(client.sendAsync(HttpRequest.newBuilder(uri(server, "/hello/")).timeout(JettyTestSupport.TIMEOUT)
                    .build(), HttpResponse.BodyHandlers.ofString()));
        }
        for (CompletableFuture<HttpResponse<String>> f : all) {
            HttpResponse<String> r = f.get(20, TimeUnit.SECONDS);
            assertThat(r.statusCode()).isEqualTo(200);
            assertThat(r.body()).startsWith("hello from ");
        }
        await("PostFork on all 12 threads", () -> goodPostForks.get() == 12, () -> "" + goodPostForks.get());
        assertThat(pool.threadsCreated()).isEqualTo(12);
        assertThat(goodPreForks.get()).isEqualTo(12);
        assertThat(goodInits.get()).isEqualTo(1);

        JsonNode status = json(get(client, uri(server, "/forksafe/status")).body());
        assertThat(status.path("status").asText()).as("hook failures are not configuration errors")
                .isEqualTo("Jetty hook configured");
        assertThat(hook(status, "failing.postFork", "PostFork").path("count").asLong()).isEqualTo(12);
        assertThat(hook(status, "failing.postFork", "PostFork").path("failures").asLong()).isEqualTo(12);
        assertThat(hook(status, "failing.postFork", "PostFork").path("lastError").asText())
                .contains("IllegalStateException", "boom in PostFork for ");
        assertThat(hook(status, "counting.postFork", "PostFork").path("count").asLong()).isEqualTo(12);
        assertThat(hook(status, "counting.postFork", "PostFork").path("failures").asLong()).isZero();
        assertThat(hook(status, "failing.preFork", "PreFork").path("failures").asLong()).isEqualTo(12);
        assertThat(hook(status, "failing.init", "PostWorkerInit").path("failures").asLong()).isEqualTo(1);
        assertThat(hook(status, "counting.init", "PostWorkerInit").path("failures").asLong()).isZero();

        server.stop();
        // Failing WorkerExit hooks still let every thread end and every exit be counted.
        await("all 12 threads ended", () -> pool.threadsRetired() == 12);
        var failingExit = registry.status().executedHooks().stream()
                .filter(h -> h.subscriber().equals("failing.exit") && h.event().equals("WorkerExit")).findFirst()
                .orElseThrow();
        assertThat(failingExit.failures()).as("12 thread exits + 1 process exit").isEqualTo(13);
        assertThat(registry.status().recentlyEnded()).anySatisfy(w -> assertThat(w.worker().kind())
                .isEqualTo(WorkerKind.THREAD));
    }

    private static JsonNode hook(JsonNode status, String subscriber, String event) {
        for (JsonNode h : status.path("executedHooks")) {
            if (h.path("subscriber").asText().equals(subscriber) && h.path("event").asText().equals(event)) {
                return h;
            }
        }
        throw new AssertionError("no executedHooks entry for " + subscriber + "/" + event + " in " + status);
    }

    static final class Hello extends Handler.Abstract {
        @Override
        public boolean handle(Request request, Response response, Callback callback) throws Exception {
            Thread.sleep(5);
            response.write(true, ByteBuffer.wrap(("hello from " + Thread.currentThread().getName())
                    .getBytes(StandardCharsets.UTF_8)), callback);
            return true;
        }
    }
}
