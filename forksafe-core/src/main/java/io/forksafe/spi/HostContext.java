package io.forksafe.spi;

import io.forksafe.ContainerInfo;
import io.forksafe.ForkRegistry;
import io.forksafe.WorkerInfo;

import java.util.Map;
import java.util.function.Supplier;

/**
 * What a host adapter does with a {@link ForkRegistry}, apart from what applications do with it (subscribe, read the
 * status): publish the events of the workers it sees, say who this process is, report configuration errors and
 * notes, and contribute status sections. slf4j keeps {@code LoggerFactory} (for users) apart from
 * {@code SLF4JServiceProvider} (for providers); this is forksafe's provider side. Applications have no reason to call
 * it: {@link io.forksafe.testing.ForkSimulator} simulates events in tests.
 *
 * <p>One per registry, obtained with {@link #of(ForkRegistry)}; {@link ContainerAdapter#configure} receives it.
 *
 * <pre>{@code
 * HostContext host = HostContext.of(registry);
 * host.configured("myhost", ContainerInfo.of("myhost", "1.0"));
 * WorkerInfo worker = WorkerInfo.currentProcess(1, "worker-1", 0);
 * host.identifyProcess(worker);
 * host.postFork(worker, ContainerInfo.of("myhost", "1.0"));   // runs the applications' PostFork hooks
 * }</pre>
 */
public interface HostContext {

    /** The host side of {@code registry}. */
    static HostContext of(ForkRegistry registry) {
        return io.forksafe.internal.HostAccess.of(registry);
    }

    /**
     * {@code base}, or {@code base-2}, {@code base-3}, ... if {@code registry}'s status already has a section of that
     * name: the key for one more server of the same host in {@link #statusDetail}.
     */
    static String freeDetailKey(ForkRegistry registry, String base) {
        java.util.Map<String, Object> details = registry.status().details();
        if (!details.containsKey(base)) {
            return base;
        }
        for (int i = 2; ; i++) {
            if (!details.containsKey(base + "-" + i)) {
                return base + "-" + i;
            }
        }
    }

    /** The registry this context publishes to: for subscribing, and for its status. */
    ForkRegistry registry();

    /**
     * Publishes {@link io.forksafe.PreFork} for {@code worker}, with the current settings.
     *
     * @throws io.forksafe.ForkHookException after all subscribers ran, if any of them threw
     */
    void preFork(WorkerInfo worker, ContainerInfo container);

    /** Publishes {@link io.forksafe.PostFork} for {@code worker} (ignored if it already had one). */
    void postFork(WorkerInfo worker, ContainerInfo container);

    /** Publishes {@link io.forksafe.PostForkParent} for {@code worker}, whose pid is the child's. */
    void postForkParent(WorkerInfo worker, ContainerInfo container);

    /** Publishes {@link io.forksafe.PostWorkerInit} for {@code worker}. */
    void postWorkerInit(WorkerInfo worker, ContainerInfo container);

    /** Publishes {@link io.forksafe.WorkerExit} for {@code worker}. */
    void workerExit(WorkerInfo worker, ContainerInfo container, String reason);

    /** Publishes {@link io.forksafe.ChildExit} for {@code worker}. */
    void childExit(WorkerInfo worker, ContainerInfo container, int exitStatus);

    /** Publishes {@code event} as it is (its time and settings included). */
    void publish(io.forksafe.ForkEvent event);

    /** Records who this process is as a worker; see {@link ForkRegistry#processWorker()}. */
    void identifyProcess(WorkerInfo worker);

    /** Adds container configuration to the settings that events carry. Null values remove a key. */
    void putSettings(Map<String, String> settings);

    /** Adds a line to the autoconfigure log (and to the {@code io.forksafe} system logger). */
    void log(String line);

    /**
     * Records a configuration error: the status becomes {@code "<host> error: <reason>"} and stays an error even if
     * another adapter configures itself later. The reason should name the fix.
     */
    void reportError(String host, String reason);

    /**
     * Records that {@code host} is wired: status {@code "<host> hook configured"} (unless an error was reported) and
     * environment {@code container}.
     */
    void configured(String host, ContainerInfo container);

    /** Adds or replaces a plain statement in the status, for example what a host cannot report. */
    void note(String key, String text);

    /**
     * Adds a host-specific section to the status; the supplier is called on every snapshot. Return a record (a public
     * type of an exported package) rather than a hand-built map: the snapshot turns records into their components
     * once, and JSON, the text dump and JMX all show that ({@code ForksafeThreadPool.Status},
     * {@code HookedThreadFactory.Status}).
     */
    void statusDetail(String key, Supplier<?> supplier);

    /** Removes a section added with {@link #statusDetail}. */
    void removeStatusDetail(String key);

    /**
     * The adapter state of type {@code type} that this registry holds, created by {@code create} on first use. It
     * lives exactly as long as the registry (no static map keyed by registry).
     */
    <T> T state(Class<T> type, Supplier<? extends T> create);
}
