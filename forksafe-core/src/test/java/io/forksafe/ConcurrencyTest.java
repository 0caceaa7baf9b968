package io.forksafe;

import io.forksafe.spi.HostContext;
import static io.forksafe.TestWorkers.TEST_HOST;
import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;
import org.junit.jupiter.api.Test;

class ConcurrencyTest {

    private static final int DISPATCHERS = 32;
    private static final int EVENTS_PER_DISPATCHER = 2_000;
    private static final int CHURNERS = 4;

    @Test
    void dispatchFrom32ThreadsWhileOthersSubscribeAndCloseKeepsCountsExact() throws Exception {
        ForkRegistry registry = new ForkRegistry();
        int stable = 5;
        LongAdder[] counts = new LongAdder[stable];
        ConcurrentLinkedQueue<String> orderViolations = new ConcurrentLinkedQueue<>();
        ThreadLocal<int[]> lastIndex = ThreadLocal.withInitial(() -> new int[] {-1});
        for (int i = 0; i < stable; i++) {
            int index = i;
            counts[i] = new LongAdder();
            registry.subscribe(PostWorkerInit.class, "stable-" + i, i * 10, e -> {
                counts[index].increment();
                int[] last = lastIndex.get();
                if (index != last[0] + 1) {
                    orderViolations.add("hook " + index + " after " + last[0]);
                }
                last[0] = index == stable - 1 ? -1 : index;
            });
        }

        AtomicBoolean stop = new AtomicBoolean();
        AtomicLong churnSubscriptions = new AtomicLong();
        ExecutorService pool = Executors.newFixedThreadPool(DISPATCHERS + CHURNERS);
        CountDownLatch go = new CountDownLatch(1);
        List<Future<?>> futures = new ArrayList<>();
        for (int c = 0; c < CHURNERS; c++) {
            int churner = c;
            futures.add(pool.submit(() -> {
                go.await();
                while (!stop.get()) {
                    // Order 5, 15, ... interleaves with the stable hooks; it must never disturb them.
                    Subscription s = registry.subscribe(PostWorkerInit.class, "churn-" + churner, 5, e -> { });
                    churnSubscriptions.incrementAndGet();
                    s.close();
                }
                return null;
            }));
        }
        List<Future<?>> dispatchers = new ArrayList<>();
        for (int d = 0; d < DISPATCHERS; d++) {
            int slot = d;
            dispatchers.add(pool.submit(() -> {
                go.await();
                WorkerInfo w = TestWorkers.thread(slot, 0);
                for (int i = 0; i < EVENTS_PER_DISPATCHER; i++) {
                    HostContext.of(registry).postWorkerInit(w, TEST_HOST);
                }
                return null;
            }));
        }
        go.countDown();
        for (Future<?> f : dispatchers) {
            f.get(60, TimeUnit.SECONDS);
        }
        stop.set(true);
        for (Future<?> f : futures) {
            f.get(10, TimeUnit.SECONDS);
        }
        pool.shutdown();
        assertThat(pool.awaitTermination(10, TimeUnit.SECONDS)).isTrue();

        long expected = (long) DISPATCHERS * EVENTS_PER_DISPATCHER;
        for (int i = 0; i < stable; i++) {
            assertThat(counts[i].sum()).as("stable-" + i).isEqualTo(expected);
        }
        assertThat(orderViolations).isEmpty();
        assertThat(churnSubscriptions.get()).isPositive();
        assertThat(registry.subscriptions()).hasSize(stable);
        ForksafeStatus status = registry.status();
        assertThat(status.executedHooks())
                .filteredOn(h -> h.subscriber().startsWith("stable-"))
                .hasSize(stable)
                .allSatisfy(h -> assertThat(h.count()).isEqualTo(expected));
    }
}
