package io.forksafe;

import io.forksafe.spi.HostContext;
import static io.forksafe.TestWorkers.TEST_HOST;
import static io.forksafe.TestWorkers.process;
import static org.assertj.core.api.Assertions.assertThat;

import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

class ExactlyOncePostForkTest {

    private final ForkRegistry registry = new ForkRegistry();

    @Test
    void twoAdaptersReportingTheSameWorkerDeliverOnce() {
        AtomicInteger count = new AtomicInteger();
        registry.subscribe(PostFork.class, e -> count.incrementAndGet());
        WorkerInfo w = process(1);
        HostContext.of(registry).postFork(w, ContainerInfo.of("uWSGI", "2.0.21"));
        HostContext.of(registry).postFork(w, ContainerInfo.of("other adapter", "1"));
        assertThat(count).hasValue(1);
        assertThat(registry.duplicatePostForks()).isEqualTo(1);
        assertThat(registry.status().autoconfigureLog()).anyMatch(l -> l.startsWith("duplicate PostFork ignored"));
    }

    @Test
    void aNewGenerationOfTheSameSlotIsANewWorker() {
        AtomicInteger count = new AtomicInteger();
        registry.subscribe(PostFork.class, e -> count.incrementAndGet());
        HostContext.of(registry).postFork(TestWorkers.thread(3, 0), TEST_HOST);
        HostContext.of(registry).postFork(TestWorkers.thread(3, 1), TEST_HOST);
        assertThat(count).hasValue(2);
    }

    @Test
    void threadsOfTwoPoolsWithTheSameSlotAreDifferentWorkers() {
        AtomicInteger count = new AtomicInteger();
        registry.subscribe(PostFork.class, e -> count.incrementAndGet());
        HostContext.of(registry).postFork(WorkerInfo.thread(1, "qtp-1", 0), ContainerInfo.of("jetty", "12.1.14"));
        HostContext.of(registry).postFork(WorkerInfo.thread(1, "undertow-task-1", 0), ContainerInfo.of("undertow", "2.3.26.Final"));
        assertThat(count).hasValue(2);
        assertThat(registry.status().workers()).hasSize(2);
    }

    @Test
    void threadWorkersAreCountedOnceThoughTheyGetPostForkAndPostForkParent() {
        for (int i = 0; i < 3; i++) {
            WorkerInfo w = TestWorkers.thread(i, 0);
            HostContext.of(registry).preFork(w, TEST_HOST);
            HostContext.of(registry).postForkParent(w, TEST_HOST);
            HostContext.of(registry).postFork(w, TEST_HOST);
        }
        assertThat(registry.status().workerCounters()).containsEntry("started", 3L).containsEntry("live", 3L);
    }

    @Test
    void concurrentDuplicateReportsStillDeliverExactlyOnce() throws Exception {
        AtomicInteger count = new AtomicInteger();
        registry.subscribe(PostFork.class, e -> count.incrementAndGet());
        int workers = 200;
        ExecutorService pool = Executors.newFixedThreadPool(8);
        CountDownLatch go = new CountDownLatch(1);
        for (int i = 0; i < workers; i++) {
            int slot = i;
            for (int copy = 0; copy < 4; copy++) {
                pool.execute(() -> {
                    try {
                        go.await();
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                    }
                    HostContext.of(registry).postFork(process(slot), TEST_HOST);
                });
            }
        }
        go.countDown();
        pool.shutdown();
        assertThat(pool.awaitTermination(30, TimeUnit.SECONDS)).isTrue();
        assertThat(count).hasValue(workers);
        assertThat(registry.duplicatePostForks()).isEqualTo(workers * 3L);
    }
}
