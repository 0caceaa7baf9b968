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
    RESTORE
}
