package io.forksafe.undertow;

import io.forksafe.EventType;
import io.forksafe.ForkRegistry;
import io.forksafe.WorkerExit;
import io.forksafe.WorkerInfo;
import io.forksafe.WorkerKind;
import io.undertow.Undertow;
import io.undertow.server.HttpHandler;
import io.undertow.server.handlers.BlockingHandler;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.xnio.Options;

import java.net.http.HttpClient;
import java.net.http.HttpResponse;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import java.util.stream.IntStream;

import static io.forksafe.undertow.TestSupport.Recorder;
import static io.forksafe.undertow.TestSupport.Seen;
import static io.forksafe.undertow.TestSupport.await;
import static io.forksafe.undertow.TestSupport.get;
import static io.forksafe.undertow.TestSupport.getAsync;
import static org.assertj.core.api.Assertions.assertThat;

/** Embedded Undertow on 127.0.0.1: exact per-thread and process events under concurrent load. */
class EmbeddedEventsTest {

    private final HttpClient client = TestSupport.client();
    private final List<Undertow> servers = new ArrayList<>();

    @AfterEach
    void stopServers() {
        servers.forEach(ForksafeUndertow::stop);
    }

    /** A handler that records its thread and, on /block, waits until {@code expected} requests are inside. */
    static final class Gate {
        final Map<Long, String> handlerThreads = new ConcurrentHashMap<>();
        volatile CountDownLatch inside;
        volatile CountDownLatch release;

        void arm(int expected) {
            inside = new CountDownLatch(expected);
            release = new CountDownLatch(1);
        }

        HttpHandler handler() {
            return new BlockingHandler(exchange -> {
                Thread t = Thread.currentThread();
                handlerThreads.put(t.getId(), t.getName());
                if (exchange.getRequestPath().equals("/block")) {
                    inside.countDown();
                    if (!release.await(20, TimeUnit.SECONDS)) {
                        throw new IllegalStateException("test gate never released");
                    }
                }
                exchange.getResponseSender().send("ok " + t.getName());
            });
        }
    }

    private Undertow start(ForkRegistry registry, Undertow.Builder builder, Gate gate) {
        Undertow server = ForksafeUndertow.install(builder, registry)
                .addHttpListener(0, "127.0.0.1")
                .setHandler(gate.handler())
                .build();
        servers.add(server);
        ForksafeUndertow.start(server);
        return server;
    }

    /** Sends {@code n} concurrent /block requests and returns once all of them are inside the handler. */
    private List<CompletableFuture<HttpResponse<String>>> hold(Gate gate, int port, int n) throws Exception {
        gate.arm(n);
        List<CompletableFuture<HttpResponse<String>>> futures = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            futures.add(getAsync(client, "http://127.0.0.1:" + port + "/block"));
        }
        assertThat(gate.inside.await(20, TimeUnit.SECONDS)).as("all %d requests inside the handler", n).isTrue();
        return futures;
    }

    private static void releaseAndCheck(Gate gate, List<CompletableFuture<HttpResponse<String>>> futures)
            throws Exception {
        gate.release.countDown();
        for (CompletableFuture<HttpResponse<String>> f : futures) {
            HttpResponse<String> r = f.get(20, TimeUnit.SECONDS);
            assertThat(r.statusCode()).isEqualTo(200);
            assertThat(r.body()).startsWith("ok forksafe-undertow-");
        }
    }

    @Test
    void exactEventCountsMatchTheThreadsCreatedUnderConcurrentLoad() throws Exception {
        ForkRegistry registry = new ForkRegistry("undertow-events");
        Recorder recorder = new Recorder(registry);
        Gate gate = new Gate();
        int n = 6;
        Undertow server = start(registry, Undertow.builder().setIoThreads(2).setWorkerThreads(n), gate);
        int port = TestSupport.port(server);

        assertThat(recorder.count(EventType.POST_WORKER_INIT, WorkerKind.PROCESS)).isEqualTo(1);
        assertThat(recorder.of(EventType.POST_WORKER_INIT, WorkerKind.PROCESS).get(0).event().worker())
                .isEqualTo(registry.processWorker());

        // Phase 1: n requests held at once force exactly n task threads.
        releaseAndCheck(gate, hold(gate, port, n));
        // Phase 2: 300 more requests, 24 at a time; the pool is full, so no thread is created.
        List<CompletableFuture<HttpResponse<String>>> load = new ArrayList<>();
        for (int i = 0; i < 300; i++) {
            load.add(getAsync(client, "http://127.0.0.1:" + port + "/fast"));
            if (load.size() == 24) {
                for (CompletableFuture<HttpResponse<String>> f : load) {
                    assertThat(f.get(20, TimeUnit.SECONDS).statusCode()).isEqualTo(200);
                }
                load.clear();
            }
        }
        for (CompletableFuture<HttpResponse<String>> f : load) {
            assertThat(f.get(20, TimeUnit.SECONDS).statusCode()).isEqualTo(200);
        }

        Set<Long> threadsThatServed = gate.handlerThreads.keySet();
        assertThat(threadsThatServed).hasSize(n);
        List<Seen> postForks = recorder.of(EventType.POST_FORK, WorkerKind.THREAD);
        assertThat(postForks).hasSize(n);
        // PostFork runs first on the new thread itself: the threads that published it are the ones that served.
        assertThat(postForks.stream().map(Seen::threadId).collect(Collectors.toSet())).isEqualTo(threadsThatServed);
        for (Seen s : postForks) {
            assertThat(s.thread()).isEqualTo(s.event().worker().name());
        }
        assertThat(recorder.count(EventType.PRE_FORK, WorkerKind.THREAD)).isEqualTo(n);
        assertThat(recorder.count(EventType.POST_FORK_PARENT, WorkerKind.THREAD)).isEqualTo(n);
        assertThat(recorder.count(EventType.WORKER_EXIT, WorkerKind.THREAD)).isZero();
        // PreFork and PostForkParent run on the creating thread, never on the new worker.
        for (Seen s : recorder.of(EventType.PRE_FORK, WorkerKind.THREAD)) {
            assertThat(threadsThatServed).doesNotContain(s.threadId());
        }
        Set<Integer> slots = postForks.stream().map(s -> s.event().worker().slot()).collect(Collectors.toSet());
        assertThat(slots).isEqualTo(IntStream.rangeClosed(1, n).boxed().collect(Collectors.toSet()));
        assertThat(postForks).allSatisfy(s -> {
            WorkerInfo w = s.event().worker();
            assertThat(w.generation()).isZero();
            assertThat(w.kind()).isEqualTo(WorkerKind.THREAD);
            assertThat(w.pid()).isEqualTo(ProcessHandle.current().pid());
        });

        ForksafeUndertow.stop(server);

        assertThat(recorder.count(EventType.WORKER_EXIT, WorkerKind.PROCESS)).isEqualTo(1);
        List<Seen> exits = recorder.of(EventType.WORKER_EXIT, WorkerKind.THREAD);
        assertThat(exits).hasSize(n);
        assertThat(exits.stream().map(Seen::threadId).collect(Collectors.toSet())).isEqualTo(threadsThatServed);
        assertThat(exits).allSatisfy(s -> assertThat(((WorkerExit) s.event()).reason()).isEqualTo("server stopping"));
        // The process WorkerExit comes while the server still runs, before any thread is shut down.
        long processExit = recorder.of(EventType.WORKER_EXIT, WorkerKind.PROCESS).get(0).sequence();
        assertThat(exits).allSatisfy(s -> assertThat(s.sequence()).isGreaterThan(processExit));
        assertPerWorkerOrder(recorder);
    }

    /** For every thread worker: PreFork, then PostForkParent, then PostFork, then WorkerExit. */
    static void assertPerWorkerOrder(Recorder recorder) {
        Map<String, List<EventType>> byWorker = new HashMap<>();
        for (Seen s : recorder.all()) {
            if (s.event().worker().kind() == WorkerKind.THREAD) {
                byWorker.computeIfAbsent(s.event().worker().identity(), k -> new ArrayList<>()).add(s.event().type());
            }
        }
        assertThat(byWorker).isNotEmpty();
        byWorker.forEach((worker, types) -> assertThat(types).as(worker).containsExactly(EventType.PRE_FORK,
                EventType.POST_FORK_PARENT, EventType.POST_FORK, EventType.WORKER_EXIT));
    }

    @Test
    void idleThreadsRetireWithWorkerExitAndTheirSlotsComeBackWithTheNextGeneration() throws Exception {
        ForkRegistry registry = new ForkRegistry("undertow-keepalive");
        Recorder recorder = new Recorder(registry);
        Gate gate = new Gate();
        int n = 3;
        Undertow server = start(registry, Undertow.builder().setIoThreads(1).setWorkerThreads(n)
                .setWorkerOption(Options.WORKER_TASK_KEEPALIVE, 150), gate);
        int port = TestSupport.port(server);

        releaseAndCheck(gate, hold(gate, port, n));
        await("3 idle retirements", () -> recorder.count(EventType.WORKER_EXIT, WorkerKind.THREAD) == n);
        assertThat(recorder.of(EventType.WORKER_EXIT, WorkerKind.THREAD)).allSatisfy(s ->
                assertThat(((WorkerExit) s.event()).reason()).isEqualTo("idle timeout (keep-alive 150 ms)"));
        assertThat(recorder.count(EventType.WORKER_EXIT, WorkerKind.PROCESS)).isZero();

        releaseAndCheck(gate, hold(gate, port, n));
        List<Seen> postForks = recorder.of(EventType.POST_FORK, WorkerKind.THREAD);
        assertThat(postForks).hasSize(2 * n);
        Set<String> secondRound = new HashSet<>();
        for (Seen s : postForks.subList(n, 2 * n)) {
            secondRound.add(s.event().worker().slot() + "/" + s.event().worker().generation());
        }
        assertThat(secondRound).containsExactlyInAnyOrder("1/1", "2/1", "3/1");

        ForksafeUndertow.stop(server);
        assertThat(recorder.count(EventType.WORKER_EXIT, WorkerKind.THREAD)).isEqualTo(2L * n);
        assertThat(recorder.count(EventType.PRE_FORK, WorkerKind.THREAD)).isEqualTo(2L * n);
        assertThat(recorder.count(EventType.POST_FORK_PARENT, WorkerKind.THREAD)).isEqualTo(2L * n);
        assertPerWorkerOrder(recorder);
    }

    @Test
    void threadDaemonWorkerOptionAppliesToTaskThreads() throws Exception {
        ForkRegistry registry = new ForkRegistry("undertow-daemon");
        Gate gate = new Gate();
        Undertow server = start(registry, Undertow.builder().setIoThreads(1).setWorkerThreads(1)
                .setWorkerOption(Options.THREAD_DAEMON, true), gate);
        java.util.concurrent.atomic.AtomicBoolean daemon = new java.util.concurrent.atomic.AtomicBoolean();
        registry.subscribe(io.forksafe.PostFork.class, e -> daemon.set(Thread.currentThread().isDaemon()));
        assertThat(get(client, "http://127.0.0.1:" + TestSupport.port(server) + "/x").statusCode()).isEqualTo(200);
        assertThat(daemon.get()).isTrue();
    }

    @Test
    void setWorkerThreadsAfterInstallResizesThePool() throws Exception {
        ForkRegistry registry = new ForkRegistry("undertow-resize");
        Recorder recorder = new Recorder(registry);
        Gate gate = new Gate();
        Undertow.Builder builder = ForksafeUndertow.install(Undertow.builder().setIoThreads(1).setWorkerThreads(2),
                registry);
        Undertow server = builder.setWorkerThreads(4).addHttpListener(0, "127.0.0.1").setHandler(gate.handler())
                .build();
        servers.add(server);
        ForksafeUndertow.start(server);
        releaseAndCheck(gate, hold(gate, TestSupport.port(server), 4));
        assertThat(recorder.count(EventType.POST_FORK, WorkerKind.THREAD)).isEqualTo(4);
        assertThat(registry.status().autoconfigureLog())
                .anyMatch(l -> l.contains("task threads resized from 2 to 4"));
        assertThat(get(client, "http://127.0.0.1:" + TestSupport.port(server) + "/x").statusCode()).isEqualTo(200);
    }
}
