package io.forksafe;

/**
 * What kind of copy a worker is. The JVM cannot {@code fork()}, so every worker is one of these real copy points.
 */
public enum WorkerKind {
    /** A separate worker JVM: started by a forking host (uWSGI) or spawned by the forksafe arbiter. */
    PROCESS,
    /** A worker thread created by a threaded host (Jetty, Undertow). */
    THREAD,
    /** A JVM restored from a snapshot (CRaC, CRIU, SnapStart): an exact clone of the checkpointed state. */
    RESTORE;

    /**
     * Whether an event of this kind means "this process's memory is (about to be) copied": true for processes and
     * restored snapshots; false for threads, which share the process's memory.
     *
     * <pre>{@code
     * registry.subscribe(PostFork.class, e -> { if (e.worker().kind().copiesMemory()) pool.softEvictConnections(); });
     * }</pre>
     */
    public boolean copiesMemory() {
        return this != THREAD;
    }
}
