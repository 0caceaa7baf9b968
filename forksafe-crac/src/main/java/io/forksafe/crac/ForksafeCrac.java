package io.forksafe.crac;

import io.forksafe.ContainerInfo;
import io.forksafe.ForkRegistry;
import io.forksafe.Forksafe;
import io.forksafe.WorkerInfo;
import io.forksafe.crac.internal.RestoreBridge;

import org.crac.Resource;

import java.time.Duration;
import java.time.Instant;
import java.util.Objects;

/**
 * Checkpoint/restore as forksafe events: the point where a JVM's state really is copied, by CRaC and by the
 * platforms built on it such as AWS Lambda SnapStart, where one snapshot is restored many times.
 *
 * <table>
 *   <caption>CRaC callbacks and the events they publish</caption>
 *   <tr><th>CRaC</th><th>forksafe</th></tr>
 *   <tr><td>{@code beforeCheckpoint}</td><td>{@code PreFork} (reverse order), kind {@code RESTORE}</td></tr>
 *   <tr><td>{@code afterRestore} in the restored copy</td><td>{@code PostFork}, then {@code PostWorkerInit}, kind
 *       {@code RESTORE}, next generation</td></tr>
 *   <tr><td>{@code afterRestore} after a failed checkpoint</td><td>{@code PostForkParent}</td></tr>
 * </table>
 * Hook failures reach CRaC as {@code org.crac.CheckpointException} or {@code RestoreException} with the hook
 * exceptions attached as suppressed. The status section {@code crac} shows checkpoints, restores, the restore time
 * and the uptime since restore.
 *
 * <pre>{@code
 * ForksafeCrac.install();                                   // once, early in main()
 * Forksafe.subscribe(PostFork.class, e -> pool.softEvictConnections());
 * }</pre>
 *
 * <p>Install early: CRaC notifies resources in reverse registration order before a checkpoint and in registration
 * order after a restore, so a resource registered first quiesces last and wakes up first. On a JDK without CRaC,
 * {@code org.crac} accepts the resource and never calls it; installing is then a no-op that says so in the status.
 */
public final class ForksafeCrac {

    private final RestoreBridge bridge;

    private ForksafeCrac(RestoreBridge bridge) {
        this.bridge = bridge;
    }

    /** Installs on the global registry ({@link Forksafe#registry()}); idempotent. */
    public static ForksafeCrac install() {
        return install(Forksafe.registry());
    }

    /**
     * Registers one {@code org.crac.Resource} with {@code org.crac.Core.getGlobalContext()} that publishes to
     * {@code registry}; idempotent per registry. The registry keeps the resource strongly reachable (CRaC's global
     * context holds resources weakly), so the returned object need not be kept.
     */
    public static ForksafeCrac install(ForkRegistry registry) {
        Objects.requireNonNull(registry, "registry must not be null: pass Forksafe.registry() or your own");
        return new ForksafeCrac(RestoreBridge.install(registry, true));
    }

    /** {@code true} when this JVM has a CRaC implementation, so checkpoint/restore events can arrive. */
    public boolean isCracAvailable() {
        return bridge.detection().available();
    }

    /** What was detected, as one sentence (also in the status note {@code crac}). */
    public String detection() {
        return bridge.detection().reason();
    }

    /** The registered resource, for frameworks that manage their own CRaC context, and for tests. */
    public Resource resource() {
        return bridge;
    }

    /** The host that events report, for example {@code crac jdk.crac on 17.0.12+7}. */
    public ContainerInfo container() {
        return bridge.container();
    }

    /** How many restores this process has been through. */
    public long restores() {
        return bridge.restores();
    }

    /** The restored worker this process is, or null before the first restore. */
    public WorkerInfo restoredWorker() {
        return bridge.restoredWorker();
    }

    /** When the last restore began, or null. */
    public Instant restoreTime() {
        return bridge.restoreTime();
    }

    /** Time since the last restore, or null. */
    public Duration uptimeSinceRestore() {
        return bridge.uptimeSinceRestore();
    }

    @Override
    public String toString() {
        return "ForksafeCrac[" + bridge + "]";
    }
}
