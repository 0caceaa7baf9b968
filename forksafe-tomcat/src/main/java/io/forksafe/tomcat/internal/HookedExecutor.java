package io.forksafe.tomcat.internal;

import io.forksafe.ForkRegistry;
import io.forksafe.HookedThreadFactory;

import org.apache.tomcat.util.threads.ResizableExecutor;
import org.apache.tomcat.util.threads.TaskQueue;
import org.apache.tomcat.util.threads.TaskThreadFactory;
import org.apache.tomcat.util.threads.ThreadPoolExecutor;

import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

/**
 * The executor forksafe sets on a connector's {@code ProtocolHandler}: exactly the pool Tomcat would have built for
 * itself ({@code AbstractEndpoint.createExecutor}: Tomcat's {@link ThreadPoolExecutor} with a {@link TaskQueue} and
 * {@link TaskThreadFactory}, so thread names, daemon flag, priority and context class loader are Tomcat's), with its
 * thread factory wrapped by core's {@link HookedThreadFactory}: every thread is a forksafe worker of kind THREAD.
 *
 * <p>Tomcat shuts down only executors it created; this one is created when the connector starts (its name, which
 * names the threads, includes the bound port by then) and shut down when it stops, waiting for each thread's
 * WorkerExit, so a connector can be stopped and started again. Not API.
 */
public final class HookedExecutor implements ResizableExecutor {

    private final ForkRegistry registry;
    private final Supplier<String> name;
    private final boolean daemon;
    private final int priority;
    private final int minSpareThreads;
    private final int maxThreads;
    private volatile ThreadPoolExecutor pool;
    private volatile HookedThreadFactory threads;

    /**
     * @param name the connector's name ({@code ProtocolHandler.getName()}, e.g. {@code http-nio-8080}), asked when the
     *             pool is created; threads are named {@code <name>-exec-<n>} as Tomcat names them
     */
    public HookedExecutor(ForkRegistry registry, Supplier<String> name, boolean daemon, int priority,
                          int minSpareThreads, int maxThreads) {
        this.registry = registry;
        this.name = name;
        this.daemon = daemon;
        this.priority = priority;
        this.maxThreads = Math.max(1, maxThreads);
        this.minSpareThreads = Math.max(0, Math.min(minSpareThreads, this.maxThreads));
    }

    /** The registry the thread events go to. */
    public ForkRegistry registry() {
        return registry;
    }

    /** Creates the pool (and its first {@code minSpareThreads} threads, as Tomcat does) unless it exists. */
    public synchronized ThreadPoolExecutor start() {
        ThreadPoolExecutor p = pool;
        if (p == null || p.isShutdown()) {
            String prefix = name.get();
            threads = HookedThreadFactory.hooked(registry, prefix + "-exec",
                    new TaskThreadFactory(prefix + "-exec-", daemon, priority));
            TaskQueue queue = new TaskQueue();
            p = new ThreadPoolExecutor(minSpareThreads, maxThreads, 60, TimeUnit.SECONDS, queue, threads);
            queue.setParent(p);
            pool = p;
        }
        return p;
    }

    @Override
    public void execute(Runnable command) {
        ThreadPoolExecutor p = pool;
        if (p == null) {
            p = start();
        }
        p.execute(command);
    }

    /**
     * Stops the pool: running tasks finish (at most {@code timeoutMillis}, then they are interrupted, as Tomcat does
     * with its own executor), then waits for the threads' WorkerExit.
     *
     * @return true if every thread ended and ran its WorkerExit in time
     */
    public boolean stop(long timeoutMillis) {
        ThreadPoolExecutor p;
        HookedThreadFactory t;
        synchronized (this) {
            p = pool;
            t = threads;
            pool = null;
        }
        if (p == null) {
            return true;
        }
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(timeoutMillis);
        p.shutdown();
        try {
            if (!p.awaitTermination(timeoutMillis, TimeUnit.MILLISECONDS)) {
                p.shutdownNow();
            }
            ((TaskQueue) p.getQueue()).setParent(null);
            long left = Math.max(1, TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime()));
            return t.awaitRetired(left);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            p.shutdownNow();
            return false;
        }
    }

    /** Tasks running now (requests being processed, for the most part). */
    @Override
    public int getActiveCount() {
        ThreadPoolExecutor p = pool;
        return p == null ? 0 : p.getActiveCount();
    }

    @Override
    public int getPoolSize() {
        ThreadPoolExecutor p = pool;
        return p == null ? 0 : p.getPoolSize();
    }

    @Override
    public int getMaxThreads() {
        ThreadPoolExecutor p = pool;
        return p == null ? maxThreads : p.getMaximumPoolSize();
    }

    @Override
    public boolean resizePool(int corePoolSize, int maximumPoolSize) {
        ThreadPoolExecutor p = pool;
        if (p == null) {
            return false;
        }
        p.setCorePoolSize(corePoolSize);
        p.setMaximumPoolSize(maximumPoolSize);
        return true;
    }

    @Override
    public boolean resizeQueue(int capacity) {
        return false; // TaskQueue's capacity is fixed, as with Tomcat's own executor
    }

    /** The pool as the status shows it. */
    public record Status(String threadNamePrefix, int minSpareThreads, int maxThreads, int poolSize, int activeCount,
                         HookedThreadFactory.Status threads) {
    }

    /** A snapshot for the connector's status section. */
    public Status status() {
        HookedThreadFactory t = threads;
        return new Status(t == null ? null : t.poolName() + "-", minSpareThreads, getMaxThreads(), getPoolSize(),
                getActiveCount(), t == null ? null : t.status());
    }

    @Override
    public String toString() {
        return "forksafe HookedExecutor[" + (threads == null ? "not started" : threads.toString()) + "]";
    }

}
