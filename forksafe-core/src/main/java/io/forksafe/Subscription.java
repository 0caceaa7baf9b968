package io.forksafe;

/**
 * A live subscription. Closing it removes the hook; closing twice is harmless.
 *
 * <pre>{@code
 * try (Subscription s = Forksafe.subscribe(PostFork.class, e -> reconnect())) {
 *     ...
 * }
 * }</pre>
 */
public interface Subscription extends AutoCloseable {

    /** The name this hook has in the status. */
    String name();

    /** The event type it listens to (may be {@link ForkEvent} itself for all events). */
    Class<? extends ForkEvent> eventType();

    /** The order value given at subscribe time; lower runs first (last for {@link PreFork}). */
    int order();

    /** {@code true} until {@link #close()} is called. */
    boolean isActive();

    /** Removes the hook. It does not run for events published after this returns. */
    @Override
    void close();
}
