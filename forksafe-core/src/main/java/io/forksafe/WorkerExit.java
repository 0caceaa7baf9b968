package io.forksafe;

import java.time.Instant;
import java.util.Map;
import java.util.Objects;

/**
 * Runs in the worker as it shuts down (gunicorn {@code worker_exit}, uFork {@code child_pre_exit}).
 *
 * <pre>{@code
 * Forksafe.subscribe(WorkerExit.class, e -> client.close());
 * }</pre>
 *
 * @param worker    the worker that is ending
 * @param container the host that reported it
 * @param settings  read-only settings (container configuration plus {@code forksafe.*} system properties)
 * @param at        when the event was created
 * @param reason    why the worker ends, for example {@code "idle timeout"} or {@code "server stopping"}
 */
public record WorkerExit(WorkerInfo worker, ContainerInfo container, Map<String, String> settings, Instant at, String reason)
        implements ForkEvent {

    public WorkerExit {
        Objects.requireNonNull(worker, "worker must not be null");
        Objects.requireNonNull(container, "container must not be null");
        settings = settings == null ? Map.of() : Map.copyOf(settings);
        Objects.requireNonNull(at, "at must not be null");
        reason = reason == null ? "" : reason;
    }

    @Override
    public EventType type() {
        return EventType.WORKER_EXIT;
    }
}
