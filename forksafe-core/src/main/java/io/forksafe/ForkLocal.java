package io.forksafe;

import io.forksafe.spi.HostContext;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Supplier;

/**
 * A value that belongs to one copy of the process: created lazily in each worker, closed before a copy is made
 * ({@link PreFork}) or when the worker ends ({@link WorkerExit}), and created afresh after the copy
 * ({@link PostFork}). This is PyMongo's rule ("create the client after forking, never share it") as a type: use it
 * for database, HTTP, cache and message-queue clients that own sockets, threads or per-process state.
 *
 * <pre>{@code
 * static final ForkLocal<MongoClient> MONGO = ForkLocal.of("mongo", () -> MongoClients.create(uri));
 * ...
 * MONGO.get().getDatabase("app");   // this copy's own client
 * }</pre>
 *
 * <p><b>Which events count.</b> Events about a restored copy ({@link WorkerKind#RESTORE}) and about worker processes
 * ({@link WorkerKind#PROCESS}; in a fresh worker JVM replacing a value early costs nothing). Events about worker
 * <em>threads</em> ({@link WorkerKind#THREAD}) are ignored, because a new thread shares the process's memory and its
 * clients; use a {@link ThreadLocal} for per-thread state.
 *
 * <p><b>Concurrency.</b> {@link #get()} is safe from many threads and lock-free once the value exists. The value is
 * created at most once per <em>epoch</em>; every PreFork, PostFork and WorkerExit starts a new epoch and closes the
 * previous value. A {@code get()} that starts after a PostFork hook of this {@code ForkLocal} has run always returns
 * a value created after it, never the pre-copy one. A reference obtained <em>before</em> the copy can of course still
 * be held by a thread; do not keep the result of {@code get()} in a field, call {@code get()} each time.
 *
 * <p><b>Failures.</b> A failing factory is thrown from {@code get()} and tried again on the next call. A failing
 * closer does not stop the epoch change; it fails the hook, which the registry reports in the status.
 *
 * @param <T> the value's type
 */
public final class ForkLocal<T> implements AutoCloseable {

    /**
     * Closes a value that a {@link ForkLocal} replaces, for values that are not {@link AutoCloseable} or need a
     * different shutdown call (for example {@code ExecutorService::shutdownNow} on Java 17).
     *
     * @param <T> the value's type
     */
    @FunctionalInterface
    public interface Closer<T> {
        /** Releases {@code value}; called at most once per value. */
        void close(T value) throws Exception;
    }

    private record Holder<T>(T value, long epoch) {
    }

    private final String name;
    private final ForkRegistry registry;
    private final Supplier<? extends T> factory;
    private final Closer<? super T> closer;
    private final Object lock = new Object();
    private final List<Subscription> subscriptions;
    private final String detailKey;
    private final AtomicLong created = new AtomicLong();
    private final AtomicLong closed = new AtomicLong();
    private final AtomicLong closeFailures = new AtomicLong();
    private volatile long epoch;
    private volatile Holder<T> current;
    private volatile boolean shutDown;

    private ForkLocal(ForkRegistry registry, String name, Supplier<? extends T> factory, Closer<? super T> closer) {
        this.registry = Objects.requireNonNull(registry, "registry must not be null");
        Objects.requireNonNull(name, "name must not be null: name the value, e.g. \"mongo-client\"");
        if (name.isBlank()) {
            throw new IllegalArgumentException("ForkLocal name must not be blank: name the value, e.g. \"mongo-client\"");
        }
        this.name = name.strip();
        this.factory = Objects.requireNonNull(factory, "factory must not be null: pass e.g. () -> new Client(...)");
        this.closer = Objects.requireNonNull(closer, "closer must not be null");
        String label = "ForkLocal[" + this.name + "]";
        Subscription pre = registry.subscribe(PreFork.class, label, ForkRegistry.DEFAULT_ORDER,
                this::newEpoch);
        Subscription post = registry.subscribe(PostFork.class, label, ForkRegistry.DEFAULT_ORDER,
                this::newEpoch);
        Subscription exit = registry.subscribe(WorkerExit.class, label, ForkRegistry.DEFAULT_ORDER,
                this::newEpoch);
        this.subscriptions = List.of(pre, post, exit);
        this.detailKey = post.name(); // unique in the registry: "ForkLocal[mongo]", "ForkLocal[mongo]#2"
        HostContext.of(registry).statusDetail(detailKey, this::statusDetail);
    }

    /**
     * A per-worker value on the global registry; values that are {@link AutoCloseable} are closed when replaced.
     *
     * @param name    a name for the status, for example {@code "mongo-client"}
     * @param factory creates the value; called lazily, at most once per epoch
     */
    public static <T> ForkLocal<T> of(String name, Supplier<? extends T> factory) {
        return of(Forksafe.registry(), name, factory);
    }

    /** A per-worker value on {@code registry}; values that are {@link AutoCloseable} are closed when replaced. */
    public static <T> ForkLocal<T> of(ForkRegistry registry, String name, Supplier<? extends T> factory) {
        return new ForkLocal<>(registry, name, factory, ForkLocal::closeIfCloseable);
    }

    /**
     * A per-worker value on {@code registry}, released with {@code closer} when replaced.
     *
     * <pre>{@code
     * ForkLocal<ExecutorService> workers =
     *         ForkLocal.of(registry, "io-pool", () -> Executors.newFixedThreadPool(4), ExecutorService::shutdownNow);
     * }</pre>
     */
    public static <T> ForkLocal<T> of(ForkRegistry registry, String name, Supplier<? extends T> factory,
                                      Closer<? super T> closer) {
        return new ForkLocal<>(registry, name, factory, closer);
    }

    private static void closeIfCloseable(Object value) throws Exception {
        if (value instanceof AutoCloseable c) {
            c.close();
        }
    }

    /**
     * This worker's value, created now if this epoch has none yet.
     *
     * @throws IllegalStateException if this {@code ForkLocal} was closed
     * @throws NullPointerException  if the factory returned null
     */
    public T get() {
        Holder<T> h = current;
        if (h != null && h.epoch == epoch) {
            return h.value;
        }
        synchronized (lock) {
            if (shutDown) {
                throw new IllegalStateException("ForkLocal '" + name + "' was closed: create a new ForkLocal, "
                        + "or stop calling get() after close()");
            }
            long e = epoch;
            h = current;
            if (h != null && h.epoch == e) {
                return h.value;
            }
            T value = Objects.requireNonNull(factory.get(),
                    () -> "ForkLocal '" + name + "': the factory returned null; it must return a value");
            current = new Holder<>(value, e);
            created.incrementAndGet();
            return value;
        }
    }

    /** {@code true} if this epoch's value has been created (and not yet replaced). */
    public boolean isPresent() {
        Holder<T> h = current;
        return h != null && h.epoch == epoch;
    }

    /** This value's name, as shown in the status. */
    public String name() {
        return name;
    }

    /** How many values were created so far. */
    public long createdCount() {
        return created.get();
    }

    /** How many values were closed so far (including failed closes). */
    public long closedCount() {
        return closed.get();
    }

    private void newEpoch(ForkEvent event) {
        if (event.worker().kind() == WorkerKind.THREAD) {
            return; // threads share the process's memory: nothing was copied
        }
        Holder<T> old;
        synchronized (lock) {
            epoch++;
            old = current;
            current = null;
        }
        release(old);
    }

    private void release(Holder<T> old) {
        if (old == null) {
            return;
        }
        closed.incrementAndGet();
        try {
            closer.close(old.value);
        } catch (Exception e) {
            closeFailures.incrementAndGet();
            throw new IllegalStateException("ForkLocal '" + name + "': closing the previous value failed: " + e, e);
        }
    }

    /** This value's status section ({@code "forkLocal <name>"}), rendered as JSON, text and JMX. */
    public record Status(String name, boolean present, long epoch, long created, long closed, long closeFailures,
                         boolean shutDown) {
    }

    private Status statusDetail() {
        return new Status(name, isPresent(), epoch, created.get(), closed.get(), closeFailures.get(), shutDown);
    }

    /**
     * Unsubscribes from the registry and closes the current value. Afterwards {@link #get()} throws.
     *
     * @throws IllegalStateException if closing the value failed (the ForkLocal is closed anyway)
     */
    @Override
    public void close() {
        Holder<T> old;
        synchronized (lock) {
            if (shutDown) {
                return;
            }
            shutDown = true;
            epoch++;
            old = current;
            current = null;
        }
        subscriptions.forEach(Subscription::close);
        HostContext.of(registry).removeStatusDetail(detailKey);
        release(old);
    }

    @Override
    public String toString() {
        return "ForkLocal[" + name + (isPresent() ? ", present" : "") + ", epoch " + epoch + "]";
    }
}
