package io.forksafe.undertow;

import io.forksafe.EventType;
import io.forksafe.ForkRegistry;
import io.forksafe.ForksafeStatus;
import io.forksafe.WorkerKind;
import io.undertow.Undertow;
import io.undertow.server.handlers.BlockingHandler;
import org.junit.jupiter.api.Test;
import org.xnio.OptionMap;
import org.xnio.Xnio;
import org.xnio.XnioWorker;

import java.net.http.HttpClient;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;

import static io.forksafe.undertow.TestSupport.await;
import static io.forksafe.undertow.TestSupport.get;
import static io.forksafe.undertow.TestSupport.getAsync;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Stop leaves no thread behind; every misuse gets an exception, a status error and a log line naming the fix. */
class LifecycleAndMisconfigurationTest {

    private final HttpClient client = TestSupport.client();

    /** Live threads that did not exist in {@code before}, ignoring the HTTP client's own threads. */
    private static List<String> newThreads(Set<Long> before) {
        return Thread.getAllStackTraces().keySet().stream()
                .filter(Thread::isAlive)
                .filter(t -> !before.contains(t.getId()))
                .filter(t -> !t.getName().startsWith("HttpClient-"))
                .map(Thread::getName)
                .sorted()
                .collect(Collectors.toList());
    }

    private static Set<Long> liveThreadIds() {
        return Thread.getAllStackTraces().keySet().stream().filter(Thread::isAlive).map(Thread::getId)
                .collect(Collectors.toSet());
    }

    private Undertow runLoad(ForkRegistry registry) throws Exception {
        Undertow server = ForksafeUndertow.install(Undertow.builder().setIoThreads(2).setWorkerThreads(8), registry)
                .addHttpListener(0, "127.0.0.1")
                .setHandler(new BlockingHandler(ex -> {
                    Thread.sleep(5);
                    ex.getResponseSender().send("ok");
                }))
                .build();
        ForksafeUndertow.start(server);
        int port = TestSupport.port(server);
        List<CompletableFuture<?>> load = new ArrayList<>();
        for (int i = 0; i < 64; i++) {
            load.add(getAsync(client, "http://127.0.0.1:" + port + "/"));
        }
        for (CompletableFuture<?> f : load) {
            f.get(20, TimeUnit.SECONDS);
        }
        return server;
    }

    @Test
    void noThreadLeaksAfterStopWhilePlainServerStopWouldLeakThem() throws Exception {
        ForkRegistry registry = new ForkRegistry("undertow-leak");
        TestSupport.Recorder recorder = new TestSupport.Recorder(registry);
        Set<Long> before = liveThreadIds();

        // Control: Undertow's own stop() leaves the supplied worker's threads running.
        Undertow first = runLoad(registry);
        first.stop();
        Thread.sleep(200);
        List<String> leftByPlainStop = newThreads(before);
        assertThat(leftByPlainStop).anyMatch(n -> n.contains("I/O-1")).anyMatch(n -> n.contains(" task-"));
        ForksafeUndertow.stop(first); // cleans up what server.stop() left
        await("threads of the first server to end", () -> newThreads(before).isEmpty());

        Undertow second = runLoad(registry);
        long created = recorder.count(EventType.POST_FORK, WorkerKind.THREAD);
        assertThat(newThreads(before)).hasSizeGreaterThanOrEqualTo(2 + 1); // I/O threads, accept thread, tasks
        ForksafeUndertow.stop(second);
        // stop() returns after every task thread published WorkerExit; XNIO's I/O threads end right after.
        assertThat(recorder.count(EventType.WORKER_EXIT, WorkerKind.THREAD)).isEqualTo(created);
        await("no forksafe or XNIO thread alive after stop: " + newThreads(before),
                () -> newThreads(before).isEmpty());
        assertThat(ForksafeUndertow.isInstalled(second)).isFalse();
        ForksafeUndertow.stop(second); // a second stop is harmless
        assertThat(registry.status().errors()).isEmpty();
        @SuppressWarnings("unchecked")
        List<Map<String, Object>> servers = (List<Map<String, Object>>) ((Map<String, Object>) registry.status()
                .details().get("undertow")).get("servers");
        assertThat(servers).extracting(s -> s.get("state")).containsExactly("stopped", "stopped");
    }

    @Test
    void aHandlerMayStopItsOwnServer() throws Exception {
        ForkRegistry registry = new ForkRegistry("undertow-self-stop");
        TestSupport.Recorder recorder = new TestSupport.Recorder(registry);
        java.util.concurrent.atomic.AtomicLong stopMillis = new java.util.concurrent.atomic.AtomicLong(-1);
        Undertow[] self = new Undertow[1];
        self[0] = ForksafeUndertow.install(Undertow.builder().setIoThreads(1).setWorkerThreads(2), registry)
                .addHttpListener(0, "127.0.0.1")
                .setHandler(new BlockingHandler(ex -> {
                    long t0 = System.nanoTime();
                    ForksafeUndertow.stop(self[0]); // on one of the pool's own threads
                    stopMillis.set(TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0));
                }))
                .build();
        ForksafeUndertow.start(self[0]);
        try {
            get(client, "http://127.0.0.1:" + TestSupport.port(self[0]) + "/stop");
        } catch (java.io.IOException expected) {
            // the server went away under the request
        }
        await("the handler's stop() to return", () -> stopMillis.get() >= 0);
        assertThat(stopMillis.get()).as("stop() from a pool thread must not wait for itself").isLessThan(10_000);
        await("every task thread's WorkerExit", () -> recorder.count(EventType.WORKER_EXIT, WorkerKind.THREAD)
                == recorder.count(EventType.POST_FORK, WorkerKind.THREAD));
        assertThat(ForksafeUndertow.isInstalled(self[0])).isFalse();
    }

    @Test
    void startedWithPlainServerStartIsReportedOnTheFirstRequest() throws Exception {
        ForkRegistry registry = new ForkRegistry("undertow-plain-start");
        Undertow server = ForksafeUndertow.install(Undertow.builder().setIoThreads(1).setWorkerThreads(2), registry)
                .addHttpListener(0, "127.0.0.1")
                .setHandler(new BlockingHandler(ex -> ex.getResponseSender().send("served")))
                .build();
        server.start(); // the mistake: Undertow's own start
        try {
            assertThat(get(client, "http://127.0.0.1:" + TestSupport.port(server) + "/").body()).isEqualTo("served");
            assertReported(registry, "was started with server.start(): no PostWorkerInit was published");
            assertThat(registry.status().status()).contains("use ForksafeUndertow.start(server) and "
                    + "ForksafeUndertow.stop(server)");
        } finally {
            ForksafeUndertow.stop(server);
        }
    }

    @Test
    void aTaskThatThrowsGoesToTheUncaughtHandlerAndItsThreadLivesOn() throws Exception {
        ForkRegistry registry = new ForkRegistry("undertow-task-throws");
        TestSupport.Recorder recorder = new TestSupport.Recorder(registry);
        Undertow server = ForksafeUndertow.install(Undertow.builder().setIoThreads(1).setWorkerThreads(1), registry)
                .addHttpListener(0, "127.0.0.1").setHandler(ex -> ex.getResponseSender().send("x")).build();
        ForksafeUndertow.start(server);
        try {
            Thread.UncaughtExceptionHandler previous = Thread.getDefaultUncaughtExceptionHandler();
            List<String> uncaught = java.util.Collections.synchronizedList(new ArrayList<>());
            Thread.setDefaultUncaughtExceptionHandler((t, e) -> uncaught.add(t.getName() + ": " + e.getMessage()));
            try {
                long[] failedOn = new long[1];
                server.getWorker().execute(() -> {
                    failedOn[0] = Thread.currentThread().getId();
                    throw new IllegalStateException("task failed on purpose");
                });
                await("the failure at the uncaught-exception handler", () -> uncaught.size() == 1);
                assertThat(uncaught.get(0)).endsWith(": task failed on purpose");
                CompletableFuture<Long> next = new CompletableFuture<>();
                server.getWorker().execute(() -> next.complete(Thread.currentThread().getId()));
                // One task thread: the next task runs on the very thread whose task failed, which never exited.
                assertThat(next.get(20, TimeUnit.SECONDS)).isEqualTo(failedOn[0]);
                assertThat(recorder.count(EventType.POST_FORK, WorkerKind.THREAD)).isEqualTo(1);
                assertThat(recorder.count(EventType.WORKER_EXIT, WorkerKind.THREAD)).isZero();
            } finally {
                Thread.setDefaultUncaughtExceptionHandler(previous);
            }
        } finally {
            ForksafeUndertow.stop(server);
        }
        assertThat(recorder.count(EventType.WORKER_EXIT, WorkerKind.THREAD)).isEqualTo(1);
        assertThat(((io.forksafe.WorkerExit) recorder.of(EventType.WORKER_EXIT, WorkerKind.THREAD).get(0).event())
                .reason()).isEqualTo("server stopping");
    }

    private static void assertReported(ForkRegistry registry, String fragment) {
        ForksafeStatus status = registry.status();
        assertThat(status.isError()).isTrue();
        assertThat(status.status()).startsWith("Undertow error: ").contains(fragment);
        assertThat(status.errors()).anyMatch(e -> e.contains(fragment));
        assertThat(status.autoconfigureLog()).anyMatch(l -> l.startsWith("Undertow error: ") && l.contains(fragment));
    }

    @Test
    void installOnABuilderThatAlreadyHasAWorker() throws Exception {
        ForkRegistry registry = new ForkRegistry("undertow-foreign-worker");
        XnioWorker own = Xnio.getInstance().createWorker(OptionMap.EMPTY);
        try {
            Undertow.Builder builder = Undertow.builder().setWorker(own);
            assertThatThrownBy(() -> ForksafeUndertow.install(builder, registry))
                    .isInstanceOf(IllegalStateException.class)
                    .hasMessageContaining("already has an XnioWorker (" + own.getName())
                    .hasMessageContaining("remove setWorker(...)");
            assertReported(registry, "already has an XnioWorker");
        } finally {
            own.shutdown();
            own.awaitTermination(10, TimeUnit.SECONDS);
        }
    }

    @Test
    void installTwiceOnTheSameBuilder() {
        ForkRegistry registry = new ForkRegistry("undertow-twice");
        Undertow.Builder builder = ForksafeUndertow.install(Undertow.builder().setIoThreads(1), registry);
        assertThatThrownBy(() -> ForksafeUndertow.install(builder, registry))
                .isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("install was called twice on the same Undertow.Builder")
                .hasMessageContaining("call install(builder) once per builder");
        assertReported(registry, "called twice");
        ForksafeUndertow.stop(builder.build()); // never started: releases the worker install created
    }

    @Test
    void installAfterBuild() {
        ForkRegistry registry = new ForkRegistry("undertow-after-build");
        Undertow.Builder builder = Undertow.builder().setIoThreads(1).addHttpListener(0, "127.0.0.1")
                .setHandler(ex -> ex.getResponseSender().send("x"));
        Undertow builtTooEarly = builder.build();
        ForksafeUndertow.install(builder, registry);
        try {
            assertThatThrownBy(() -> ForksafeUndertow.start(builtTooEarly))
                    .isInstanceOf(IllegalStateException.class)
                    .hasMessageContaining("built before ForksafeUndertow.install(builder) was called")
                    .hasMessageContaining("call install(builder) before builder.build()");
            // The error goes to the global registry, since the server cannot say which one it belongs to.
            assertThat(io.forksafe.Forksafe.registry().status().errors())
                    .anyMatch(e -> e.contains("install(builder) before builder.build()"));
        } finally {
            ForksafeUndertow.stop(builder.build());
        }
    }

    @Test
    void startTwiceAndStopOfAServerForksafeNeverSaw() throws Exception {
        ForkRegistry registry = new ForkRegistry("undertow-start-twice");
        Undertow server = ForksafeUndertow.install(Undertow.builder().setIoThreads(1), registry)
                .addHttpListener(0, "127.0.0.1").setHandler(ex -> ex.getResponseSender().send("x")).build();
        ForksafeUndertow.start(server);
        try {
            assertThatThrownBy(() -> ForksafeUndertow.start(server))
                    .hasMessageContaining("already started")
                    .hasMessageContaining("start each installed server once");
            assertReported(registry, "already started");
            assertThat(get(client, "http://127.0.0.1:" + TestSupport.port(server) + "/").statusCode()).isEqualTo(200);
        } finally {
            ForksafeUndertow.stop(server);
        }
        Undertow plain = Undertow.builder().build();
        assertThatThrownBy(() -> ForksafeUndertow.stop(plain))
                .hasMessageContaining("has no forksafe worker");
    }
}
