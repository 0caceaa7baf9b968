package io.forksafe.undertow;

import io.forksafe.EventType;
import io.forksafe.ForkEvent;
import io.forksafe.ForkRegistry;
import io.forksafe.WorkerKind;
import io.undertow.Undertow;

import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.function.BooleanSupplier;
import java.util.function.Predicate;
import java.util.stream.Collectors;

/** Shared helpers: a real HTTP client, an event recorder and condition polling. */
final class TestSupport {

    static final Duration TIMEOUT = Duration.ofSeconds(20);

    private TestSupport() {
    }

    static HttpClient client() {
        return HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
                .connectTimeout(Duration.ofSeconds(5)).build();
    }

    static int port(Undertow server) {
        return ((InetSocketAddress) server.getListenerInfo().get(0).getAddress()).getPort();
    }

    static HttpResponse<String> get(HttpClient client, String url) throws Exception {
        return client.send(HttpRequest.newBuilder(URI.create(url)).timeout(TIMEOUT).GET().build(),
                HttpResponse.BodyHandlers.ofString());
    }

    static CompletableFuture<HttpResponse<String>> getAsync(HttpClient client, String url) {
        return client.sendAsync(HttpRequest.newBuilder(URI.create(url)).timeout(TIMEOUT).GET().build(),
                HttpResponse.BodyHandlers.ofString());
    }

    /** Polls {@code condition} until it holds or the deadline passes. */
    static void await(String what, BooleanSupplier condition) throws InterruptedException {
        long deadline = System.nanoTime() + TIMEOUT.toNanos();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("timed out after " + TIMEOUT.toSeconds() + " s waiting for " + what);
            }
            Thread.sleep(10);
        }
    }

    /** One recorded event and the thread that published it. */
    record Seen(ForkEvent event, String thread, long threadId, long sequence) {
    }

    /** Records every event of a registry, with the publishing thread. */
    static final class Recorder {
        private final List<Seen> seen = new ArrayList<>();

        Recorder(ForkRegistry registry) {
            this(registry, e -> true);
        }

        Recorder(ForkRegistry registry, Predicate<ForkEvent> filter) {
            registry.subscribe(ForkEvent.class, "test.recorder", 0, e -> {
                if (filter.test(e)) {
                    synchronized (seen) {
                        seen.add(new Seen(e, Thread.currentThread().getName(), Thread.currentThread().getId(), seen.size()));
                    }
                }
            });
        }

        List<Seen> all() {
            synchronized (seen) {
                return List.copyOf(seen);
            }
        }

        List<Seen> of(EventType type, WorkerKind kind) {
            return all().stream().filter(s -> s.event().type() == type && s.event().worker().kind() == kind)
                    .collect(Collectors.toList());
        }

        long count(EventType type, WorkerKind kind) {
            return of(type, kind).size();
        }

        Set<String> workerNames(EventType type) {
            Set<String> names = new HashSet<>();
            for (Seen s : of(type, WorkerKind.THREAD)) {
                names.add(s.event().worker().name());
            }
            return names;
        }
    }
}
