package io.forksafe.jetty;

import io.forksafe.spi.HostContext;
import io.forksafe.ForkRegistry;
import io.forksafe.PostFork;
import io.forksafe.PostForkParent;
import io.forksafe.PostWorkerInit;
import io.forksafe.PreFork;
import io.forksafe.WorkerExit;
import io.forksafe.WorkerInfo;
import io.forksafe.WorkerKind;
import io.forksafe.jetty.JettyTestSupport.Recorder;
import io.forksafe.jetty.JettyTestSupport.Seen;

import org.eclipse.jetty.server.Handler;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.util.Callback;
import org.eclipse.jetty.util.thread.QueuedThreadPool;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
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
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Collectors;

import static io.forksafe.jetty.JettyTestSupport.await;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * A real Jetty on 127.0.0.1 driven by concurrent HTTP requests: the number of PreFork, PostFork, PostForkParent and
 * WorkerExit events must match, exactly, the threads the pool created and retired, as counted independently by
 * sampling the JVM's live threads by Jetty's thread names.
 */
class ThreadEventsTest {

    private static final String POOL_NAME = "fs-load";

    private Server server;
    private final ThreadSampler sampler = new ThreadSampler(POOL_NAME + "-");

    @AfterEach
    void tearDown() throws Exception {
        sampler.stop();
        if (server != null) {
            server.stop();
        }
    }

    @Test
    void exactThreadEventsUnderConcurrentLoadIncludingIdleTimeoutRetirement() throws Exception {
        ForkRegistry registry = new ForkRegistry("threads");
        Recorder rec = new Recorder(registry);
        ForksafeThreadPool pool = ForksafeJetty.threadPool(registry, 48, 4, 400);
        pool.setName(POOL_NAME);
        pool.setDaemon(true);
        pool.setThreadsPriority(7);
        pool.setMaxEvictCount(48);
        server = new Server(pool);
        JettyTestSupport.loopbackConnector(server);
        BlockingHandler handler = new BlockingHandler();
        server.setHandler(handler);
        ForksafeJetty.install(server, registry);
        sampler.start();
        server.start();

        HttpClient client = JettyTestSupport.client();

        // Burst 1: 24 requests held inside the handler at once force the pool to grow.
        burst(client, handler, 24);
        int peak = pool.getThreads();
        Set<String> postForkNames = names(rec.threadEvents(PostFork.class));
        assertThat(peak).isGreaterThanOrEqualTo(24);
        assertThat(handler.threadNames).allSatisfy(n -> assertThat(postForkNames).contains(n));

        // Idle-timeout retirement back to minThreads.
        await("idle eviction down to minThreads", () -> pool.getThreads() == pool.getMinThreads(),
                () -> pool.toString());
        await("WorkerExit for every retired thread",
                () -> rec.threadEvents(WorkerExit.class).size() == rec.threadEvents(PostFork.class).size()
                        - pool.getThreads());
        List<Seen> exits = rec.threadEvents(WorkerExit.class);
        assertThat(exits).hasSizeGreaterThanOrEqualTo(peak - pool.getMinThreads());
        assertThat(exits).extracting(Seen::reason).containsOnly("idle timeout");
        Set<String> expectedLive = new HashSet<>(names(rec.threadEvents(PostFork.class)));
        expectedLive.removeAll(names(exits));
        assertThat(expectedLive).hasSize(pool.getThreads());
        // A thread that published WorkerExit may take a moment to terminate.
        await("live pool threads = PostFork minus WorkerExit", () -> sampler.liveNow().equals(expectedLive),
                () -> sampler.liveNow() + " vs " + expectedLive);

        // Burst 2: the pool grows again; freed slots are reused with a higher generation.
        burst(client, handler, 16);
        List<Seen> secondWave = rec.threadEvents(PostFork.class).subList(postForkNames.size(),
                rec.threadEvents(PostFork.class).size());
        assertThat(secondWave).isNotEmpty();
        assertThat(secondWave).anySatisfy(s -> assertThat(s.event().worker().generation()).isGreaterThan(0));
        Set<Integer> liveSlots = new HashSet<>();
        Set<String> exitedIds = rec.threadEvents(WorkerExit.class).stream()
                .map(s -> s.event().worker().identity()).collect(Collectors.toSet());
        for (Seen s : rec.threadEvents(PostFork.class)) {
            if (!exitedIds.contains(s.event().worker().identity())) {
                assertThat(liveSlots.add(s.event().worker().slot())).as("slot %s held twice", s.event().worker())
                        .isTrue();
            }
        }

        // The independent count, at a quiet point: every thread the sampler saw alive with Jetty's names had
        // exactly one PostFork, and every PostFork was for such a thread.
        await("PostFork on every created thread",
                () -> rec.threadEvents(PostFork.class).size() == pool.threadsCreated());
        Set<String> postForkedBeforeStop = names(rec.threadEvents(PostFork.class));
        await("sampler saw every thread", () -> sampler.everSeen().containsAll(postForkedBeforeStop));
        assertThat(sampler.everSeen()).isEqualTo(postForkedBeforeStop);
        assertThat(rec.threadEvents(PostFork.class)).hasSize(postForkedBeforeStop.size());

        server.stop();
        await("WorkerExit for every thread after stop",
                () -> rec.threadEvents(WorkerExit.class).size() == rec.threadEvents(PostFork.class).size());
        await("no pool thread alive", () -> sampler.liveNow().isEmpty(), () -> sampler.liveNow().toString());
        sampler.stop();

        List<Seen> preForks = rec.threadEvents(PreFork.class);
        List<Seen> postForks = rec.threadEvents(PostFork.class);
        List<Seen> parents = rec.threadEvents(PostForkParent.class);
        List<Seen> allExits = rec.threadEvents(WorkerExit.class);

        // Stopping may start a last short-lived thread, too brief to sample: from here the events are compared
        // with each other and with the pool's own count.
        Set<String> created = names(postForks);
        assertThat(created).hasSizeGreaterThanOrEqualTo(peak).containsAll(sampler.everSeen());
        assertThat(names(preForks)).isEqualTo(created);
        assertThat(names(parents)).isEqualTo(created);
        assertThat(names(allExits)).isEqualTo(created);
        // Exactly once per thread.
        for (List<Seen> list : List.of(preForks, postForks, parents, allExits)) {
            assertThat(list).hasSize(created.size());
        }
        assertThat(pool.threadsCreated()).isEqualTo(created.size());
        assertThat(pool.threadsRetired()).isEqualTo(created.size());
        assertThat(allExits).extracting(Seen::reason).containsOnly("idle timeout", "pool stopping");
        assertThat(allExits).extracting(Seen::reason).contains("pool stopping");

        // Where each event ran, and Jetty's thread settings kept.
        Map<String, Integer> order = new HashMap<>();
        for (int i = 0; i < rec.seen.size(); i++) {
            Seen s = rec.seen.get(i);
            order.putIfAbsent(s.event().type() + "/" + s.worker(), i);
        }
        for (Seen s : postForks) {
            assertThat(s.hookThread()).as("PostFork runs on the new thread").isEqualTo(s.worker());
            assertThat(s.worker()).startsWith(POOL_NAME + "-");
            assertThat(s.daemon()).isTrue();
            assertThat(s.priority()).isEqualTo(7);
            assertThat(s.contextLoader()).isSameAs(QueuedThreadPool.class.getClassLoader());
            assertThat(s.event().worker().kind()).isEqualTo(WorkerKind.THREAD);
            assertThat(s.event().worker().pid()).isEqualTo(ProcessHandle.current().pid());
            assertThat(s.event().container().name()).isEqualTo("jetty");
            assertThat(s.event().container().version()).isEqualTo("12.1.14");
            assertThat(order.get("PRE_FORK/" + s.worker())).isLessThan(order.get("POST_FORK/" + s.worker()));
        }
        for (Seen s : preForks) {
            assertThat(s.hookThread()).as("PreFork runs on the creating thread").isNotEqualTo(s.worker());
        }
        for (Seen s : parents) {
            assertThat(s.hookThread()).as("PostForkParent runs on the creating thread").isNotEqualTo(s.worker());
        }
        for (Seen s : allExits) {
            assertThat(s.hookThread()).as("WorkerExit runs on the ending thread").isEqualTo(s.worker());
        }

        // Process level: exactly one PostWorkerInit and one process WorkerExit, for registry.processWorker().
        assertThat(rec.of(PostWorkerInit.class)).hasSize(1);
        assertThat(rec.of(PostWorkerInit.class).get(0).event().worker()).isEqualTo(registry.processWorker());
        List<Seen> processExits = rec.of(WorkerExit.class).stream()
                .filter(s -> s.event().worker().kind() == WorkerKind.PROCESS).toList();
        assertThat(processExits).hasSize(1);
        assertThat(processExits.get(0).reason()).isEqualTo("server stopping");
        assertThat(registry.status().status()).isEqualTo("Jetty hook configured");
        assertThat(registry.status().isError()).isFalse();
    }

    /**
     * Jetty's stop joins only the threads still in its set; a thread leaves that set when its runner returns, before
     * the WorkerExit hooks that follow on the same thread. A thread retiring on idle timeout while stop() runs is such
     * a thread: stop() must still return only once its WorkerExit hooks are done (here they take 1 s).
     */
    @Test
    void stopReturnsOnlyAfterEveryThreadsWorkerExitHooksFinished() throws Exception {
        ForkRegistry registry = new ForkRegistry("stop-waits");
        AtomicInteger entered = new AtomicInteger();
        AtomicInteger tornDown = new AtomicInteger();
        CountDownLatch firstRetirement = new CountDownLatch(1);
        registry.subscribe(WorkerExit.class, "slow-teardown", 0, e -> {
            if (e.worker().kind() == WorkerKind.THREAD) {
                if (entered.incrementAndGet() == 1) {
                    firstRetirement.countDown();
                    Thread.sleep(1000); // the idle retiree's tear-down outlasts everything stop() itself waits for
                }
                tornDown.incrementAndGet();
            }
        });
        ForksafeThreadPool pool = ForksafeJetty.threadPool(registry, 8, 1, 100);
        pool.setName("fs-stop");
        pool.start();
        CountDownLatch allBusy = new CountDownLatch(4);
        CountDownLatch release = new CountDownLatch(1);
        for (int i = 0; i < 4; i++) {
            pool.execute(() -> {
                allBusy.countDown();
                try {
                    release.await(10, TimeUnit.SECONDS);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            });
        }
        assertThat(allBusy.await(10, TimeUnit.SECONDS)).as("4 threads busy at once").isTrue();
        release.countDown();
        assertThat(firstRetirement.await(10, TimeUnit.SECONDS)).as("a thread retiring on idle timeout").isTrue();

        pool.stop();

        assertThat(tornDown.get()).as("WorkerExit hooks finished when stop() returned (%s begun)", entered.get())
                .isEqualTo(entered.get());
        assertThat(pool.threadsRetired()).isEqualTo(pool.threadsCreated());
    }

    @Test
    void processEventsUseTheIdentityAnotherAdapterGaveTheProcess() throws Exception {
        ForkRegistry registry = new ForkRegistry("identity");
        WorkerInfo arbiterWorker = WorkerInfo.currentProcess(3, "worker-3", 2);
        HostContext.of(registry).identifyProcess(arbiterWorker);
        Recorder rec = new Recorder(registry);
        server = new Server(ForksafeJetty.threadPool(registry, 16, 2, 60_000));
        JettyTestSupport.loopbackConnector(server);
        ForksafeJetty.install(server, registry);
        server.start();
        server.stop();
        assertThat(rec.of(PostWorkerInit.class)).extracting(s -> s.event().worker()).containsExactly(arbiterWorker);
        assertThat(rec.of(WorkerExit.class).stream().filter(s -> s.event().worker().kind() == WorkerKind.PROCESS))
                .extracting(s -> s.event().worker()).containsExactly(arbiterWorker);
    }

    @Test
    void threadsKeepJettysOwnNamingDaemonPriorityAndLoader() throws Exception {
        ForkRegistry registry = new ForkRegistry("props");
        ForksafeThreadPool hooked = ForksafeJetty.threadPool(registry, 8, 1, 60_000);
        QueuedThreadPool plain = new QueuedThreadPool(8, 1, 60_000);
        for (QueuedThreadPool p : List.of(hooked, plain)) {
            p.setName("same");
            p.setDaemon(true);
            p.setThreadsPriority(3);
        }
        Thread a = hooked.newThread(() -> { });
        Thread b = plain.newThread(() -> { });
        assertThat(a.getName()).startsWith("same-").isEqualTo("same-" + a.getId());
        assertThat(b.getName()).isEqualTo("same-" + b.getId());
        assertThat(a.isDaemon()).isEqualTo(b.isDaemon()).isTrue();
        assertThat(a.getPriority()).isEqualTo(b.getPriority()).isEqualTo(3);
        assertThat(a.getThreadGroup()).isEqualTo(b.getThreadGroup());
        assertThat(a.getContextClassLoader()).isSameAs(b.getContextClassLoader()).isNotNull();
        // Running the hooked thread publishes PostFork and WorkerExit for it, on it.
        Recorder rec = new Recorder(registry);
        a.start();
        a.join(TimeUnit.SECONDS.toMillis(10));
        assertThat(rec.threadEvents(PostFork.class)).extracting(Seen::hookThread).containsExactly(a.getName());
        assertThat(rec.threadEvents(WorkerExit.class)).extracting(Seen::hookThread).containsExactly(a.getName());
    }

    @Test
    void contextClassLoaderIsJettysEvenWhenForksafeIsLoadedByAnotherLoader() throws Exception {
        java.net.URL core = ForkRegistry.class.getProtectionDomain().getCodeSource().getLocation();
        java.net.URL jetty = ForksafeJetty.class.getProtectionDomain().getCodeSource().getLocation();
        // forksafe classes from a child loader (child first), Jetty from the application loader.
        try (java.net.URLClassLoader child = new java.net.URLClassLoader(new java.net.URL[] {core, jetty},
                getClass().getClassLoader()) {
            @Override
            protected Class<?> loadClass(String name, boolean resolve) throws ClassNotFoundException {
                synchronized (getClassLoadingLock(name)) {
                    if (name.startsWith("io.forksafe.") && !name.startsWith("io.forksafe.jetty.ThreadEventsTest")) {
                        Class<?> c = findLoadedClass(name);
                        return c != null ? c : findClass(name);
                    }
                    return super.loadClass(name, resolve);
                }
            }
        }) {
            Class<?> poolClass = child.loadClass(ForksafeThreadPool.class.getName());
            assertThat(poolClass.getClassLoader()).isSameAs(child);
            QueuedThreadPool pool = (QueuedThreadPool) poolClass.getConstructor().newInstance();
            Thread t = pool.newThread(() -> { });
            Thread plain = new QueuedThreadPool().newThread(() -> { });
            assertThat(t.getContextClassLoader()).isSameAs(plain.getContextClassLoader())
                    .isSameAs(QueuedThreadPool.class.getClassLoader()).isNotSameAs(child);
        }
    }

    private void burst(HttpClient client, BlockingHandler handler, int n) throws Exception {
        handler.arm(n);
        List<CompletableFuture<HttpResponse<String>>> responses = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            responses.add(client.sendAsync(HttpRequest.newBuilder(JettyTestSupport.uri(server, "/work?i=" + i))
                    .timeout(JettyTestSupport.TIMEOUT).build(), HttpResponse.BodyHandlers.ofString()));
        }
        await(n + " requests inside the handler at once", () -> handler.inside.get() >= n,
                () -> "inside=" + handler.inside.get());
        handler.release();
        for (CompletableFuture<HttpResponse<String>> f : responses) {
            HttpResponse<String> r = f.get(20, TimeUnit.SECONDS);
            assertThat(r.statusCode()).isEqualTo(200);
            assertThat(r.body()).isEqualTo("ok");
        }
    }

    private static Set<String> names(List<Seen> list) {
        return list.stream().map(Seen::worker).collect(Collectors.toSet());
    }

    /** Holds requests until released, so that the pool must run them on distinct threads. */
    static final class BlockingHandler extends Handler.Abstract {
        final Set<String> threadNames = ConcurrentHashMap.newKeySet();
        final AtomicInteger inside = new AtomicInteger();
        volatile CountDownLatch gate = new CountDownLatch(0);

        void arm(int n) {
            inside.set(0);
            gate = new CountDownLatch(1);
        }

        void release() {
            gate.countDown();
        }

        @Override
        public boolean handle(Request request, Response response, Callback callback) throws Exception {
            threadNames.add(Thread.currentThread().getName());
            inside.incrementAndGet();
            if (!gate.await(20, TimeUnit.SECONDS)) {
                throw new IllegalStateException("gate never opened");
            }
            response.setStatus(200);
            response.write(true, ByteBuffer.wrap("ok".getBytes(StandardCharsets.UTF_8)), callback);
            return true;
        }
    }

    /** Independent observer: samples the JVM's live threads by name every few milliseconds. */
    static final class ThreadSampler {
        private final String prefix;
        private final Set<String> everSeen = ConcurrentHashMap.newKeySet();
        private volatile boolean running;
        private Thread thread;

        ThreadSampler(String prefix) {
            this.prefix = prefix;
        }

        void start() {
            running = true;
            thread = new Thread(() -> {
                while (running) {
                    everSeen.addAll(liveNow());
                    try {
                        Thread.sleep(2);
                    } catch (InterruptedException e) {
                        return;
                    }
                }
            }, "test-thread-sampler");
            thread.setDaemon(true);
            thread.start();
        }

        Set<String> liveNow() {
            ThreadGroup root = Thread.currentThread().getThreadGroup();
            while (root.getParent() != null) {
                root = root.getParent();
            }
            Thread[] all = new Thread[root.activeCount() + 64];
            int n = root.enumerate(all, true);
            Set<String> names = new HashSet<>();
            for (int i = 0; i < n; i++) {
                // Jetty names pool threads <pool>-<thread id> and renames acceptors while they accept, so the
                // thread id gives the name the pool gave it.
                if (all[i].isAlive() && all[i].getName().startsWith(prefix)) {
                    names.add(prefix + all[i].getId());
                }
            }
            return names;
        }

        Set<String> everSeen() {
            return new HashSet<>(everSeen);
        }

        void stop() throws InterruptedException {
            running = false;
            if (thread != null) {
                thread.join(5000);
            }
        }
    }
}
