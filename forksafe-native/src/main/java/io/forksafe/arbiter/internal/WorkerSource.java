package io.forksafe.arbiter.internal;

import io.forksafe.WorkerKind;

import java.io.IOException;
import java.util.Map;

/**
 * How a worker comes to life. The {@link Supervisor} owns everything else (slots, generations, heartbeats and
 * timeouts, backoff, signals, status, output, pid file, log); a source only starts the process for a slot and
 * generation. Spawning a cold JVM ({@link SpawnSource}) is one way; restoring a copy of a checkpointed template is the
 * other one the arbiter is growing.
 */
interface WorkerSource extends AutoCloseable {

    /** The kind of worker this source makes, as its events report it. */
    WorkerKind kind();

    /**
     * Starts the worker process for {@code slot} and {@code generation}; {@code env} is the arbiter's environment
     * contract for it ({@link ControlProtocol}).
     *
     * @throws IOException if the process cannot be started (the supervisor retries with backoff, then halts)
     */
    Spawner.Child start(int slot, long generation, Map<String, String> env) throws IOException;

    /**
     * The worker started as {@code pid} ended; {@code reachedArbiter} tells whether it ever connected to the
     * arbiter. Returns a line for the arbiter's log (why it could not start), or null.
     */
    default String ended(long pid, boolean reachedArbiter) {
        return null;
    }

    /** This source's own part of the arbiter's status: the restore image, or the AppCDS archive. */
    default Supervisor.SourceStatus status() {
        return new Supervisor.SourceStatus(null, null);
    }

    @Override
    default void close() {
    }
}
