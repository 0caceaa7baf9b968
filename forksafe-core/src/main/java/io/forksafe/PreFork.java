package io.forksafe;

import java.time.Instant;
import java.util.Map;
import java.util.Objects;

/**
 * Runs in the parent before a worker is created (gunicorn {@code pre_fork}, {@code os.register_at_fork(before=)},
 * CRaC {@code beforeCheckpoint}). Subscribers run in <b>reverse</b> order. Quiesce here: suspend pools, flush files.
 *
 * <pre>{@code
 * Forksafe.subscribe(PreFork.class, e -> pool.suspendPool());
 * }</pre>
 *
 * @param worker    the worker about to be created (its pid is not known yet)
 * @param container the host that reported it
 * @param settings  read-only settings (container configuration plus {@code forksafe.*} system properties)
 * @param at        when the event was created
 */
public record PreFork(WorkerInfo worker, ContainerInfo container, Map<String, String> settings, Instant at)
        implements ForkEvent {

    public PreFork {
        Objects.requireNonNull(worker, "worker must not be null");
        Objects.requireNonNull(container, "container must not be null");
        settings = settings == null ? Map.of() : Map.copyOf(settings);
        Objects.requireNonNull(at, "at must not be null");
    }

    @Override
    public EventType type() {
        return EventType.PRE_FORK;
    }
}
