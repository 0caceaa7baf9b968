package io.forksafe;

import io.forksafe.spi.HostContext;
import static io.forksafe.TestWorkers.TEST_HOST;
import static io.forksafe.TestWorkers.process;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import java.io.IOException;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import org.junit.jupiter.api.Test;

class OrderingAndFailureTest {

    private final ForkRegistry registry = new ForkRegistry();
    private final List<String> calls = Collections.synchronizedList(new ArrayList<>());

    private void subscribeAll(Class<? extends ForkEvent> type) {
        registry.subscribe(type, "a", 0, e -> calls.add("a"));
        registry.subscribe(type, "b", 0, e -> calls.add("b"));
        registry.subscribe(type, "late", 10, e -> calls.add("late"));
        registry.subscribe(type, "early", -5, e -> calls.add("early"));
        registry.subscribe(type, "c", 0, e -> calls.add("c"));
    }

    @Test
    void preForkRunsInReverseOrderValueThenReverseRegistration() {
        subscribeAll(PreFork.class);
        HostContext.of(registry).preFork(process(1), TEST_HOST);
        assertThat(calls).containsExactly("late", "c", "b", "a", "early");
    }

    @Test
    void everyOtherEventRunsInForwardOrder() {
        for (EventType type : EventType.values()) {
            if (type == EventType.PRE_FORK) {
                continue;
            }
            ForkRegistry r = new ForkRegistry();
            List<String> seen = new ArrayList<>();
            r.subscribe(type.eventClass(), "a", 0, e -> seen.add("a"));
            r.subscribe(type.eventClass(), "b", 0, e -> seen.add("b"));
            r.subscribe(type.eventClass(), "late", 10, e -> seen.add("late"));
            r.subscribe(type.eventClass(), "early", -5, e -> seen.add("early"));
            publish(r, type);
            assertThat(seen).as(type.displayName()).containsExactly("early", "a", "b", "late");
        }
    }

    private static void publish(ForkRegistry r, EventType type) {
        switch (type) {
            case PRE_FORK -> HostContext.of(r).preFork(process(1), TEST_HOST);
            case POST_FORK -> HostContext.of(r).postFork(process(1), TEST_HOST);
            case POST_FORK_PARENT -> HostContext.of(r).postForkParent(process(1), TEST_HOST);
            case POST_WORKER_INIT -> HostContext.of(r).postWorkerInit(process(1), TEST_HOST);
            case WORKER_EXIT -> HostContext.of(r).workerExit(process(1), TEST_HOST, "test");
            case CHILD_EXIT -> HostContext.of(r).childExit(process(1), TEST_HOST, 0);
        }
    }

    @Test
    void subscribingToForkEventReceivesAllSixTypes() {
        List<EventType> seen = new ArrayList<>();
        registry.subscribe(ForkEvent.class, e -> seen.add(e.type()));
        for (EventType type : EventType.values()) {
            publish(registry, type);
        }
        assertThat(seen).containsExactly(EventType.values());
    }

    @Test
    void allSubscribersRunAndFailuresAreAggregatedOnce() {
        IllegalStateException first = new IllegalStateException("pool refused to evict");
        IOException second = new IOException("socket gone");
        registry.subscribe(PostFork.class, "ok-1", 0, e -> calls.add("ok-1"));
        registry.subscribe(PostFork.class, "fails-1", 0, e -> {
            calls.add("fails-1");
            throw first;
        });
        registry.subscribe(PostFork.class, "ok-2", 0, e -> calls.add("ok-2"));
        registry.subscribe(PostFork.class, "fails-2", 0, e -> {
            calls.add("fails-2");
            throw second;
        });
        registry.subscribe(PostFork.class, "ok-3", 0, e -> calls.add("ok-3"));

        ForkHookException thrown = catchThrowableOfType(ForkHookException.class,
                () -> HostContext.of(registry).postFork(process(1), TEST_HOST));

        assertThat(calls).containsExactly("ok-1", "fails-1", "ok-2", "fails-2", "ok-3");
        assertThat(thrown.getSuppressed()).containsExactly(first, second);
        assertThat(thrown.failures()).containsExactly(first, second);
        assertThat(thrown.event()).isInstanceOf(PostFork.class);
        assertThat(thrown).hasMessageContaining("PostFork").hasMessageContaining("worker-1");

        ForksafeStatus status = registry.status();
        assertThat(status.executedHooks())
                .filteredOn(h -> h.subscriber().equals("fails-2"))
                .singleElement()
                .satisfies(h -> {
                    assertThat(h.count()).isEqualTo(1);
                    assertThat(h.failures()).isEqualTo(1);
                    assertThat(h.lastError()).isEqualTo("java.io.IOException: socket gone");
                });
        assertThat(status.executedHooks())
                .filteredOn(h -> h.subscriber().equals("ok-3"))
                .singleElement()
                .satisfies(h -> assertThat(h.failures()).isZero());
        assertThat(status.totalFailures()).isEqualTo(2);
    }

    @Test
    void preForkFailuresAreAggregatedInReverseRunOrder() {
        RuntimeException a = new RuntimeException("a");
        RuntimeException b = new RuntimeException("b");
        registry.subscribe(PreFork.class, "a", 0, e -> {
            throw a;
        });
        registry.subscribe(PreFork.class, "b", 0, e -> {
            throw b;
        });
        assertThatThrownBy(() -> HostContext.of(registry).preFork(process(1), TEST_HOST))
                .isInstanceOf(ForkHookException.class)
                .satisfies(t -> assertThat(t.getSuppressed()).containsExactly(b, a));
    }

    @Test
    void nullArgumentsAreRejectedWithClearMessages() {
        assertThatThrownBy(() -> registry.subscribe(PostFork.class, null))
                .isInstanceOf(NullPointerException.class).hasMessage("hook must not be null");
        assertThatThrownBy(() -> registry.subscribe(null, e -> { }))
                .isInstanceOf(NullPointerException.class).hasMessageContaining("event type must not be null");
        assertThatThrownBy(() -> HostContext.of(registry).publish(null)).isInstanceOf(NullPointerException.class);
    }

    @Test
    void closedSubscriptionStopsReceivingAndCloseIsIdempotent() {
        Subscription s = registry.subscribe(PostWorkerInit.class, "x", 0, e -> calls.add("x"));
        HostContext.of(registry).postWorkerInit(process(1), TEST_HOST);
        s.close();
        s.close();
        HostContext.of(registry).postWorkerInit(process(2), TEST_HOST);
        assertThat(calls).containsExactly("x");
        assertThat(s.isActive()).isFalse();
        assertThat(registry.subscriptions()).isEmpty();
    }

    @Test
    void defaultNamesAreStableAndUniquePerEventType() {
        List<Subscription> subscribed = new ArrayList<>();
        for (int i = 0; i < 2; i++) { // one place, so one base name
            subscribed.add(registry.subscribe(PostFork.class, e -> { }));
        }
        Subscription one = subscribed.get(0);
        assertThat(one.name()).doesNotContain("/0x", "$$Lambda");
        assertThat(subscribed.get(1).name()).isEqualTo(one.name() + "#2");
        assertThat(registry.subscribe(PreFork.class, one.name(), 0, e -> { }).name())
                .as("unique per event type").isEqualTo(one.name());
    }

    @Test
    void fatalVmErrorsAreNotSwallowed() {
        registry.subscribe(PostFork.class, e -> {
            throw new OutOfMemoryError("simulated");
        });
        assertThatThrownBy(() -> HostContext.of(registry).postFork(process(1), TEST_HOST)).isInstanceOf(OutOfMemoryError.class);
    }
}
