package io.forksafe;

import io.forksafe.spi.HostContext;
import static io.forksafe.TestWorkers.TEST_HOST;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/**
 * A hook subscribed in {@code main}, after an arbiter or a restore already published this process's PostFork, still
 * sees that PostFork exactly once.
 */
class LateSubscriberTest {

    private final ForkRegistry registry = new ForkRegistry();
    private final WorkerInfo me = new WorkerInfo(1, "worker-1", WorkerKind.PROCESS, 4242, 1, 3);

    private void bootAsArbiterWorker() {
        HostContext.of(registry).identifyProcess(me);
        HostContext.of(registry).postFork(me, TEST_HOST);
    }

    @Test
    void aPostForkHookSubscribedAfterThisProcesssPostForkRunsOnceAtOnceForIt() {
        bootAsArbiterWorker();
        List<PostFork> seen = new CopyOnWriteArrayList<>();
        registry.subscribe(PostFork.class, seen::add);
        assertThat(seen).singleElement().satisfies(e -> {
            assertThat(e.worker()).isEqualTo(me);
            assertThat(e.container()).isEqualTo(TEST_HOST);
        });
        HostContext.of(registry).postFork(me, TEST_HOST); // a second report of the same worker stays ignored
        assertThat(seen).hasSize(1);
        assertThat(registry.status().executedHooks()).singleElement()
                .satisfies(h -> assertThat(h.count()).isEqualTo(1));
        assertThat(registry.status().autoconfigureLog())
                .anyMatch(l -> l.contains("subscribed after this process's PostFork (worker-1, PROCESS, generation 3)"));
    }

    @Test
    void anAllEventsHookAlsoGetsIt_otherTypesAreNotReplayed() {
        bootAsArbiterWorker();
        HostContext.of(registry).postWorkerInit(me, TEST_HOST);
        List<ForkEvent> all = new CopyOnWriteArrayList<>();
        AtomicInteger inits = new AtomicInteger();
        registry.subscribe(ForkEvent.class, all::add);
        registry.subscribe(PostWorkerInit.class, e -> inits.incrementAndGet());
        registry.subscribe(PreFork.class, e -> inits.incrementAndGet());
        assertThat(all).singleElement().isInstanceOf(PostFork.class);
        assertThat(inits).hasValue(0);
    }

    @Test
    void nothingIsReplayedBeforeThisProcesssPostFork_orForOtherWorkers() {
        HostContext.of(registry).identifyProcess(me);
        HostContext.of(registry).postFork(WorkerInfo.thread(1, "pool-1", 0), TEST_HOST);           // a thread of this process
        HostContext.of(registry).postFork(new WorkerInfo(2, "worker-2", WorkerKind.PROCESS, 99, 1, 0), TEST_HOST); // another one
        AtomicInteger count = new AtomicInteger();
        registry.subscribe(PostFork.class, e -> count.incrementAndGet());
        assertThat(count).hasValue(0);
        HostContext.of(registry).postFork(me, TEST_HOST);
        assertThat(count).hasValue(1);
    }

    @Test
    void aRestoredCopyReplaysItsOwnLatestPostFork() {
        bootAsArbiterWorker();
        WorkerInfo copy = new WorkerInfo(2, "copy-2", WorkerKind.RESTORE, 5000, 1, 7);
        HostContext.of(registry).identifyProcess(copy);
        HostContext.of(registry).postFork(copy, TEST_HOST);
        List<PostFork> seen = new CopyOnWriteArrayList<>();
        registry.subscribe(PostFork.class, seen::add);
        assertThat(seen).extracting(PostFork::worker).containsExactly(copy);
    }

    @Test
    void aFailingLateHookIsAPostForkFailure_thrownAndInTheStatus() {
        bootAsArbiterWorker();
        assertThatThrownBy(() -> registry.subscribe(PostFork.class, "bad", 0, e -> {
            throw new IllegalStateException("cannot reconnect");
        })).isInstanceOf(ForkHookException.class)
                .satisfies(t -> assertThat(t.getSuppressed()).singleElement()
                        .satisfies(s -> assertThat(s).hasMessage("cannot reconnect")));
        assertThat(registry.status().executedHooks()).singleElement().satisfies(h -> {
            assertThat(h.subscriber()).isEqualTo("bad");
            assertThat(h.failures()).isEqualTo(1);
        });
        assertThat(registry.subscriptions()).hasSize(1);
    }

    @Test
    void aSubscribeRacingThePublishRunsTheHookExactlyOnce() throws Exception {
        ExecutorService pool = Executors.newFixedThreadPool(2);
        try {
            for (int round = 0; round < 300; round++) {
                ForkRegistry r = new ForkRegistry("race-" + round);
                WorkerInfo w = new WorkerInfo(1, "worker-1", WorkerKind.PROCESS, 4242, 1, round);
                HostContext.of(r).identifyProcess(w);
                AtomicInteger count = new AtomicInteger();
                CyclicBarrier start = new CyclicBarrier(2);
                Future<?> publish = pool.submit(() -> {
                    start.await();
                    HostContext.of(r).postFork(w, TEST_HOST);
                    return null;
                });
                Future<?> subscribe = pool.submit(() -> {
                    start.await();
                    r.subscribe(PostFork.class, e -> count.incrementAndGet());
                    return null;
                });
                publish.get(10, TimeUnit.SECONDS);
                subscribe.get(10, TimeUnit.SECONDS);
                assertThat(count).as("round %d", round).hasValue(1);
            }
        } finally {
            pool.shutdownNow();
        }
    }
}
