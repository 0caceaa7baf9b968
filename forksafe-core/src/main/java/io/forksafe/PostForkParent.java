package io.forksafe;

import java.time.Instant;
import java.util.Map;
import java.util.Objects;

/**
 * Runs in the parent once the worker exists ({@code after_in_parent}); {@code worker().pid()} is the child's pid.
 *
 * <pre>{@code
 * Forksafe.subscribe(PostForkParent.class, e -> pool.resumePool());
 * }</pre>
 *
 * @param worker    the worker just created, with its pid
 * @param container the host that reported it
 * @param settings  read-only settings (container configuration plus {@code forksafe.*} system properties)
 * @param at        when the event was created
 */
public record PostForkParent(WorkerInfo worker, ContainerInfo container, Map<String, String> settings, Instant at)
        implements ForkEvent {

    public PostForkParent {
        Objects.requireNonNull(worker, "worker must not be null");
        Objects.requireNonNull(container, "container must not be null");
        settings = settings == null ? Map.of() : Map.copyOf(settings);
        Objects.requireNonNull(at, "at must not be null");
    }

    @Override
    public EventType type() {
        return EventType.POST_FORK_PARENT;
    }
}
