package io.forksafe.hikari;

import io.forksafe.spi.HostContext;
import com.zaxxer.hikari.HikariDataSource;
import com.zaxxer.hikari.HikariPoolMXBean;

import io.forksafe.ForkEvent;
import io.forksafe.ForkRegistry;
import io.forksafe.Forksafe;
import io.forksafe.PostFork;
import io.forksafe.PostForkParent;
import io.forksafe.PreFork;
import io.forksafe.Subscription;

import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Keeps a HikariCP pool's connections from crossing a copy: SQLAlchemy's {@code engine.dispose()} rule for the JVM.
 * HikariCP is an optional dependency of forksafe-core; this class is only loaded when you use it.
 *
 * <ul>
 *   <li>{@link PreFork}: {@code suspendPool()} (new borrowers wait), {@code softEvictConnections()} (idle
 *       connections close now, borrowed ones when returned), then wait up to the drain timeout until the pool holds
 *       no physical connection: none in the pool, none being opened or closed on HikariCP's adder and closer
 *       threads. If borrowed connections are not returned in time the hook fails, which fails a CRaC checkpoint
 *       instead of snapshotting an open socket.</li>
 *   <li>{@link PostFork} (in the copy): {@code softEvictConnections()} again, so nothing made before the copy is
 *       handed out, then {@code resumePool()}, which refills the pool with new connections.</li>
 *   <li>{@link PostForkParent} (the original goes on, or a checkpoint failed): {@code resumePool()}.</li>
 * </ul>
 * Events about worker threads ({@link io.forksafe.WorkerKind#THREAD}) are ignored: threads share the pool.
 *
 * <p>The pool must be created with {@code setAllowPoolSuspension(true)}; otherwise {@link #install} says so.
 *
 * <pre>{@code
 * HikariConfig config = new HikariConfig();
 * config.setJdbcUrl(url);
 * config.setAllowPoolSuspension(true);
 * HikariDataSource pool = new HikariDataSource(config);
 * HikariPoolRecipe.install(pool);          // global registry; keep the result to uninstall
 * }</pre>
 */
public final class HikariPoolRecipe implements AutoCloseable {

    /** How long PreFork waits for borrowed connections to come back, unless another timeout is given. */
    public static final Duration DEFAULT_DRAIN_TIMEOUT = Duration.ofSeconds(10);

    private final ForkRegistry registry;
    private final HikariDataSource dataSource;
    private final Duration drainTimeout;
    private final String poolName;
    private final String detailKey;
    private final List<Subscription> subscriptions;
    private final AtomicLong suspends = new AtomicLong();
    private final AtomicLong resumes = new AtomicLong();
    private final AtomicLong evictions = new AtomicLong();
    private volatile boolean suspended;
    private volatile Duration lastDrain;
    private volatile Instant lastPreFork;
    private volatile Instant lastResume;

    private HikariPoolRecipe(ForkRegistry registry, HikariDataSource dataSource, Duration drainTimeout) {
        this.registry = Objects.requireNonNull(registry, "registry must not be null");
        this.dataSource = Objects.requireNonNull(dataSource, "dataSource must not be null");
        this.drainTimeout = Objects.requireNonNull(drainTimeout, "drainTimeout must not be null");
        if (drainTimeout.isNegative()) {
            throw new IllegalArgumentException("drainTimeout must not be negative, got " + drainTimeout);
        }
        this.poolName = String.valueOf(dataSource.getPoolName());
        if (!dataSource.isAllowPoolSuspension()) {
            throw new IllegalArgumentException("HikariCP pool '" + poolName + "' does not allow suspension, so "
                    + "forksafe cannot stop it handing out connections during a copy: call "
                    + "config.setAllowPoolSuspension(true) (property allowPoolSuspension=true) before creating "
                    + "the pool");
        }
        if (dataSource.isClosed()) {
            throw new IllegalArgumentException("HikariCP pool '" + poolName + "' is already closed: install the "
                    + "recipe on the pool the application uses");
        }
        String label = "HikariPoolRecipe[" + poolName + "]";
        Subscription pre = registry.subscribe(PreFork.class, label, ForkRegistry.DEFAULT_ORDER, this::beforeCopy);
        Subscription post = registry.subscribe(PostFork.class, label, ForkRegistry.DEFAULT_ORDER, this::inCopy);
        Subscription parent = registry.subscribe(PostForkParent.class, label, ForkRegistry.DEFAULT_ORDER,
                this::inOriginal);
        this.subscriptions = List.of(pre, post, parent);
        this.detailKey = pre.name();
        HostContext.of(registry).statusDetail(detailKey, this::statusDetail);
    }

    /** Installs the recipe for {@code dataSource} on the global registry, with the default drain timeout. */
    public static HikariPoolRecipe install(HikariDataSource dataSource) {
        return install(Forksafe.registry(), dataSource, DEFAULT_DRAIN_TIMEOUT);
    }

    /** Installs the recipe for {@code dataSource} on {@code registry}, with the default drain timeout. */
    public static HikariPoolRecipe install(ForkRegistry registry, HikariDataSource dataSource) {
        return install(registry, dataSource, DEFAULT_DRAIN_TIMEOUT);
    }

    /**
     * Installs the recipe with an explicit drain timeout: how long PreFork waits for borrowed connections.
     *
     * @throws IllegalArgumentException if the pool does not allow suspension or is closed
     */
    public static HikariPoolRecipe install(ForkRegistry registry, HikariDataSource dataSource,
                                           Duration drainTimeout) {
        return new HikariPoolRecipe(registry, dataSource, drainTimeout);
    }

    private static boolean isCopyEvent(ForkEvent e) {
        return e.worker().kind().copiesMemory();
    }

    private void beforeCopy(PreFork event) throws InterruptedException {
        if (!isCopyEvent(event)) {
            return;
        }
        lastPreFork = Instant.now();
        HikariPoolMXBean pool = dataSource.getHikariPoolMXBean();
        if (pool == null) {
            return; // the pool has not started: there is no connection to keep from the copy
        }
        long t0 = System.nanoTime();
        pool.suspendPool();
        suspended = true;
        suspends.incrementAndGet();
        pool.softEvictConnections();
        evictions.incrementAndGet();
        long deadline = t0 + drainTimeout.toNanos();
        // Done when the pool holds no connection and HikariCP's own threads are idle. The pool's count alone is not
        // enough: a connection being opened when the pool was suspended joins it afterwards, and an evicted one is
        // closed later, on the pool's closer thread. Either would be an open socket in the copy.
        while (true) {
            int total = pool.getTotalConnections();
            List<String> busy = total == 0 ? busyPoolThreads() : List.of();
            if (total == 0 && busy.isEmpty() && pool.getTotalConnections() == 0) {
                break;
            }
            if (System.nanoTime() - deadline >= 0) {
                lastDrain = Duration.ofNanos(System.nanoTime() - t0);
                throw new IllegalStateException("HikariCP pool '" + poolName + "': " + (total > 0
                        ? pool.getActiveConnections() + " connection(s) still borrowed after waiting " + drainTimeout
                        + " before the copy; they would be copied with the process. Return connections before the "
                        + "copy (finish requests in an earlier PreFork hook) or install the recipe with a longer "
                        + "drain timeout."
                        : "HikariCP's " + String.join(" and ", busy) + " still opening or closing a connection after "
                        + drainTimeout + " before the copy; check that the database answers, or install the recipe "
                        + "with a longer drain timeout.") + " The pool stays suspended until PostFork or PostForkParent.");
            }
            if (total > 0) {
                pool.softEvictConnections(); // one that was being opened at suspension has joined since
            }
            Thread.sleep(5);
        }
        lastDrain = Duration.ofNanos(System.nanoTime() - t0);
    }

    /**
     * The names of this pool's connection adder and closer threads that are running a task now (opening or closing
     * a physical connection). HikariCP names them {@code <pool>:connection-adder} and {@code <pool>:connection-closer};
     * a pool built with its own {@code ThreadFactory} has other names, and then only the pool's count is checked.
     */
    private List<String> busyPoolThreads() {
        String adder = poolName + ":connection-adder";
        String closer = poolName + ":connection-closer";
        ThreadGroup root = Thread.currentThread().getThreadGroup();
        while (root.getParent() != null) {
            root = root.getParent();
        }
        Thread[] threads = new Thread[root.activeCount() + 16];
        int n = root.enumerate(threads, true);
        List<String> busy = new java.util.ArrayList<>(2);
        for (int i = 0; i < n; i++) {
            Thread t = threads[i];
            String name = t.getName();
            if ((name.equals(adder) || name.equals(closer)) && runsHikariCode(t)) {
                busy.add(name);
            }
        }
        return busy;
    }

    /** An idle executor thread waits in its queue; a busy one has HikariCP frames on its stack. */
    private static boolean runsHikariCode(Thread t) {
        for (StackTraceElement frame : t.getStackTrace()) {
            if (frame.getClassName().startsWith("com.zaxxer.hikari.")) {
                return true;
            }
        }
        return false;
    }

    private void inCopy(PostFork event) {
        if (!isCopyEvent(event)) {
            return;
        }
        HikariPoolMXBean pool = dataSource.getHikariPoolMXBean();
        if (pool == null) {
            return;
        }
        pool.softEvictConnections(); // anything from before the copy goes, before new borrowers get in
        evictions.incrementAndGet();
        resume(pool);
    }

    private void inOriginal(PostForkParent event) {
        if (!isCopyEvent(event)) {
            return;
        }
        HikariPoolMXBean pool = dataSource.getHikariPoolMXBean();
        if (pool != null) {
            resume(pool);
        }
    }

    private void resume(HikariPoolMXBean pool) {
        pool.resumePool();
        suspended = false;
        resumes.incrementAndGet();
        lastResume = Instant.now();
    }

    /** {@code true} between a PreFork and the PostFork or PostForkParent that resumes the pool. */
    public boolean isSuspended() {
        return suspended;
    }

    /** How long the last PreFork waited for the pool to hold no connection, or null. */
    public Duration lastDrain() {
        return lastDrain;
    }

    /**
     * This recipe's status section, rendered as JSON, text and JMX; the connection counts are null while the pool is
     * closed.
     */
    public record Status(String pool, boolean suspended, Integer totalConnections, Integer activeConnections,
                         Integer idleConnections, long suspends, long softEvictions, long resumes,
                         Duration drainTimeout, Duration lastDrain, Instant lastPreFork, Instant lastResume) {
    }

    private Status statusDetail() {
        HikariPoolMXBean pool = dataSource.isClosed() ? null : dataSource.getHikariPoolMXBean();
        return new Status(poolName, suspended, pool == null ? null : pool.getTotalConnections(),
                pool == null ? null : pool.getActiveConnections(), pool == null ? null : pool.getIdleConnections(),
                suspends.get(), evictions.get(), resumes.get(), drainTimeout, lastDrain, lastPreFork, lastResume);
    }

    /** Unsubscribes; a suspended pool is resumed so the application is not left waiting. */
    @Override
    public void close() {
        subscriptions.forEach(Subscription::close);
        HostContext.of(registry).removeStatusDetail(detailKey);
        HikariPoolMXBean pool = dataSource.isClosed() ? null : dataSource.getHikariPoolMXBean();
        if (suspended && pool != null) {
            resume(pool);
        }
    }

    @Override
    public String toString() {
        return "HikariPoolRecipe[" + poolName + (suspended ? ", suspended" : "") + "]";
    }
}
