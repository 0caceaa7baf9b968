package io.forksafe;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import io.forksafe.testing.ForkSimulator;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class ForkSimulatorTest {

    private final ForkRegistry registry = new ForkRegistry();
    private final ForkSimulator simulator = ForkSimulator.of(registry);

    @Test
    void runsTheWholeSequenceInOrderWithGrowingGenerations() {
        List<ForkEvent> first = simulator.simulateWorker(WorkerKind.PROCESS, 1);
        List<ForkEvent> second = simulator.simulateWorker(WorkerKind.PROCESS, 1);

        assertThat(first).extracting(ForkEvent::type).containsExactly(EventType.values());
        assertThat(first).allSatisfy(e -> assertThat(e.worker().generation()).isZero());
        assertThat(second).allSatisfy(e -> assertThat(e.worker().generation()).isEqualTo(1));
        assertThat(first.get(0).worker().pid()).isEqualTo(WorkerInfo.UNKNOWN_PID);
        assertThat(first.get(1).worker().pid()).isEqualTo(ProcessHandle.current().pid());
        assertThat(((ChildExit) first.get(5)).exitStatus()).isZero();
    }

    @Test
    void usesTheRealOrderingRules() {
        List<String> calls = new ArrayList<>();
        registry.subscribe(PreFork.class, "first", 0, e -> calls.add("pre:first"));
        registry.subscribe(PreFork.class, "second", 0, e -> calls.add("pre:second"));
        registry.subscribe(PostFork.class, "first", 0, e -> calls.add("post:first"));
        registry.subscribe(PostFork.class, "second", 0, e -> calls.add("post:second"));
        simulator.simulateWorker(WorkerKind.THREAD, 4);
        assertThat(calls).containsExactly("pre:second", "pre:first", "post:first", "post:second");
    }

    @Test
    void aFailingPostForkIsABootFailure() {
        List<EventType> seen = new ArrayList<>();
        registry.subscribe(ForkEvent.class, "recorder", 0, e -> seen.add(e.type()));
        registry.subscribe(PostFork.class, "broken", 0, e -> {
            throw new IllegalStateException("cannot reconnect");
        });
        ForkHookException e = catchThrowableOfType(ForkHookException.class,
                () -> simulator.simulateWorker(WorkerKind.PROCESS, 2));
        assertThat(e.getSuppressed()).singleElement().satisfies(t -> assertThat(t).hasMessage("cannot reconnect"));
        assertThat(seen).containsExactly(EventType.PRE_FORK, EventType.POST_FORK, EventType.CHILD_EXIT);
        assertThat(registry.status().recentlyEnded()).last()
                .satisfies(s -> assertThat(s.detail()).isEqualTo("exit status " + ForkSimulator.BOOT_ERROR_EXIT_STATUS));
    }

    @Test
    void laterFailuresAreThrownAfterTheWholeSequenceRan() {
        List<EventType> seen = new ArrayList<>();
        registry.subscribe(ForkEvent.class, "recorder", 0, e -> seen.add(e.type()));
        registry.subscribe(PostWorkerInit.class, "init", 0, e -> {
            throw new IllegalStateException("warm-up failed");
        });
        registry.subscribe(WorkerExit.class, "exit", 0, e -> {
            throw new IllegalStateException("close failed");
        });
        ForkHookException e = catchThrowableOfType(ForkHookException.class,
                () -> simulator.simulateWorker(WorkerKind.PROCESS, 1));
        assertThat(seen).containsExactly(EventType.values());
        assertThat(e.event()).isInstanceOf(PostWorkerInit.class);
        assertThat(e.getSuppressed()).hasSize(2);
    }

    @Test
    void simulatesARestore() {
        List<ForkEvent> events = simulator.simulateRestore(0);
        assertThat(events).extracting(ForkEvent::type)
                .containsExactly(EventType.PRE_FORK, EventType.POST_FORK, EventType.POST_WORKER_INIT);
        assertThat(events).allSatisfy(ev -> assertThat(ev.worker().kind()).isEqualTo(WorkerKind.RESTORE));
        assertThat(simulator.simulateRestore(0).get(1).worker().generation()).isEqualTo(1);
    }
}
