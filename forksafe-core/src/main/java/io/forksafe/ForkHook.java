package io.forksafe;

/**
 * A subscriber: code to run when an event of its type is published. It may throw; the registry still runs every
 * other subscriber and reports the failure in one {@link ForkHookException} and in the status.
 *
 * <pre>{@code
 * ForkHook<PostFork> reseed = e -> secureRandom.setSeed(SecureRandom.getSeed(32));
 * Forksafe.subscribe(PostFork.class, reseed);
 * }</pre>
 *
 * @param <E> the event type
 */
@FunctionalInterface
public interface ForkHook<E extends ForkEvent> {

    /** Handles one event. */
    void onEvent(E event) throws Exception;
}
