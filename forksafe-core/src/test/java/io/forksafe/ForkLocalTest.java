package io.forksafe;

import io.forksafe.spi.HostContext;
import io.forksafe.testing.ForkSimulator;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class ForkLocalTest {

    private static final ContainerInfo HOST = ContainerInfo.of("test", "1");

    /** A client stand-in: knows in which copy it was made and whether (and how often) it was closed. */
    static final class Client implements AutoCloseable {
        static final AtomicInteger IDS = new AtomicInteger();
        final int id = IDS.incrementAndGet();
        final long stamp;
        final AtomicInteger closes = new AtomicInteger();

        Client(long stamp) {
            this.stamp = stamp;
        }

        boolean isClosed() {
            return closes.get() > 0;
        }

        @Override
        public void close() {
            closes.incrementAndGet();
        }
    }

    private final ForkRegistry registry = new ForkRegistry("fork-local");

    private static WorkerInfo restored(long generation) {
        long pid = ProcessHandle.current().pid();
        return new WorkerInfo(0, "restored", WorkerKind.RESTORE, pid, pid, generation);
    }

    @Test
    void createdLazilyOnceAndClosedOnPreForkThenRecreatedAfterPostFork() {
        AtomicLong made = new AtomicLong();
        ForkLocal<Client> local = ForkLocal.of(registry, "client", () -> new Client(made.incrementAndGet()));
        assertThat(local.isPresent()).isFalse();
        assertThat(made).hasValue(0);

        Client first = local.get();
        assertThat(local.get()).isSameAs(first);
        assertThat(made).hasValue(1);

        HostContext.of(registry).preFork(restored(1).withPid(WorkerInfo.UNKNOWN_PID), HOST);
        assertThat(first.isClosed()).isTrue();
        assertThat(local.isPresent()).isFalse();

        Client between = local.get(); // used between PreFork and PostFork: must not survive into the copy
        HostContext.of(registry).postFork(restored(1), HOST);
        assertThat(between.isClosed()).isTrue();

        Client after = local.get();
        assertThat(after).isNotSameAs(first).isNotSameAs(between);
        assertThat(after.isClosed()).isFalse();
        assertThat(local.createdCount()).isEqualTo(3);
        assertThat(local.closedCount()).isEqualTo(2);
        assertThat(first.closes).hasValue(1);
    }

    @Test
    void closedOnWorkerExit() {
        ForkLocal<Client> local = ForkLocal.of(registry, "client", () -> new Client(0));
        Client c = local.get();
        HostContext.of(registry).workerExit(registry.processWorker(), HOST, "stopping");
        assertThat(c.isClosed()).isTrue();
        assertThat(local.isPresent()).isFalse();
    }

    @Test
    void workerThreadEventsDoNotReplaceTheValue() {
        ForkLocal<Client> local = ForkLocal.of(registry, "client", () -> new Client(0));
        Client c = local.get();
        ForkSimulator.of(registry).simulateWorker(WorkerKind.THREAD, 3);
        assertThat(local.get()).isSameAs(c);
        assertThat(c.isClosed()).isFalse();
    }

    @Test
    void processWorkersAndRestoresReplaceIt() {
        ForkLocal<Client> local = ForkLocal.of(registry, "client", () -> new Client(0));
        Client c = local.get();
        ForkSimulator.of(registry).simulateWorker(WorkerKind.PROCESS, 1);
        assertThat(c.isClosed()).isTrue();
        Client d = local.get();
        ForkSimulator.of(registry).simulateRestore(0);
        assertThat(d.isClosed()).isTrue();
        assertThat(local.get()).isNotSameAs(d);
    }

    @Test
    void customCloserAndItsFailureShowInTheStatusWithoutStoppingTheReplacement() {
        List<String> closed = new ArrayList<>();
        ForkLocal<String> local = ForkLocal.of(registry, "named", () -> "value-" + closed.size(), v -> {
            closed.add(v);
            throw new IllegalStateException("close failed for " + v);
        });
        assertThat(local.get()).isEqualTo("value-0");
        assertThatThrownBy(() -> ForkSimulator.of(registry).simulateRestore(0))
                .isInstanceOf(ForkHookException.class)
                .satisfies(e -> assertThat(e.getSuppressed()[0]).hasMessageContaining("ForkLocal 'named'")
                        .hasMessageContaining("close failed for value-0"));
        assertThat(closed).containsExactly("value-0");
        assertThat(local.get()).isEqualTo("value-1"); // replaced anyway
        ForksafeStatus status = registry.status();
        assertThat(status.executedHooks()).filteredOn(h -> h.subscriber().equals("ForkLocal[named]")
                && h.event().equals("PreFork")).singleElement().satisfies(h -> assertThat(h.failures()).isEqualTo(1));
        assertThat(status.details().get("ForkLocal[named]").toString()).contains("closeFailures=1");
    }

    @Test
    void closeUnsubscribesClosesTheValueAndRejectsGet() {
        ForkLocal<Client> local = ForkLocal.of(registry, "client", () -> new Client(0));
        Client c = local.get();
        local.close();
        assertThat(c.isClosed()).isTrue();
        assertThat(registry.subscriptions()).noneMatch(s -> s.name().startsWith("ForkLocal[client]"));
        assertThat(registry.status().details()).doesNotContainKey("ForkLocal[client]");
        assertThatThrownBy(local::get).isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("ForkLocal 'client' was closed");
    }

    @Test
    void badArgumentsNameTheFix() {
        assertThatThrownBy(() -> ForkLocal.of(registry, " ", () -> "x"))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("name must not be blank");
        ForkLocal<String> nulls = ForkLocal.of(registry, "nulls", () -> null);
        assertThatThrownBy(nulls::get).isInstanceOf(NullPointerException.class)
                .hasMessageContaining("the factory returned null");
    }

    /**
     * Many threads call get() continuously while restores are simulated. In each quiet period after a restore, every
     * thread must get the same single instance, created after that restore's PostFork began, and open.
     */
    @Test
    void manyThreadsAcrossSimulatedRestoresNeverSeeAStaleValueAndCreateOncePerGeneration() throws Exception {
        int threads = 8;
        int restores = 25;
        AtomicLong copyNumber = new AtomicLong();     // set first thing in PostFork
        AtomicLong completed = new AtomicLong();      // set last thing in PostFork
        AtomicLong preForkStarted = new AtomicLong(); // set first thing in PreFork (reverse order: highest first)
        registry.subscribe(PostFork.class, "copy-number", Integer.MIN_VALUE + 10,
                e -> copyNumber.set(e.worker().generation() + 1));
        ForkLocal<Client> local = ForkLocal.of(registry, "shared", () -> new Client(copyNumber.get()));
        registry.subscribe(PostFork.class, "completed", Integer.MAX_VALUE,
                e -> completed.set(e.worker().generation() + 1));
        registry.subscribe(PreFork.class, "pre-fork-started", Integer.MAX_VALUE,
                e -> preForkStarted.set(e.worker().generation() + 1));

        Map<Long, Set<Client>> quiet = new ConcurrentHashMap<>();
        List<String> violations = new CopyOnWriteArrayList<>();
        AtomicLong[] lastQuiet = new AtomicLong[threads];
        List<Thread> workers = new ArrayList<>();
        AtomicBoolean stop = new AtomicBoolean();
        for (int t = 0; t < threads; t++) {
            AtomicLong mine = lastQuiet[t] = new AtomicLong(-1);
            Thread w = new Thread(() -> {
                while (!stop.get()) {
                    long k = completed.get();
                    long p1 = preForkStarted.get();
                    Client c = local.get();
                    boolean closedAtReturn = c.isClosed();
                    long p2 = preForkStarted.get();
                    if (c.stamp < k) {
                        violations.add("stale: got a client from copy " + c.stamp + " after PostFork of copy " + k);
                    }
                    if (p1 == k && p2 == k) { // the whole get() ran between PostFork k and PreFork k+1
                        if (closedAtReturn) {
                            violations.add("closed client " + c.id + " returned in quiet period " + k);
                        }
                        quiet.computeIfAbsent(k, x -> ConcurrentHashMap.newKeySet()).add(c);
                        mine.set(k);
                    }
                }
            }, "fork-local-" + t);
            w.start();
            workers.add(w);
        }
        ForkSimulator simulator = ForkSimulator.of(registry);
        long deadline = System.nanoTime() + 20_000_000_000L;
        try {
            for (long k = 0; k <= restores; k++) {
                for (AtomicLong q : lastQuiet) {
                    while (q.get() < k && System.nanoTime() < deadline) {
                        Thread.onSpinWait();
                    }
                }
                assertThat(System.nanoTime()).as("threads kept up").isLessThan(deadline);
                if (k < restores) {
                    simulator.simulateRestore(0);
                }
            }
        } finally {
            stop.set(true);
            for (Thread w : workers) {
                w.join(10_000);
            }
        }
        assertThat(violations).isEmpty();
        assertThat(quiet).hasSize(restores + 1);
        quiet.forEach((k, clients) -> {
            assertThat(clients).as("instances seen in quiet period %s", k).hasSize(1);
            assertThat(clients.iterator().next().stamp).isGreaterThanOrEqualTo(k);
        });
        // at most one value per epoch: each restore makes two (PreFork..PostFork, and after PostFork)
        assertThat(local.createdCount()).isBetween((long) restores + 1, 2L * restores + 1);
        quiet.values().forEach(set -> set.forEach(c -> assertThat(c.closes.get()).isLessThanOrEqualTo(1)));
    }
}
