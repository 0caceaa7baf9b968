package io.forksafe;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.net.URL;
import java.net.URLClassLoader;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ForkJoinPool;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BooleanSupplier;
import java.util.stream.Collectors;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The generic hooked thread factory with the three JDK executors: a fixed pool, a scheduled pool whose core threads
 * time out, and a ForkJoinPool whose workers come and go. Events are checked per thread: which event, on which
 * thread, in which order, how many.
 */
class HookedThreadFactoryTest {

    private static final long WAIT_SECONDS = 10;

    private final ForkRegistry registry = new ForkRegistry("hooked-threads");
    private final Recorder rec = new Recorder(registry);
    private final List<ExecutorService> pools = new ArrayList<>();

    @AfterEach
    void tearDown() {
        pools.forEach(ExecutorService::shutdownNow);
    }

    @Test
    void fixedThreadPoolThreadsGetExactOrderedEventsAndKeepTheDelegatesSettings() throws Exception {
        ClassLoader loader = new URLClassLoader(new URL[0], getClass().getClassLoader());
        AtomicInteger n = new AtomicInteger();
        ThreadFactory delegate = r -> {
            Thread t = new Thread(r, "fixed-" + n.incrementAndGet());
            t.setDaemon(true);
            t.setContextClassLoader(loader);
            return t;
        };
        HookedThreadFactory threads = HookedThreadFactory.hooked(registry, "fixed", delegate);
        ExecutorService pool = track(Executors.newFixedThreadPool(3, threads));

        Map<String, String> seenInTask = new java.util.concurrent.ConcurrentHashMap<>();
        Blocker blocker = new Blocker(3);
        for (int i = 0; i < 3; i++) {
            pool.execute(() -> {
                Thread me = Thread.currentThread();
                seenInTask.put(me.getName(), me.isDaemon() + " " + (me.getContextClassLoader() == loader));
                blocker.run();
            });
        }
        blocker.awaitAllRunning();
        assertThat(seenInTask).containsOnlyKeys("fixed-1", "fixed-2", "fixed-3")
                .allSatisfy((name, settings) -> assertThat(settings).isEqualTo("true true"));
        String creator = Thread.currentThread().getName();
        for (String name : seenInTask.keySet()) {
            assertThat(rec.of(name)).extracting(Seen::type, Seen::onThread).containsExactly(
                    tuple("PreFork", creator), tuple("PostForkParent", creator), tuple("PostFork", name));
        }
        assertThat(rec.all()).extracting(s -> s.worker().slot()).containsOnly(1, 2, 3);
        assertThat(rec.all()).allSatisfy(s -> {
            assertThat(s.worker().kind()).isEqualTo(WorkerKind.THREAD);
            assertThat(s.worker().generation()).isZero();
        });

        blocker.release();
        pool.shutdown();
        assertThat(pool.awaitTermination(WAIT_SECONDS, TimeUnit.SECONDS)).isTrue();
        assertThat(threads.awaitRetired(WAIT_SECONDS * 1000)).isTrue();
        for (String name : seenInTask.keySet()) {
            assertThat(rec.of(name)).extracting(Seen::type, Seen::onThread).containsExactly(
                    tuple("PreFork", creator), tuple("PostForkParent", creator), tuple("PostFork", name),
                    tuple("WorkerExit", name));
            assertThat(rec.of(name).get(3).reason()).isEqualTo("thread ended");
        }
        assertThat(threads.counts()).isEqualTo(new io.forksafe.spi.WorkerThreads.Counts(3, 3, 0, 0, 3, 0));
    }

    @Test
    void aFailingHookAndAFailingTaskStopNoThreadAndShowInTheStatus() throws Exception {
        registry.subscribe(PostFork.class, "broken-hook", 0, e -> {
            throw new IllegalStateException("hook broke");
        });
        ThreadFactory quiet = r -> {
            Thread t = new Thread(r);
            t.setUncaughtExceptionHandler((th, e) -> { });
            return t;
        };
        HookedThreadFactory threads = HookedThreadFactory.hooked(registry, "failing", quiet);
        ExecutorService pool = track(Executors.newFixedThreadPool(1, threads));

        CountDownLatch ran = new CountDownLatch(1);
        pool.execute(() -> {
            ran.countDown();
            throw new IllegalArgumentException("task broke");
        });
        assertThat(ran.await(WAIT_SECONDS, TimeUnit.SECONDS)).as("the task ran despite the PostFork hook").isTrue();
        // The pool replaces the thread the task killed; the replacement runs the next task.
        CountDownLatch next = new CountDownLatch(1);
        pool.execute(next::countDown);
        assertThat(next.await(WAIT_SECONDS, TimeUnit.SECONDS)).isTrue();
        pool.shutdown();
        assertThat(pool.awaitTermination(WAIT_SECONDS, TimeUnit.SECONDS)).isTrue();
        assertThat(threads.awaitRetired(WAIT_SECONDS * 1000)).isTrue();

        List<Seen> exits = rec.all().stream().filter(s -> s.type().equals("WorkerExit")).toList();
        assertThat(exits).hasSize(2);
        // The two exits race (the replacement may retire at shutdown before the dying thread's WorkerExit ran):
        // told apart by their reasons, not by their order.
        assertThat(exits).extracting(Seen::reason).containsExactlyInAnyOrder(
                "failed: java.lang.IllegalArgumentException: task broke", "thread ended");
        Seen deadExit = exits.stream().filter(s -> s.reason().startsWith("failed")).findFirst().orElseThrow();
        Seen replacementExit = exits.stream().filter(s -> s.reason().equals("thread ended")).findFirst().orElseThrow();
        // The pool creates the replacement on the dying thread, before that thread's WorkerExit: a second slot.
        String dead = deadExit.worker().name();
        String replacement = replacementExit.worker().name();
        assertThat(rec.of(replacement)).extracting(Seen::type, Seen::onThread).containsExactly(
                tuple("PreFork", dead), tuple("PostForkParent", dead), tuple("PostFork", replacement),
                tuple("WorkerExit", replacement));
        assertThat(List.of(rec.of(dead).get(0).worker(), rec.of(replacement).get(0).worker()))
                .extracting(WorkerInfo::slot, WorkerInfo::generation).containsExactly(tuple(1, 0L), tuple(2, 0L));
        ForksafeStatus status = registry.status();
        assertThat(status.executedHooks()).filteredOn(h -> h.subscriber().equals("broken-hook")).singleElement()
                .satisfies(h -> {
                    assertThat(h.failures()).isEqualTo(2);
                    assertThat(h.lastError()).contains("hook broke");
                });
        assertThat(status.details()).containsKey("threads failing");
        @SuppressWarnings("unchecked")
        Map<String, Object> section = (Map<String, Object>) status.details().get("threads failing");
        assertThat(section).containsEntry("pool", "failing").containsEntry("threadsCreated", 2L)
                .containsEntry("threadsRetired", 2L).containsEntry("slotsInUse", 0);
    }

    @Test
    void scheduledPoolThreadsRetiringOnKeepAliveGiveWorkerExitAndTheirSlotsComeBackOneGenerationOn()
            throws Exception {
        HookedThreadFactory threads = HookedThreadFactory.hooked(registry, "scheduled");
        ScheduledThreadPoolExecutor pool = track(new ScheduledThreadPoolExecutor(2, threads));
        pool.setKeepAliveTime(100, TimeUnit.MILLISECONDS);
        pool.allowCoreThreadTimeOut(true);

        Set<String> firstWave = wave(pool, 2);
        await("both first-wave threads retired on keep-alive", () -> threads.counts().threadsRetired() == 2);
        for (String name : firstWave) {
            assertThat(rec.of(name)).extracting(Seen::type)
                    .containsExactly("PreFork", "PostForkParent", "PostFork", "WorkerExit");
            assertThat(rec.of(name)).extracting(s -> s.worker().generation()).containsOnly(0L);
        }
        assertThat(threads.counts().slotsInUse()).isZero();

        Set<String> secondWave = wave(pool, 2);
        assertThat(secondWave).doesNotContainAnyElementsOf(firstWave);
        assertThat(secondWave.stream().map(rec::of).map(l -> l.get(0).worker()))
                .extracting(WorkerInfo::slot, WorkerInfo::generation)
                .containsExactlyInAnyOrder(tuple(1, 1L), tuple(2, 1L));
        pool.shutdown();
        assertThat(pool.awaitTermination(WAIT_SECONDS, TimeUnit.SECONDS)).isTrue();
        assertThat(threads.awaitRetired(WAIT_SECONDS * 1000)).isTrue();
        assertThat(rec.all().stream().filter(s -> s.type().equals("WorkerExit"))).hasSize(4);
    }

    @Test
    void forkJoinPoolWorkersComeAndGoWithExactEvents() throws Exception {
        HookedThreadFactory threads = HookedThreadFactory.hooked(registry, "fj");
        ForkJoinPool pool = track(new ForkJoinPool(2, threads, null, false, 0, 2, 1, null,
                100, TimeUnit.MILLISECONDS));

        Set<String> firstWave = wave(pool, 2);
        assertThat(firstWave).allSatisfy(name -> assertThat(name).startsWith("ForkJoinPool-"));
        await("a worker retired on keep-alive", () -> threads.counts().threadsRetired() >= 1);
        assertThat(rec.all()).filteredOn(s -> s.type().equals("WorkerExit")).extracting(Seen::reason)
                .containsOnly("idle timeout");
        await("every idle worker retired", () -> threads.counts().liveThreads() == 0);

        wave(pool, 2);
        assertThat(rec.all()).filteredOn(s -> s.type().equals("PreFork") && s.worker().generation() == 1)
                .as("a slot filled again").isNotEmpty();
        pool.shutdown();
        assertThat(pool.awaitTermination(WAIT_SECONDS, TimeUnit.SECONDS)).isTrue();
        assertThat(threads.awaitRetired(WAIT_SECONDS * 1000)).isTrue();

        Set<String> names = rec.all().stream().map(s -> s.worker().name()).collect(Collectors.toSet());
        assertThat(names).hasSize((int) threads.counts().threadsCreated());
        for (String name : names) {
            assertThat(rec.of(name)).extracting(Seen::type)
                    .containsExactly("PreFork", "PostForkParent", "PostFork", "WorkerExit");
            assertThat(rec.of(name).get(2).onThread()).isEqualTo(name);
            assertThat(rec.of(name).get(3).onThread()).isEqualTo(name);
        }
        assertThat(threads.counts().slotsInUse()).isZero();
    }

    /** Runs {@code n} tasks that wait for each other (so on n threads), releases them, returns their threads. */
    private Set<String> wave(ExecutorService pool, int n) throws Exception {
        Blocker blocker = new Blocker(n);
        for (int i = 0; i < n; i++) {
            pool.execute(blocker);
        }
        blocker.awaitAllRunning();
        blocker.release();
        return blocker.threads;
    }

    private <P extends ExecutorService> P track(P pool) {
        pools.add(pool);
        return pool;
    }

    private static org.assertj.core.groups.Tuple tuple(Object... values) {
        return org.assertj.core.groups.Tuple.tuple(values);
    }

    private static void await(String what, BooleanSupplier condition) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(WAIT_SECONDS);
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("timed out waiting for: " + what);
            }
            Thread.sleep(5); // polling interval of a bounded wait
        }
    }

    /** Tasks that hold their threads until all n run at once. */
    private static final class Blocker implements Runnable {
        private final CountDownLatch running;
        private final CountDownLatch release = new CountDownLatch(1);
        final Set<String> threads = java.util.concurrent.ConcurrentHashMap.newKeySet();

        Blocker(int n) {
            running = new CountDownLatch(n);
        }

        @Override
        public void run() {
            threads.add(Thread.currentThread().getName());
            running.countDown();
            try {
                release.await(WAIT_SECONDS, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }

        void awaitAllRunning() throws InterruptedException {
            assertThat(running.await(WAIT_SECONDS, TimeUnit.SECONDS)).as("all tasks running at once").isTrue();
        }

        void release() {
            release.countDown();
        }
    }

    record Seen(String type, WorkerInfo worker, String onThread, String reason) {
    }

    /** Every thread event, in publication order. */
    static final class Recorder {
        private final List<Seen> seen = new ArrayList<>();

        Recorder(ForkRegistry registry) {
            registry.subscribe(PreFork.class, e -> add("PreFork", e.worker(), null));
            registry.subscribe(PostForkParent.class, e -> add("PostForkParent", e.worker(), null));
            registry.subscribe(PostFork.class, e -> add("PostFork", e.worker(), null));
            registry.subscribe(WorkerExit.class, e -> add("WorkerExit", e.worker(), e.reason()));
        }

        private synchronized void add(String type, WorkerInfo worker, String reason) {
            seen.add(new Seen(type, worker, Thread.currentThread().getName(), reason));
        }

        synchronized List<Seen> all() {
            return List.copyOf(seen);
        }

        synchronized List<Seen> of(String threadName) {
            return seen.stream().filter(s -> s.worker().name().equals(threadName)).toList();
        }
    }
}
