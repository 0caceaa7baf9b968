package io.forksafe;

/** Small factories for test events. */
final class TestWorkers {

    static final ContainerInfo TEST_HOST = ContainerInfo.of("testhost", "1.0");

    private TestWorkers() {
    }

    static WorkerInfo process(int slot) {
        return new WorkerInfo(slot, "worker-" + slot, WorkerKind.PROCESS, 1000 + slot, 999, 0);
    }

    static WorkerInfo thread(int slot, long generation) {
        return WorkerInfo.thread(slot, "pool-thread-" + slot, generation);
    }
}
