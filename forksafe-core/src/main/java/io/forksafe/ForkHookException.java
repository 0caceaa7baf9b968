package io.forksafe;

import java.util.List;

/**
 * Thrown once after all subscribers of an event have run, when at least one failed. Each failure is attached as a
 * suppressed exception, in the order the hooks ran.
 *
 * <pre>{@code
 * try {
 *     registry.publish(event);
 * } catch (ForkHookException e) {
 *     for (Throwable failure : e.getSuppressed()) log.warn("hook failed", failure);
 * }
 * }</pre>
 */
public class ForkHookException extends RuntimeException {

    private static final long serialVersionUID = 1L;

    private final transient ForkEvent event;

    /** Creates the aggregate for {@code event}; failures are added with {@link #addSuppressed(Throwable)}. */
    public ForkHookException(ForkEvent event, String message) {
        super(message);
        this.event = event;
    }

    /** The event whose hooks failed. */
    public ForkEvent event() {
        return event;
    }

    /** The hook failures, in the order the hooks ran. */
    public List<Throwable> failures() {
        return List.of(getSuppressed());
    }
}
