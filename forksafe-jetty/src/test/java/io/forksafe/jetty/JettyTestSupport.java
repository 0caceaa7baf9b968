package io.forksafe.jetty;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import io.forksafe.ForkEvent;
import io.forksafe.ForkRegistry;
import io.forksafe.WorkerExit;

import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.BooleanSupplier;
import java.util.function.Supplier;

/** Shared helpers: a loopback connector, an HTTP client, polling with a deadline, an event recorder. */
final class JettyTestSupport {

    static final ObjectMapper JSON = new ObjectMapper();
    static final Duration TIMEOUT = Duration.ofSeconds(20);

    private JettyTestSupport() {
    }

    static ServerConnector loopbackConnector(Server server) {
        ServerConnector connector = new ServerConnector(server, 1, 1);
        connector.setHost("127.0.0.1");
        connector.setPort(0);
        server.addConnector(connector);
        return connector;
    }

    static URI uri(Server server, String pathAndQuery) {
        int port = ((ServerConnector) server.getConnectors()[0]).getLocalPort();
        return URI.create("http://127.0.0.1:" + port + pathAndQuery);
    }

    static HttpClient client() {
        return HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).version(HttpClient.Version.HTTP_1_1)
                .build();
    }

    static HttpResponse<String> get(HttpClient client, URI uri) throws Exception {
        return client.send(HttpRequest.newBuilder(uri).timeout(TIMEOUT).GET().build(),
                HttpResponse.BodyHandlers.ofString());
    }

    static JsonNode json(String body) throws Exception {
        return JSON.readTree(body);
    }

    /** Polls {@code condition} until it holds or the deadline passes, then fails with {@code what}. */
    static void await(String what, BooleanSupplier condition) throws InterruptedException {
        await(what, condition, () -> "");
    }

    static void await(String what, BooleanSupplier condition, Supplier<String> state) throws InterruptedException {
        long deadline = System.nanoTime() + TIMEOUT.toNanos();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("timed out after " + TIMEOUT + " waiting for " + what + " " + state.get());
            }
            Thread.sleep(10);
        }
    }

    /** One observed event, with the thread the hook ran on. */
    record Seen(ForkEvent event, String hookThread, boolean daemon, int priority, ClassLoader contextLoader) {
        String worker() {
            return event.worker().name();
        }

        String reason() {
            return event instanceof WorkerExit e ? e.reason() : null;
        }
    }

    /** Records every event published to a registry. */
    static final class Recorder {
        final List<Seen> seen = new CopyOnWriteArrayList<>();

        Recorder(ForkRegistry registry) {
            registry.subscribe(ForkEvent.class, "test.recorder", 0, e -> {
                Thread t = Thread.currentThread();
                seen.add(new Seen(e, t.getName(), t.isDaemon(), t.getPriority(), t.getContextClassLoader()));
            });
        }

        List<Seen> of(Class<? extends ForkEvent> type) {
            List<Seen> out = new ArrayList<>();
            for (Seen s : seen) {
                if (type.isInstance(s.event())) {
                    out.add(s);
                }
            }
            return out;
        }

        long count(Class<? extends ForkEvent> type) {
            return of(type).size();
        }

        List<Seen> threadEvents(Class<? extends ForkEvent> type) {
            List<Seen> out = new ArrayList<>();
            for (Seen s : of(type)) {
                if (s.event().worker().kind() == io.forksafe.WorkerKind.THREAD) {
                    out.add(s);
                }
            }
            return out;
        }
    }
}
