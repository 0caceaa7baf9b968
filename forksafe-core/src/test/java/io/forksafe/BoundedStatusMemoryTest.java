package io.forksafe;

import io.forksafe.spi.HostContext;
import static io.forksafe.TestWorkers.TEST_HOST;
import static org.assertj.core.api.Assertions.assertThat;

import java.lang.management.ManagementFactory;
import java.lang.management.MemoryMXBean;
import org.junit.jupiter.api.Test;

class BoundedStatusMemoryTest {

    private static final int THREADS = 100_000;

    @Test
    void statusStaysBoundedAfter100kWorkerThreadsComeAndGo() {
        ForkRegistry registry = new ForkRegistry();
        registry.subscribe(ForkEvent.class, "counter", 0, e -> { });
        long before = usedHeapAfterGc();

        for (int i = 0; i < THREADS; i++) {
            // Worst case for the bookkeeping: every worker has its own slot, and one in a hundred never reports
            // its exit (a leaked or killed thread).
            WorkerInfo w = WorkerInfo.thread(i, "synthetic-" + i, 0);
            HostContext.of(registry).preFork(w, TEST_HOST);
            HostContext.of(registry).postFork(w, TEST_HOST);
            HostContext.of(registry).postForkParent(w, TEST_HOST);
            if (i % 100 != 0) {
                HostContext.of(registry).workerExit(w, TEST_HOST, "idle timeout");
            }
        }
        ForksafeStatus status = registry.status();
        long after = usedHeapAfterGc();
        System.out.printf("bounded status: %d worker threads, retained heap growth %d KiB, status JSON %d chars%n",
                THREADS, (after - before) / 1024, status.toJson().length());

        assertThat(status.workers()).hasSizeLessThanOrEqualTo(ForkRegistry.MAX_LIVE_WORKERS);
        assertThat(status.recentlyEnded()).hasSizeLessThanOrEqualTo(ForkRegistry.MAX_RECENT_WORKERS);
        assertThat(status.autoconfigureLog()).hasSizeLessThanOrEqualTo(ForkRegistry.MAX_LOG_LINES + 1);
        assertThat(status.executedHooks()).hasSize(6);
        assertThat(status.executedHooks()).filteredOn(h -> h.event().equals("PostFork"))
                .singleElement().satisfies(h -> assertThat(h.count()).isEqualTo(THREADS));
        assertThat(status.workerCounters().get("untracked")).isPositive();
        assertThat(status.toJson().length()).isLessThan(400_000);
        // What stays reachable from the registry must not grow with the number of threads seen.
        assertThat(after - before).as("retained heap growth in bytes").isLessThan(8L * 1024 * 1024);
        assertThat(registry).isNotNull(); // keep the registry reachable until after the measurement
    }

    private static long usedHeapAfterGc() {
        MemoryMXBean memory = ManagementFactory.getMemoryMXBean();
        long used = Long.MAX_VALUE;
        for (int i = 0; i < 3; i++) {
            System.gc();
            used = Math.min(used, memory.getHeapMemoryUsage().getUsed());
        }
        return used;
    }
}
