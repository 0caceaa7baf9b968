package io.forksafe.crac.internal;

import io.forksafe.spi.HostContext;
import io.forksafe.ContainerInfo;
import io.forksafe.ForkHookException;
import io.forksafe.ForkRegistry;
import io.forksafe.WorkerInfo;
import io.forksafe.WorkerKind;

import org.crac.CheckpointException;
import org.crac.Context;
import org.crac.Core;
import org.crac.Resource;
import org.crac.RestoreException;
import org.crac.management.CRaCMXBean;

import java.time.Duration;
import java.time.Instant;
import java.util.Objects;
import java.util.function.LongSupplier;

/**
 * The one {@link Resource} forksafe registers with CRaC's global context, translating its callbacks into events.
 *
 * <ul>
 *   <li>{@code beforeCheckpoint} publishes {@code PreFork} (subscribers in reverse order) for the copy about to be
 *       made: kind {@link WorkerKind#RESTORE}, this process's slot, the next generation, pid unknown.</li>
 *   <li>{@code afterRestore} in a restored copy publishes {@code PostFork} then {@code PostWorkerInit} for it (pid
 *       set), after recording it as this process's worker ({@link io.forksafe.spi.HostContext#identifyProcess}).</li>
 *   <li>{@code afterRestore} without a restore (CRaC calls it when a checkpoint fails) publishes
 *       {@code PostForkParent}: the original process goes on, so PreFork work (a suspended pool) is undone.</li>
 * </ul>
 * Hook failures are returned to CRaC as {@link CheckpointException} / {@link RestoreException} carrying every hook
 * failure as a suppressed exception, which is how CRaC itself reports resource failures.
 *
 * <p>Whether a restore happened is read from {@code CRaCMXBean.getRestoreTime()}: it changes on every restore. When
 * the JVM cannot tell (the value stays -1, for example with a non-JDK implementation), a callback after a successful
 * {@code beforeCheckpoint} counts as a restore.
 */
public final class RestoreBridge implements Resource {

    /** The status detail key. */
    public static final String DETAIL_KEY = "crac";
    /** The status note key. */
    public static final String NOTE_KEY = "crac";

    /** The bridge installed for a registry: state the registry owns (HostContext.state), not a static map. */
    private static final class Installed {
        RestoreBridge bridge;
    }

    private final ForkRegistry registry;

    private final HostContext host;
    private final CracDetection detection;
    private final ContainerInfo container;
    private final LongSupplier restoreTimeSource;
    private final LongSupplier uptimeSinceRestoreSource;

    private WorkerInfo pending;
    private boolean preForkFailed;
    private long restoreTimeBefore = -1;
    private volatile boolean registered;
    private volatile long checkpoints;
    private volatile long failedCheckpoints;
    private volatile long restores;
    private volatile Instant lastCheckpointAt;
    private volatile Instant restoredAt;
    private volatile long restoredAtNanos;
    private volatile WorkerInfo restoredWorker;

    /**
     * A bridge that is not yet registered with CRaC; for tests, which drive {@link #beforeCheckpoint} and
     * {@link #afterRestore} directly.
     *
     * @param restoreTimeSource          epoch millis of the last restore, -1 if none (CRaCMXBean's contract)
     * @param uptimeSinceRestoreSource   millis since the last restore, -1 if none
     */
    public RestoreBridge(ForkRegistry registry, CracDetection detection, LongSupplier restoreTimeSource,
                         LongSupplier uptimeSinceRestoreSource) {
        this.registry = Objects.requireNonNull(registry, "registry must not be null");
        this.host = HostContext.of(this.registry);
        this.detection = Objects.requireNonNull(detection, "detection must not be null");
        this.restoreTimeSource = Objects.requireNonNull(restoreTimeSource, "restoreTimeSource must not be null");
        this.uptimeSinceRestoreSource = Objects.requireNonNull(uptimeSinceRestoreSource,
                "uptimeSinceRestoreSource must not be null");
        this.container = ContainerInfo.of("crac", detection.available()
                ? detection.implementation() + " on " + Runtime.version() : "unavailable");
        // The registry holds this supplier, and so this resource, strongly: CRaC's global context only holds
        // resources weakly, and a collected resource would silently miss the checkpoint.
        host.statusDetail(DETAIL_KEY, this::statusDetail);
    }

    /**
     * Installs the bridge on {@code registry} once: registers it with {@code org.crac.Core.getGlobalContext()} and
     * records in the status what will happen. A second call for the same registry returns the first bridge.
     *
     * @param markConfigured whether to set the status to "crac hook configured" when CRaC is available
     *                       (autoconfigure does that itself)
     */
    public static RestoreBridge install(ForkRegistry registry, boolean markConfigured) {
        Objects.requireNonNull(registry, "registry must not be null");
        Installed installed = HostContext.of(registry).state(Installed.class, Installed::new);
        synchronized (installed) {
            RestoreBridge existing = installed.bridge;
            if (existing != null) {
                return existing;
            }
            RestoreBridge bridge = new RestoreBridge(registry, CracDetection.detect(), RestoreBridge::mxRestoreTime,
                    RestoreBridge::mxUptimeSinceRestore);
            bridge.registerWithCrac(markConfigured);
            installed.bridge = bridge;
            return bridge;
        }
    }

    /** Registers with CRaC's global context and writes the status note. */
    public void registerWithCrac(boolean markConfigured) {
        Core.getGlobalContext().register(this);
        registered = true;
        if (detection.available()) {
            host.note(NOTE_KEY, detection.reason() + ": beforeCheckpoint publishes PreFork, afterRestore "
                    + "publishes PostFork then PostWorkerInit (kind RESTORE, new generation); a failed checkpoint "
                    + "publishes PostForkParent");
            host.log("crac resource registered with org.crac's global context (" + detection.implementation()
                    + ")");
            if (markConfigured) {
                host.configured("crac", container);
            }
        } else {
            host.note(NOTE_KEY, "no-op: " + detection.reason() + ". org.crac accepts the resource but never "
                    + "calls it, and Core.checkpointRestore() throws UnsupportedOperationException, so no "
                    + "checkpoint/restore events will be published. Run on a CRaC JDK (Azul Zulu CRaC, BellSoft "
                    + "Liberica CRaC) or AWS Lambda SnapStart to get them");
            host.log("crac not available: " + detection.reason() + "; resource registered anyway (no-op)");
        }
    }

    static long mxRestoreTime() {
        try {
            return CRaCMXBean.getCRaCMXBean().getRestoreTime();
        } catch (RuntimeException | LinkageError e) {
            return -1;
        }
    }

    static long mxUptimeSinceRestore() {
        try {
            return CRaCMXBean.getCRaCMXBean().getUptimeSinceRestore();
        } catch (RuntimeException | LinkageError e) {
            return -1;
        }
    }

    @Override
    public synchronized void beforeCheckpoint(Context<? extends Resource> context) throws CheckpointException {
        checkpoints++;
        lastCheckpointAt = Instant.now();
        restoreTimeBefore = restoreTimeSource.getAsLong();
        preForkFailed = false;
        if (!detection.available()) {
            host.note(NOTE_KEY, "a checkpoint notification arrived although no CRaC implementation was "
                    + "detected (" + detection.reason() + "); events are published as usual");
        }
        WorkerInfo self = registry.processWorker();
        long generation = self.generation() + 1;
        long pid = ProcessHandle.current().pid();
        pending = new WorkerInfo(self.slot(), "restore-" + generation, WorkerKind.RESTORE, WorkerInfo.UNKNOWN_PID,
                pid, generation);
        try {
            host.preFork(pending, container);
        } catch (ForkHookException e) {
            preForkFailed = true;
            failedCheckpoints++;
            CheckpointException failure = new CheckpointException("forksafe: " + e.getMessage());
            e.failures().forEach(failure::addSuppressed);
            throw failure;
        }
    }

    @Override
    public synchronized void afterRestore(Context<? extends Resource> context) throws RestoreException {
        WorkerInfo copy = pending;
        pending = null;
        if (copy == null) {
            // afterRestore without our beforeCheckpoint (registered in between): still a new copy of the process
            WorkerInfo self = registry.processWorker();
            copy = new WorkerInfo(self.slot(), "restore-" + (self.generation() + 1), WorkerKind.RESTORE,
                    WorkerInfo.UNKNOWN_PID, ProcessHandle.current().pid(), self.generation() + 1);
            restoreTimeBefore = -1;
        }
        long restoreTimeAfter = restoreTimeSource.getAsLong();
        boolean restored;
        if (preForkFailed) {
            restored = false;           // our beforeCheckpoint threw, so the checkpoint cannot have happened
        } else if (restoreTimeBefore < 0 && restoreTimeAfter < 0) {
            restored = true;            // the JVM cannot tell: a callback after a good beforeCheckpoint is a restore
        } else {
            restored = restoreTimeAfter != restoreTimeBefore;
        }
        RestoreException failure = null;
        if (!restored) {
            if (!preForkFailed) {
                failedCheckpoints++;
            }
            host.log("crac checkpoint did not complete: publishing PostForkParent (the original process goes on)");
            try {
                host.postForkParent(copy, container);
            } catch (ForkHookException e) {
                failure = add(null, e);
            }
        } else {
            ProcessHandle me = ProcessHandle.current();
            WorkerInfo restoredCopy = new WorkerInfo(copy.slot(), copy.name(), WorkerKind.RESTORE, me.pid(),
                    me.parent().map(ProcessHandle::pid).orElse(WorkerInfo.UNKNOWN_PID), copy.generation());
            restores++;
            restoredAt = restoreTimeAfter > 0 ? Instant.ofEpochMilli(restoreTimeAfter) : Instant.now();
            restoredAtNanos = System.nanoTime();
            restoredWorker = restoredCopy;
            host.identifyProcess(restoredCopy);
            host.log("crac restore: " + restoredCopy.name() + " (generation " + restoredCopy.generation()
                    + ", pid " + restoredCopy.pid() + ")");
            try {
                host.postFork(restoredCopy, container);
            } catch (ForkHookException e) {
                failure = add(failure, e);
            }
            // The copy runs whether or not a PostFork hook failed, so its PostWorkerInit hooks run too.
            try {
                host.postWorkerInit(restoredCopy, container);
            } catch (ForkHookException e) {
                failure = add(failure, e);
            }
        }
        if (failure != null) {
            throw failure;
        }
    }

    private static RestoreException add(RestoreException failure, ForkHookException e) {
        RestoreException f = failure != null ? failure : new RestoreException("forksafe: " + e.getMessage());
        e.failures().forEach(f::addSuppressed);
        return f;
    }

    /** Whether a CRaC implementation was detected. */
    public CracDetection detection() {
        return detection;
    }

    /** The host as events report it, for example {@code crac jdk.crac on 17.0.12+7}. */
    public ContainerInfo container() {
        return container;
    }

    /** Whether {@link #registerWithCrac} ran. */
    public boolean isRegistered() {
        return registered;
    }

    /** How many restores this bridge has seen. */
    public long restores() {
        return restores;
    }

    /** The restored worker this process is, or null if it was never restored. */
    public WorkerInfo restoredWorker() {
        return restoredWorker;
    }

    /** When the last restore began: CRaC's own restore time when known, otherwise when afterRestore ran. */
    public Instant restoreTime() {
        long mx = restoreTimeSource.getAsLong();
        if (mx > 0 && restores > 0) {
            return Instant.ofEpochMilli(mx);
        }
        return restoredAt;
    }

    /** Time since the last restore, or null if there was none. */
    public Duration uptimeSinceRestore() {
        if (restores == 0) {
            return null;
        }
        long mx = uptimeSinceRestoreSource.getAsLong();
        if (mx >= 0) {
            return Duration.ofMillis(mx);
        }
        return Duration.ofNanos(System.nanoTime() - restoredAtNanos);
    }

    /** The {@code crac} status section, rendered as JSON, text and JMX. */
    public record Status(boolean available, String implementation, String detection, boolean registered,
                         long checkpoints, long failedCheckpoints, long restores, Instant lastCheckpointAt,
                         Instant restoreTime, Long uptimeSinceRestoreMillis, String worker, long generation) {
    }

    private Status statusDetail() {
        Duration up = uptimeSinceRestore();
        WorkerInfo w = restoredWorker;
        return new Status(detection.available(), detection.implementation(), detection.reason(), registered,
                checkpoints, failedCheckpoints, restores, lastCheckpointAt, restoreTime(),
                up == null ? null : up.toMillis(), w == null ? null : w.identity(),
                w == null ? registry.processWorker().generation() : w.generation());
    }

    @Override
    public String toString() {
        return "forksafe RestoreBridge[" + registry.name() + ", " + container + ", restores=" + restores + "]";
    }
}
