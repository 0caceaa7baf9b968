package io.forksafe;

import io.forksafe.spi.HostContext;
import static io.forksafe.TestWorkers.TEST_HOST;
import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/**
 * A repeated event for an unchanged worker skips the worker-table lookup; these tests show the skip never hides a
 * change: after the worker ended, moved to another state or another worker was recorded, the table is updated again.
 */
class RepeatedEventFastPathTest {

    private static List<String> live(ForkRegistry registry) {
        return registry.status().workers().stream().map(s -> s.worker().name() + "=" + s.state()).toList();
    }

    @Test
    void aRepeatedEventAfterTheWorkerEndedMakesItLiveAgain() {
        ForkRegistry registry = new ForkRegistry("fast-path");
        AtomicInteger runs = new AtomicInteger();
        registry.subscribe(PostWorkerInit.class, e -> runs.incrementAndGet());
        WorkerInfo w = TestWorkers.thread(1, 0);
        for (int i = 0; i < 3; i++) {
            HostContext.of(registry).postWorkerInit(w, TEST_HOST); // second and third take the fast path
        }
        assertThat(runs).hasValue(3);
        assertThat(live(registry)).containsExactly(w.name() + "=ready");

        HostContext.of(registry).workerExit(w, TEST_HOST, "test");
        assertThat(live(registry)).isEmpty();
        HostContext.of(registry).postWorkerInit(w, TEST_HOST); // the same instance again: must not be skipped
        assertThat(live(registry)).containsExactly(w.name() + "=ready");
        assertThat(runs).hasValue(4);
    }

    @Test
    void aStateChangeOrAnotherWorkerInvalidatesTheSkip() {
        ForkRegistry registry = new ForkRegistry("fast-path-2");
        WorkerInfo a = TestWorkers.thread(1, 0);
        WorkerInfo b = TestWorkers.thread(2, 0);
        HostContext.of(registry).postWorkerInit(a, TEST_HOST);
        HostContext.of(registry).postWorkerInit(a, TEST_HOST);
        HostContext.of(registry).preFork(a, TEST_HOST); // a moves to "starting"
        assertThat(live(registry)).containsExactly(a.name() + "=starting");
        HostContext.of(registry).postWorkerInit(a, TEST_HOST); // back to ready: not the remembered state any more
        HostContext.of(registry).postWorkerInit(b, TEST_HOST);
        HostContext.of(registry).postWorkerInit(a, TEST_HOST);
        assertThat(live(registry)).containsExactlyInAnyOrder(a.name() + "=ready", b.name() + "=ready");
        assertThat(registry.status().workerCounters()).containsEntry("live", 2L);
    }
}
