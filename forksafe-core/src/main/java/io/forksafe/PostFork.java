package io.forksafe;

import java.time.Instant;
import java.util.Map;
import java.util.Objects;

/**
 * Runs in the new worker before anything else runs there (uWSGI {@code postfork}, gunicorn {@code post_fork},
 * {@code after_in_child}, CRaC {@code afterRestore}). Delivered exactly once per worker. Replace copied state here:
 * reseed random generators, evict pooled connections, re-create clients.
 *
 * <pre>{@code
 * Forksafe.subscribe(PostFork.class, e -> pool.softEvictConnections());
 * }</pre>
 *
 * @param worker    the new worker, which is the one running this hook
 * @param container the host that reported it
 * @param settings  read-only settings (container configuration plus {@code forksafe.*} system properties)
 * @param at        when the event was created
 */
public record PostFork(WorkerInfo worker, ContainerInfo container, Map<String, String> settings, Instant at)
        implements ForkEvent {

    public PostFork {
        Objects.requireNonNull(worker, "worker must not be null");
        Objects.requireNonNull(container, "container must not be null");
        settings = settings == null ? Map.of() : Map.copyOf(settings);
        Objects.requireNonNull(at, "at must not be null");
    }

    @Override
    public EventType type() {
        return EventType.POST_FORK;
    }
}
