package io.forksafe;

import static io.forksafe.TestWorkers.TEST_HOST;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import io.forksafe.ForksafeStatus.HookExecution;
import io.forksafe.internal.HookStats;
import io.forksafe.spi.HostContext;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;

import org.junit.jupiter.api.Test;

/** The registry's status figures through its real publish path: timing rule, failures, bounds, order, lifecycle. */
class RegistryStatusFiguresTest {

    private final ForkRegistry registry = new ForkRegistry("figures");
    private final HostContext host = HostContext.of(registry);
    private final WorkerInfo worker = TestWorkers.process(1);

    private HookExecution hook(String event, String subscriber) {
        return registry.status().executedHooks().stream()
                .filter(h -> h.event().equals(event) && h.subscriber().equals(subscriber)).findFirst().orElseThrow();
    }

    @Test
    void theFirstRunIsTimedThenOneDispatchInSixtyFour() {
        int sample = HookStats.TIMING_SAMPLE_MASK + 1;
        AtomicInteger runs = new AtomicInteger();
        registry.subscribe(PostWorkerInit.class, "h", 0, e -> {
            int n = runs.incrementAndGet();
            if (n == 2 || n == sample) {
                throw new IllegalStateException("run " + n);
            }
        });
        host.postWorkerInit(worker, TEST_HOST);
        assertThat(hook("PostWorkerInit", "h").lastDuration()).as("the first run is timed").isNotNull();

        assertThatThrownBy(() -> host.postWorkerInit(worker, TEST_HOST)).isInstanceOf(ForkHookException.class);
        HookExecution second = hook("PostWorkerInit", "h");
        assertThat(second.failures()).isEqualTo(1);
        assertThat(second.lastError()).isEqualTo("java.lang.IllegalStateException: run 2");
        assertThat(second.lastDuration()).as("the second run is not timed: no duration").isNull();

        for (int n = 3; n < sample; n++) {
            host.postWorkerInit(worker, TEST_HOST);
        }
        assertThat(hook("PostWorkerInit", "h").lastDuration()).isNull();
        long before = System.nanoTime();
        assertThatThrownBy(() -> host.postWorkerInit(worker, TEST_HOST)).isInstanceOf(ForkHookException.class);
        long elapsed = System.nanoTime() - before;
        HookExecution sampled = hook("PostWorkerInit", "h");
        assertThat(sampled.count()).isEqualTo(sample);
        assertThat(sampled.failures()).isEqualTo(2);
        assertThat(sampled.lastDuration()).as("dispatch 64 is timed").isNotNull()
                .isBetween(Duration.ZERO, Duration.ofNanos(elapsed));
    }

    @Test
    void aHookThatIsNotTimedYetIsTimedOnTheNextDispatch() {
        registry.subscribe(PostWorkerInit.class, "first", 0, e -> { });
        AtomicInteger runs = new AtomicInteger();
        host.postWorkerInit(worker, TEST_HOST);
        registry.subscribe(PostWorkerInit.class, "late", 1, e -> {
            if (runs.incrementAndGet() == 1) {
                throw new IllegalStateException("first");
            }
        });
        assertThatThrownBy(() -> host.postWorkerInit(worker, TEST_HOST)).isInstanceOf(ForkHookException.class);
        assertThat(hook("PostWorkerInit", "late").lastDuration()).as("a new hook makes the dispatch timed").isNotNull();
        host.postWorkerInit(worker, TEST_HOST);
        assertThat(hook("PostWorkerInit", "late").lastDuration()).isNotNull();
        assertThat(hook("PostWorkerInit", "late").count()).isEqualTo(2);
        assertThat(hook("PostWorkerInit", "first").count()).isEqualTo(3);
    }

    @Test
    void aFailureIsKeptWhetherTheNextHookRunsTimedUntimedOrWasClosed() {
        Subscription[] later = new Subscription[1];
        registry.subscribe(PostWorkerInit.class, "fails", 0, e -> {
            throw new IllegalStateException("boom");
        });
        later[0] = registry.subscribe(PostWorkerInit.class, "fine", 1, e -> { });
        for (int i = 0; i < 3; i++) {
            ForkHookException f = catchThrowableOfType(ForkHookException.class,
                    () -> host.postWorkerInit(worker, TEST_HOST));
            assertThat(f).as("dispatch %d", i + 1).isNotNull();
            assertThat(f.getMessage()).isEqualTo("PostWorkerInit hook(s) failed for worker worker-1 (PROCESS, slot 1); "
                    + "see suppressed exceptions and the forksafe status");
            assertThat(f.getSuppressed()).extracting(Throwable::getMessage).containsExactly("boom");
        }
        registry.subscribe(PostWorkerInit.class, "closer", -1, e -> later[0].close());
        assertThatThrownBy(() -> host.postWorkerInit(worker, TEST_HOST)).isInstanceOf(ForkHookException.class);
    }

    @Test
    void aClosedSubscriptionKeepsItsRunsAndIsInactive() {
        Subscription s = registry.subscribe(PostWorkerInit.class, "h", 0, e -> { });
        host.postWorkerInit(worker, TEST_HOST);
        host.postWorkerInit(TestWorkers.process(2), TEST_HOST);
        assertThat(s.isActive()).isTrue();
        s.close();
        assertThat(s.isActive()).isFalse();
        host.postWorkerInit(TestWorkers.process(3), TEST_HOST);
        assertThat(hook("PostWorkerInit", "h").count()).isEqualTo(2);
        assertThat(registry.subscriptions()).isEmpty();
        assertThat(s.toString()).isEqualTo("Subscription[PostWorkerInit <- h, order 0, closed]");
    }

    @Test
    void hooksAreListedByEventThenSubscriber() {
        registry.subscribe(PreFork.class, "b", 0, e -> { });
        registry.subscribe(PostFork.class, "z", 0, e -> { });
        registry.subscribe(PostFork.class, "a", 0, e -> { });
        host.preFork(worker, TEST_HOST);
        host.postFork(worker, TEST_HOST);
        assertThat(registry.status().executedHooks()).extracting(h -> h.event() + "/" + h.subscriber())
                .containsExactly("PostFork/a", "PostFork/z", "PreFork/b");
    }

    @Test
    void hookStatsAreBoundedWithTheRestCountedTogether() {
        for (int i = 0; i < ForkRegistry.MAX_HOOK_STATS + 5; i++) {
            registry.subscribe(PostWorkerInit.class, "h" + i, 0, e -> { });
        }
        host.postWorkerInit(worker, TEST_HOST);
        List<HookExecution> hooks = registry.status().executedHooks();
        assertThat(hooks).hasSize(ForkRegistry.MAX_HOOK_STATS + 1);
        assertThat(hook("PostWorkerInit", "(other subscribers)").count()).isEqualTo(5);
    }

    @Test
    void notesAreBoundedButAKnownNoteCanChange() {
        for (int i = 0; i < ForkRegistry.MAX_NOTES + 3; i++) {
            host.note("n" + i, "v" + i);
        }
        assertThat(registry.status().notes()).hasSize(ForkRegistry.MAX_NOTES).containsEntry("n0", "v0")
                .doesNotContainKey("n" + ForkRegistry.MAX_NOTES);
        host.note("n0", "changed");
        assertThat(registry.status().notes()).hasSize(ForkRegistry.MAX_NOTES).containsEntry("n0", "changed");
    }

    @Test
    void duplicatePostForksAreCountedAndLoggedAtPowersOfTwo() {
        for (int i = 0; i < 6; i++) {
            host.postFork(worker, TEST_HOST);
        }
        assertThat(registry.duplicatePostForks()).isEqualTo(5);
        assertThat(registry.status().workerCounters()).containsEntry("duplicatePostForksIgnored", 5L);
        List<String> log = registry.status().autoconfigureLog().stream().filter(l -> l.contains("so far")).toList();
        assertThat(log).extracting(l -> l.substring(l.lastIndexOf("; ") + 2))
                .containsExactly("1 so far", "2 so far", "4 so far");
        assertThat(log.get(0)).isEqualTo("duplicate PostFork ignored for worker worker-1 (" + worker.identity()
                + "): two adapters report the same worker; 1 so far");
    }

    @Test
    void postForkIsRememberedForTheLast4096Workers() {
        for (int slot = 0; slot <= ForkRegistry.MAX_POST_FORK_MEMORY; slot++) {
            host.postFork(TestWorkers.process(slot), TEST_HOST);
        }
        host.postFork(TestWorkers.process(1), TEST_HOST);
        assertThat(registry.duplicatePostForks()).as("slot 1 is still remembered").isEqualTo(1);
        host.postFork(TestWorkers.process(0), TEST_HOST);
        assertThat(registry.duplicatePostForks()).as("slot 0 was forgotten").isEqualTo(1);
    }

    @Test
    void aWorkerExitForgetsItsPostFork() {
        host.postFork(worker, TEST_HOST);
        host.workerExit(worker, TEST_HOST, "done");
        host.postFork(worker, TEST_HOST);
        assertThat(registry.duplicatePostForks()).isZero();
    }

    @Test
    void markConfiguredSetsTheStatusUnlessAnErrorWasReported() {
        assertThat(registry.name()).isEqualTo("figures");
        registry.markConfigured("launcher");
        ForksafeStatus s = registry.status();
        assertThat(s.status()).isEqualTo("launcher mark_configured");
        assertThat(s.environment()).isEqualTo("launcher");
        assertThat(s.autoconfigureLog()).contains("launcher mark_configured");
        host.reportError("jetty", "no connector");
        registry.markConfigured("again");
        assertThat(registry.status().status()).isEqualTo("jetty error: no connector");
        assertThat(registry.status().errors()).containsExactly("jetty error: no connector");
        assertThat(registry.status().environment()).isEqualTo("again");
    }
}
