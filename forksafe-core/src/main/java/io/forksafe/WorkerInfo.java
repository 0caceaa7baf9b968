package io.forksafe;

import java.util.Objects;

/**
 * Identity of one worker: a worker JVM, a worker thread or a restored copy.
 *
 * <pre>{@code
 * WorkerInfo me = WorkerInfo.currentProcess(1, "worker-1", 0);
 * }</pre>
 *
 * @param slot       stable worker number; a respawned worker keeps its slot
 * @param name       human-readable name (thread name, "worker-2", ...)
 * @param kind       which kind of copy this worker is
 * @param pid        the OS process id of the worker, or {@link #UNKNOWN_PID} before it exists
 * @param parentPid  the OS process id of the process that created it, or {@link #UNKNOWN_PID}
 * @param generation grows by one every time the slot is filled again (respawn, restore, thread replaced)
 */
public record WorkerInfo(int slot, String name, WorkerKind kind, long pid, long parentPid, long generation) {

    /** The pid of a worker that does not exist yet, or that the host cannot tell. */
    public static final long UNKNOWN_PID = -1;

    public WorkerInfo {
        Objects.requireNonNull(name, "name must not be null");
        Objects.requireNonNull(kind, "kind must not be null");
        if (slot < 0) {
            throw new IllegalArgumentException("slot must be >= 0, got " + slot);
        }
        if (generation < 0) {
            throw new IllegalArgumentException("generation must be >= 0, got " + generation);
        }
    }

    /** This JVM as a {@link WorkerKind#PROCESS} worker, with the parent taken from {@link ProcessHandle}. */
    public static WorkerInfo currentProcess(int slot, String name, long generation) {
        ProcessHandle self = ProcessHandle.current();
        long parent = self.parent().map(ProcessHandle::pid).orElse(UNKNOWN_PID);
        return new WorkerInfo(slot, name, WorkerKind.PROCESS, self.pid(), parent, generation);
    }

    /**
     * A worker thread of this JVM: pid and parent pid are both {@code ProcessHandle.current().pid()}. In a restored
     * copy that is the template's pid (the JDK caches it), so adapters use {@link #childThread} of
     * {@code registry.processWorker()} instead.
     */
    public static WorkerInfo thread(int slot, String threadName, long generation) {
        long pid = ProcessHandle.current().pid();
        return new WorkerInfo(slot, threadName, WorkerKind.THREAD, pid, pid, generation);
    }

    /**
     * A worker thread of this process worker: pid and parent pid are this worker's pid, which in a restored copy is
     * the copy's own (as its host adapter identified it), not the template's.
     *
     * <pre>{@code
     * WorkerInfo info = registry.processWorker().childThread(slot, thread.getName(), generation);
     * }</pre>
     */
    public WorkerInfo childThread(int slot, String threadName, long generation) {
        return new WorkerInfo(slot, threadName, WorkerKind.THREAD, pid, pid, generation);
    }

    /** A copy of this worker with the pid set, for example once the child process exists. */
    public WorkerInfo withPid(long newPid) {
        return new WorkerInfo(slot, name, kind, newPid, parentPid, generation);
    }

    /**
     * A key that tells workers apart: kind, pid, slot and generation, plus the name for {@link WorkerKind#THREAD}
     * workers (two thread pools in one process number their slots independently). Two adapters that report the same
     * worker produce the same identity, which is what makes {@link PostFork} exactly-once.
     */
    public String identity() {
        String base = kind + "/" + pid + "/" + slot + "/" + generation;
        return kind == WorkerKind.THREAD ? base + "/" + name : base;
    }
}
