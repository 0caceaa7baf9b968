package io.forksafe;

/**
 * The entry point: static access to the process-wide {@link ForkRegistry}. On first use it loads zero-code hooks
 * ({@link io.forksafe.spi.ForkHookProvider}) from the context class loader.
 *
 * <pre>{@code
 * Forksafe.subscribe(PostFork.class, e -> pool.softEvictConnections());
 * Forksafe.subscribe(PreFork.class, e -> pool.suspendPool());
 * Forksafe.autoconfigure();                       // let the host adapter on the class path wire itself
 * System.out.println(Forksafe.status().toJson()); // what was configured, which hooks ran
 * }</pre>
 */
public final class Forksafe {

    private static volatile ForkRegistry global;

    private Forksafe() {
    }

    /** The process-wide registry, created on first use. */
    public static ForkRegistry registry() {
        ForkRegistry r = global;
        if (r != null) {
            return r;
        }
        synchronized (Forksafe.class) {
            if (global == null) {
                ForkRegistry created = new ForkRegistry("global");
                global = created;
                created.loadHookProviders(contextLoader());
            }
            return global;
        }
    }

    static ForkRegistry globalIfCreated() {
        return global;
    }

    private static ClassLoader contextLoader() {
        ClassLoader cl = Thread.currentThread().getContextClassLoader();
        return cl != null ? cl : Forksafe.class.getClassLoader();
    }

    /**
     * Subscribes {@code hook} to events of {@code type}.
     *
     * @throws NullPointerException if {@code type} or {@code hook} is null
     * @see ForkRegistry#subscribe(Class, ForkHook)
     */
    public static <E extends ForkEvent> Subscription subscribe(Class<E> type, ForkHook<? super E> hook) {
        return registry().subscribe(type, hook);
    }

    /**
     * Subscribes with an order value (lower first; for {@link PreFork}, lower last).
     *
     * @throws NullPointerException if {@code type} or {@code hook} is null
     */
    public static <E extends ForkEvent> Subscription subscribe(Class<E> type, int order, ForkHook<? super E> hook) {
        return registry().subscribe(type, order, hook);
    }

    /** Discovers host adapters and lets them configure themselves; returns the status. */
    public static ForksafeStatus autoconfigure() {
        return registry().autoconfigure();
    }

    /** For manual wiring: records that {@code container} calls forksafe's events itself. */
    public static void markConfigured(String container) {
        registry().markConfigured(container);
    }

    /** A read-only snapshot of the debug status. */
    public static ForksafeStatus status() {
        return registry().status();
    }
}
