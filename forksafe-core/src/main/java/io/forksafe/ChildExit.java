package io.forksafe;

import java.time.Instant;
import java.util.Map;
import java.util.Objects;

/**
 * Runs in the parent after a worker has ended and been reaped (gunicorn {@code child_exit}).
 *
 * <pre>{@code
 * Forksafe.subscribe(ChildExit.class, e -> metrics.count("worker.exit", e.exitStatus()));
 * }</pre>
 *
 * @param worker    the worker that ended
 * @param container the host that reported it
 * @param settings  read-only settings (container configuration plus {@code forksafe.*} system properties)
 * @param at        when the event was created
 * @param exitStatus the worker's exit code, or 128 + signal number when a signal ended it
 */
public record ChildExit(WorkerInfo worker, ContainerInfo container, Map<String, String> settings, Instant at, int exitStatus)
        implements ForkEvent {

    public ChildExit {
        Objects.requireNonNull(worker, "worker must not be null");
        Objects.requireNonNull(container, "container must not be null");
        settings = settings == null ? Map.of() : Map.copyOf(settings);
        Objects.requireNonNull(at, "at must not be null");
    }

    @Override
    public EventType type() {
        return EventType.CHILD_EXIT;
    }
}
