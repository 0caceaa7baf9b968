package io.forksafe.spi;

import io.forksafe.ForkRegistry;

import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * When this process may start serving. Normally at once; in a <em>standby</em> (a worker the arbiter keeps booted and
 * idle, {@code --standby K}) only when the host promotes it. A server adapter does what it would do once its server
 * has started (accept connections, publish the process {@link io.forksafe.PostWorkerInit}) through
 * {@link #whenServing}: at once in a normal worker, at the promotion in a standby. So a promoted standby gets every
 * event a serving worker gets, in the same order: {@code PostFork} when it booted, {@code PostWorkerInit} when it
 * starts serving.
 *
 * <p>The host side ({@link #hold}, {@link #open}) belongs to the process's supervisor (the arbiter worker); adapters
 * only call {@link #whenServing} and {@link #held}. One gate per registry.
 *
 * <pre>{@code
 * ServingGate gate = ServingGate.of(registry);
 * if (gate.held()) {
 *     connector.setAccepting(false);        // a standby: no connection before the promotion
 * }
 * gate.whenServing("myhost", () -> {
 *     connector.setAccepting(true);
 *     HostContext.of(registry).postWorkerInit(registry.processWorker(), container);
 * });
 * }</pre>
 */
public final class ServingGate {

    private final Object lock = new Object();
    private final List<Waiting> waiting = new ArrayList<>();
    private final List<Runnable> onWaiting = new ArrayList<>();
    private boolean held;
    private boolean opened;

    private record Waiting(String who, Runnable action) {
    }

    private ServingGate() {
    }

    /** The gate of {@code registry}'s process (created open on first use). */
    public static ServingGate of(ForkRegistry registry) {
        return HostContext.of(Objects.requireNonNull(registry, "registry must not be null"))
                .state(ServingGate.class, ServingGate::new);
    }

    /**
     * Runs {@code startServing} now if this process may serve, or else when it is promoted (actions run in the order
     * they were given, on the promoting thread). {@code who} names the caller in the status and in errors.
     */
    public void whenServing(String who, Runnable startServing) {
        Objects.requireNonNull(who, "who must not be null");
        Objects.requireNonNull(startServing, "startServing must not be null");
        List<Runnable> listeners;
        synchronized (lock) {
            if (!held) {
                listeners = null;
            } else {
                waiting.add(new Waiting(who, startServing));
                listeners = List.copyOf(onWaiting);
            }
        }
        if (listeners == null) {
            startServing.run();
            return;
        }
        listeners.forEach(Runnable::run);
    }

    /** Whether this process is a standby that has not been promoted yet: an adapter must not accept connections. */
    public boolean held() {
        synchronized (lock) {
            return held;
        }
    }

    /** Who waits for the promotion, in order (empty when the gate is open). */
    public List<String> waiting() {
        synchronized (lock) {
            return waiting.stream().map(Waiting::who).toList();
        }
    }

    // ------------------------------------------------------------------ host side

    /**
     * Host: this process is a standby; until {@link #open}, {@link #whenServing} queues. Call it before the
     * application starts its server.
     *
     * @throws IllegalStateException if the gate was already opened (a promoted process is not a standby again)
     */
    public void hold() {
        synchronized (lock) {
            if (opened) {
                throw new IllegalStateException("this process was already promoted; a worker is a standby once, "
                        + "before it serves");
            }
            held = true;
        }
    }

    /** Host: runs {@code listener} whenever an adapter starts waiting for the promotion. */
    public void onWaiting(Runnable listener) {
        synchronized (lock) {
            onWaiting.add(Objects.requireNonNull(listener, "listener must not be null"));
        }
    }

    /**
     * Host: promotes this process. Runs every waiting action in order; one that throws does not stop the others (its
     * failure is returned, "who: exception").
     *
     * @return the failures, empty when every action ran
     */
    public List<String> open() {
        List<Waiting> run;
        synchronized (lock) {
            held = false;
            opened = true;
            run = List.copyOf(waiting);
            waiting.clear();
        }
        List<String> failures = new ArrayList<>();
        for (Waiting w : run) {
            try {
                w.action().run();
            } catch (RuntimeException e) {
                failures.add(w.who() + ": " + e);
            }
        }
        return failures;
    }
}
