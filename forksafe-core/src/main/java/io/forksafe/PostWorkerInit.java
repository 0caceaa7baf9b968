package io.forksafe;

import java.time.Instant;
import java.util.Map;
import java.util.Objects;

/**
 * Runs in the worker once its container has started and is ready to serve (gunicorn {@code post_worker_init}).
 *
 * <pre>{@code
 * Forksafe.subscribe(PostWorkerInit.class, e -> warmUp());
 * }</pre>
 *
 * @param worker    the worker that is now ready
 * @param container the host that reported it
 * @param settings  read-only settings (container configuration plus {@code forksafe.*} system properties)
 * @param at        when the event was created
 */
public record PostWorkerInit(WorkerInfo worker, ContainerInfo container, Map<String, String> settings, Instant at)
        implements ForkEvent {

    public PostWorkerInit {
        Objects.requireNonNull(worker, "worker must not be null");
        Objects.requireNonNull(container, "container must not be null");
        settings = settings == null ? Map.of() : Map.copyOf(settings);
        Objects.requireNonNull(at, "at must not be null");
    }

    @Override
    public EventType type() {
        return EventType.POST_WORKER_INIT;
    }
}
