package io.forksafe.demo;

import io.forksafe.ForkEvent;
import io.forksafe.ForkRegistry;
import io.forksafe.Forksafe;
import io.forksafe.PostFork;
import io.forksafe.PreFork;
import io.forksafe.WorkerKind;
import io.forksafe.testing.ForkSimulator;

/**
 * The runnable demo: subscribes hooks, runs a simulated worker life cycle and prints the events and the status.
 *
 * <pre>{@code
 * java -cp "$(cat integration-tests/target/demo-classpath.txt):integration-tests/target/classes" io.forksafe.demo.DemoMain
 * }</pre>
 */
public final class DemoMain {

    private DemoMain() {
    }

    public static void main(String[] args) {
        ForkRegistry registry = Forksafe.registry();
        registry.subscribe(ForkEvent.class, "demo.printer", 0,
                e -> System.out.printf("event %-15s worker=%s slot=%d gen=%d kind=%s%n",
                        e.type().displayName(), e.worker().name(), e.worker().slot(), e.worker().generation(),
                        e.worker().kind()));
        registry.subscribe(PreFork.class, "demo.pool.suspend", 0, e -> { });
        registry.subscribe(PostFork.class, "demo.pool.evict", 0, e -> { });
        registry.markConfigured("demo simulator");
        ForkSimulator simulator = ForkSimulator.of(registry);
        simulator.simulateWorker(WorkerKind.PROCESS, 1);
        simulator.simulateWorker(WorkerKind.PROCESS, 2);
        simulator.simulateWorker(WorkerKind.PROCESS, 1);
        System.out.println(registry.status().toJson());
    }
}
