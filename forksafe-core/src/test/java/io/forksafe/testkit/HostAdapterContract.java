package io.forksafe.testkit;

import static org.assertj.core.api.Assertions.assertThat;

import io.forksafe.ForkEvent;
import io.forksafe.ForkRegistry;
import io.forksafe.ForksafeStatus;
import io.forksafe.PostFork;
import io.forksafe.PostForkParent;
import io.forksafe.PreFork;
import io.forksafe.WorkerExit;
import io.forksafe.WorkerKind;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.channels.ServerSocketChannel;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;

import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/**
 * The contract every host adapter passes against its real host, on 127.0.0.1 (forksafe-core's test-jar). An adapter's
 * test extends it and says how to start its host; the tests are then the same for every adapter: thread events
 * exact and ordered, failure isolation, the adapter's status, and serving an inherited listening socket.
 *
 * <pre>{@code
 * class MyHostContractTest extends HostAdapterContract {
 *     protected RunningHost start(ForkRegistry registry, ServerSocketChannel inherited) throws Exception {
 *         MyServer s = MyForksafe.install(new MyServer(...), registry);   // its worker threads: a hooked pool
 *         s.handle("/", request -> handleContractRequest());             // every request goes through here
 *         ...
 *     }
 *     protected String statusSection() { return "myhost"; }
 * }
 * }</pre>
 */
public abstract class HostAdapterContract {

    /** How long any wait in the contract may take. */
    protected static final Duration TIMEOUT = Duration.ofSeconds(20);

    /** A started host. {@link #close()} stops it (gracefully) and returns when it has stopped. */
    protected interface RunningHost extends AutoCloseable {
        /** The port it serves on 127.0.0.1 (with an inherited socket: that socket's port). */
        int port();

        @Override
        void close() throws Exception;
    }

    /**
     * Starts the host with its forksafe adapter installed on {@code registry}, serving {@code GET /} on its worker
     * threads through {@link #handleContractRequest()}. With {@code inherited} (an already bound, listening socket,
     * as the arbiter passes one), it serves that socket instead of binding its own; without, it binds an ephemeral
     * port on 127.0.0.1. Its pool must be able to run at least {@value #CONCURRENT} requests at once.
     */
    protected abstract RunningHost start(ForkRegistry registry, ServerSocketChannel inherited) throws Exception;

    /** The key of the adapter's section in {@code status().details()}, for example "jetty". */
    protected abstract String statusSection();

    /** Whether the host can serve an inherited socket; if not, say why in {@link #whyNoInheritedSocket()}. */
    protected boolean servesInheritedSockets() {
        return true;
    }

    protected String whyNoInheritedSocket() {
        return "";
    }

    /**
     * Whether the adapter counts requests for the arbiter's recycling ({@link io.forksafe.spi.RequestTracker}): every
     * adapter whose server can run as an arbiter worker must.
     */
    protected boolean countsRequests() {
        return true;
    }

    /** Requests held in the handler at once, forcing the pool to run that many worker threads. */
    protected static final int CONCURRENT = 6;

    private final List<String> handlerThreads = new CopyOnWriteArrayList<>();
    private volatile CountDownLatch arrived = new CountDownLatch(0);
    private volatile CountDownLatch release = new CountDownLatch(0);

    /** The handler of {@code GET /}: records the thread, waits while a test holds requests, answers "ok". */
    protected final String handleContractRequest() throws InterruptedException {
        handlerThreads.add(Thread.currentThread().getName());
        arrived.countDown();
        release.await(TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
        return "ok";
    }

    /** One event as a hook saw it: the event, the thread the hook ran on, and the order in which it ran. */
    private record Seen(ForkEvent event, String hookThread, int order) {
    }

    private static final class Recorder {
        final List<Seen> seen = new CopyOnWriteArrayList<>();
        private final java.util.concurrent.atomic.AtomicInteger next = new java.util.concurrent.atomic.AtomicInteger();

        Recorder(ForkRegistry registry) {
            registry.subscribe(ForkEvent.class, "contract.recorder", 0,
                    e -> seen.add(new Seen(e, Thread.currentThread().getName(), next.getAndIncrement())));
        }

        List<Seen> threadEvents(Class<? extends ForkEvent> type) {
            return seen.stream().filter(s -> type.isInstance(s.event()) && s.event().worker().kind() == WorkerKind.THREAD)
                    .toList();
        }
    }

    @Test
    void everyWorkerThreadHasExactlyOneOfEachEventInOrderOnTheRightThread() throws Exception {
        ForkRegistry registry = new ForkRegistry("contract-threads");
        Recorder rec = new Recorder(registry);
        try (RunningHost host = start(registry, null)) {
            holdConcurrentRequests(host.port());
        }
        List<Seen> preForks = rec.threadEvents(PreFork.class);
        List<Seen> parents = rec.threadEvents(PostForkParent.class);
        List<Seen> postForks = rec.threadEvents(PostFork.class);
        List<Seen> exits = rec.threadEvents(WorkerExit.class);
        Set<String> threads = new HashSet<>();
        postForks.forEach(s -> threads.add(s.event().worker().name()));
        assertThat(threads).as("the handler's threads are hooked worker threads").containsAll(handlerThreads)
                .hasSizeGreaterThanOrEqualTo(CONCURRENT);
        for (List<Seen> each : List.of(preForks, parents, postForks, exits)) {
            assertThat(each).as("exactly one per thread").hasSize(threads.size());
            assertThat(each).extracting(s -> s.event().worker().name()).containsExactlyInAnyOrderElementsOf(threads);
        }
        Map<String, Seen> firstOnThread = new HashMap<>();
        Map<String, Seen> lastOnThread = new HashMap<>();
        for (Seen s : rec.seen) {
            firstOnThread.putIfAbsent(s.hookThread(), s);
            lastOnThread.put(s.hookThread(), s);
        }
        for (String t : threads) {
            Seen pre = only(preForks, t);
            Seen parent = only(parents, t);
            Seen post = only(postForks, t);
            Seen exit = only(exits, t);
            assertThat(pre.hookThread()).as("PreFork of %s runs on the creating thread", t).isNotEqualTo(t);
            assertThat(parent.hookThread()).as("PostForkParent of %s runs on the creating thread", t).isNotEqualTo(t);
            assertThat(post.hookThread()).as("PostFork of %s runs on it", t).isEqualTo(t);
            assertThat(exit.hookThread()).as("WorkerExit of %s runs on it", t).isEqualTo(t);
            assertThat(pre.order()).isLessThan(post.order());
            assertThat(post.order()).isLessThan(exit.order());
            assertThat(firstOnThread.get(t)).as("PostFork is the first event on %s", t).isSameAs(post);
            assertThat(lastOnThread.get(t)).as("WorkerExit is the last event on %s", t).isSameAs(exit);
        }
        // slots: no two threads alive at once hold the same slot (here all were alive together)
        Set<Integer> slots = new HashSet<>();
        postForks.forEach(s -> slots.add(s.event().worker().slot()));
        assertThat(slots).hasSameSizeAs(threads).allSatisfy(slot -> assertThat(slot).isPositive());
    }

    @Test
    void aFailingSubscriberNeverStopsTheOthersAndShowsInTheStatus() throws Exception {
        ForkRegistry registry = new ForkRegistry("contract-isolation");
        List<String> counted = new CopyOnWriteArrayList<>();
        registry.subscribe(PostFork.class, "contract.failing", 0, e -> {
            throw new IllegalStateException("fails on purpose");
        });
        registry.subscribe(PostFork.class, "contract.counting", 1, e -> counted.add(e.worker().name()));
        try (RunningHost host = start(registry, null)) {
            assertThat(get(host.port())).isEqualTo("ok");
            await("the counting hook ran on the worker thread", () -> counted.containsAll(handlerThreads));
            ForksafeStatus status = registry.status();
            ForksafeStatus.HookExecution failing = hook(status, "contract.failing");
            assertThat(failing.failures()).isPositive().isEqualTo(failing.count());
            assertThat(failing.lastError()).contains("fails on purpose");
            ForksafeStatus.HookExecution counting = hook(status, "contract.counting");
            assertThat(counting.count()).isEqualTo(failing.count());
            assertThat(counting.failures()).isZero();
        }
    }

    @Test
    void theAdapterReportsItselfInTheStatus() throws Exception {
        ForkRegistry registry = new ForkRegistry("contract-status");
        try (RunningHost host = start(registry, null)) {
            assertThat(get(host.port())).isEqualTo("ok");
            ForksafeStatus status = registry.status();
            assertThat(status.isError()).as("status %s, errors %s", status.status(), status.errors()).isFalse();
            assertThat(status.details()).containsKey(statusSection());
            assertThat(status.toJson()).contains("\"" + statusSection() + "\"");
            assertThat(status.dump()).contains(statusSection());
        }
    }

    @Test
    void anInheritedListeningSocketIsServed() throws Exception {
        Assumptions.assumeTrue(servesInheritedSockets(), this::whyNoInheritedSocket);
        ForkRegistry registry = new ForkRegistry("contract-inherited");
        try (ServerSocketChannel inherited = ServerSocketChannel.open()) {
            inherited.bind(new InetSocketAddress("127.0.0.1", 0));
            int port = ((InetSocketAddress) inherited.getLocalAddress()).getPort();
            try (RunningHost host = start(registry, inherited)) {
                assertThat(host.port()).isEqualTo(port);
                for (int i = 0; i < 3; i++) {
                    assertThat(get(port)).isEqualTo("ok");
                }
                assertThat(handlerThreads).as("served by the host's hooked worker threads").hasSize(3);
                assertThat(registry.status().isError()).as("%s", registry.status().errors()).isFalse();
            }
        }
    }

    @Test
    void requestsAreCountedOnlyWhenAHostAskedAndTheLimitIsReportedOnce() throws Exception {
        Assumptions.assumeTrue(countsRequests(), "this host cannot run as an arbiter worker (" + whyNoInheritedSocket()
                + "), so nothing recycles it");
        ForkRegistry plain = new ForkRegistry("contract-no-tracking");
        try (RunningHost host = start(plain, null)) {
            assertThat(get(host.port())).isEqualTo("ok");
            assertThat(io.forksafe.spi.RequestTracker.of(plain).installers()).as("nothing installed unasked").isEmpty();
            assertThat(io.forksafe.spi.RequestTracker.of(plain).served()).isZero();
        }
        ForkRegistry registry = new ForkRegistry("contract-tracking");
        io.forksafe.spi.RequestTracker tracker = io.forksafe.spi.RequestTracker.of(registry);
        List<Long> reported = new CopyOnWriteArrayList<>();
        tracker.enable(5, true, reported::add); // as the arbiter's worker does before the application's main
        try (RunningHost host = start(registry, null)) {
            for (int i = 0; i < 7; i++) {
                assertThat(get(host.port())).isEqualTo("ok");
            }
            await("7 requests counted", () -> tracker.served() >= 7);
            assertThat(tracker.installers()).as("the adapter installed its counter").hasSize(1);
            assertThat(reported).as("the limit, reported once").containsExactly(5L);

            arrived = new CountDownLatch(1);
            release = new CountDownLatch(1);
            ExecutorService client = Executors.newSingleThreadExecutor();
            try {
                Future<String> held = client.submit(() -> get(host.port()));
                assertThat(arrived.await(TIMEOUT.toMillis(), TimeUnit.MILLISECONDS)).isTrue();
                await("the held request is in flight", () -> tracker.oldestInFlight() != null);
                // the thread it started on: the handler's, or an I/O thread that dispatched it (Undertow)
                assertThat(tracker.oldestInFlight().thread()).isNotBlank();
                release.countDown();
                assertThat(held.get(TIMEOUT.toMillis(), TimeUnit.MILLISECONDS)).isEqualTo("ok");
                await("the held request ended", () -> tracker.oldestInFlight() == null);
                await("and was counted", () -> tracker.served() >= 8);
            } finally {
                release.countDown();
                client.shutdownNow();
            }
            assertThat(tracker.served()).isEqualTo(8);
        }
    }

    // ------------------------------------------------------------------ helpers

    private void holdConcurrentRequests(int port) throws Exception {
        arrived = new CountDownLatch(CONCURRENT);
        release = new CountDownLatch(1);
        ExecutorService clients = Executors.newFixedThreadPool(CONCURRENT);
        try {
            List<Future<String>> replies = new ArrayList<>();
            for (int i = 0; i < CONCURRENT; i++) {
                replies.add(clients.submit(() -> get(port)));
            }
            assertThat(arrived.await(TIMEOUT.toMillis(), TimeUnit.MILLISECONDS))
                    .as(CONCURRENT + " requests held in the handler at once").isTrue();
            release.countDown();
            for (Future<String> r : replies) {
                assertThat(r.get(TIMEOUT.toMillis(), TimeUnit.MILLISECONDS)).isEqualTo("ok");
            }
        } finally {
            release.countDown();
            clients.shutdownNow();
        }
    }

    private static ForksafeStatus.HookExecution hook(ForksafeStatus status, String subscriber) {
        return status.executedHooks().stream().filter(h -> h.subscriber().equals(subscriber)
                && h.event().equals("PostFork")).findFirst().orElseThrow(() -> new AssertionError(
                        "no PostFork runs of " + subscriber + " in the status: " + status.executedHooks()));
    }

    private static Seen only(List<Seen> list, String worker) {
        List<Seen> of = list.stream().filter(s -> s.event().worker().name().equals(worker)).toList();
        assertThat(of).as("events for %s", worker).hasSize(1);
        return of.get(0);
    }

    /** GET / over a fresh connection; the body. */
    protected static String get(int port) throws IOException {
        try (Socket s = new Socket()) {
            s.connect(new InetSocketAddress("127.0.0.1", port), 2000);
            s.setSoTimeout((int) TIMEOUT.toMillis());
            s.getOutputStream().write("GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
                    .getBytes(StandardCharsets.US_ASCII));
            ByteArrayOutputStream all = new ByteArrayOutputStream();
            s.getInputStream().transferTo(all);
            String r = all.toString(StandardCharsets.UTF_8);
            if (!r.startsWith("HTTP/1.1 200")) {
                throw new IOException("not a 200 response: " + r);
            }
            String body = r.substring(r.indexOf("\r\n\r\n") + 4);
            if (r.toLowerCase(java.util.Locale.ROOT).contains("transfer-encoding: chunked")) {
                int eol = body.indexOf("\r\n");
                int size = Integer.parseInt(body.substring(0, eol).strip(), 16);
                body = body.substring(eol + 2, eol + 2 + size);
            }
            return body.strip();
        }
    }

    /** Waits, bounded by {@link #TIMEOUT}, until {@code condition} holds. */
    protected static void await(String what, BooleanSupplier condition) throws InterruptedException {
        long deadline = System.nanoTime() + TIMEOUT.toNanos();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("timed out after " + TIMEOUT.toSeconds() + " s waiting for " + what);
            }
            Thread.sleep(10);
        }
    }
}
