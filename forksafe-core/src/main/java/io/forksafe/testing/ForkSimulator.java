package io.forksafe.testing;

import io.forksafe.spi.HostContext;
import io.forksafe.ContainerInfo;
import io.forksafe.ForkEvent;
import io.forksafe.ForkHookException;
import io.forksafe.ForkRegistry;
import io.forksafe.Forksafe;
import io.forksafe.Subscription;
import io.forksafe.WorkerInfo;
import io.forksafe.WorkerKind;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * Runs a worker's whole life in-process, so users can unit-test their hooks without a container. Events go through
 * the same registry code as in production, so ordering (reverse {@code PreFork}) and failure rules
 * ({@link ForkHookException} with suppressed failures) are the real ones.
 *
 * <pre>{@code
 * ForkRegistry registry = new ForkRegistry();
 * registry.subscribe(PostFork.class, e -> myPool.softEvictConnections());
 * List<ForkEvent> events = ForkSimulator.of(registry).simulateWorker(WorkerKind.PROCESS, 1);
 * }</pre>
 *
 * <p>The sequence is PreFork, PostFork, PostForkParent, PostWorkerInit, WorkerExit, ChildExit. As in a real host,
 * a failing PreFork or PostFork stops the worker's boot: the failure is thrown and the remaining events do not run
 * (except ChildExit with {@link #BOOT_ERROR_EXIT_STATUS}, as an arbiter would report it). Failures in later events
 * are thrown after the whole sequence has run.
 */
public final class ForkSimulator {

    /** The exit status reported in ChildExit when a worker failed to boot (gunicorn's WORKER_BOOT_ERROR). */
    public static final int BOOT_ERROR_EXIT_STATUS = io.forksafe.spi.ArbiterContract.BOOT_ERROR_EXIT;

    private final ForkRegistry registry;

    private final HostContext host;
    private final ContainerInfo container;
    private final Map<String, Long> generations = new HashMap<>();

    private ForkSimulator(ForkRegistry registry, ContainerInfo container) {
        this.registry = Objects.requireNonNull(registry, "registry must not be null");
        this.host = HostContext.of(this.registry);
        this.container = Objects.requireNonNull(container, "container must not be null");
    }

    /** A simulator that publishes to the global registry. */
    public static ForkSimulator global() {
        return new ForkSimulator(Forksafe.registry(), ContainerInfo.of("simulator", "1"));
    }

    /** A simulator that publishes to {@code registry}. */
    public static ForkSimulator of(ForkRegistry registry) {
        return new ForkSimulator(registry, ContainerInfo.of("simulator", "1"));
    }

    /** A copy that reports events as coming from {@code container}. */
    public ForkSimulator withContainer(ContainerInfo container) {
        return new ForkSimulator(registry, container);
    }

    /**
     * Runs one worker's whole life for {@code slot}; every call is a new generation of the slot.
     *
     * @return the events published, in order
     * @throws ForkHookException if any hook failed (see the class comment for what then runs)
     */
    @SuppressWarnings("try") // the recorder subscription is only held open
    public synchronized List<ForkEvent> simulateWorker(WorkerKind kind, int slot) {
        Objects.requireNonNull(kind, "kind must not be null");
        long generation = generations.merge(kind + "/" + slot, 1L, Long::sum) - 1;
        long pid = ProcessHandle.current().pid();
        WorkerInfo child = new WorkerInfo(slot, "simulated-" + kind.name().toLowerCase(java.util.Locale.ROOT)
                + "-" + slot, kind, pid, pid, generation);
        WorkerInfo unborn = child.withPid(WorkerInfo.UNKNOWN_PID);

        List<ForkEvent> published = new ArrayList<>();
        try (Subscription recorder = registry.subscribe(ForkEvent.class, "forksafe.simulator.recorder",
                Integer.MIN_VALUE, published::add)) {
            try {
                host.preFork(unborn, container);
                host.postFork(child, container);
            } catch (ForkHookException bootFailure) {
                tryChildExit(child, BOOT_ERROR_EXIT_STATUS, bootFailure);
                throw bootFailure;
            }
            ForkHookException later = null;
            later = run(later, () -> host.postForkParent(child, container));
            later = run(later, () -> host.postWorkerInit(child, container));
            later = run(later, () -> host.workerExit(child, container, "simulated exit"));
            later = run(later, () -> host.childExit(child, container, 0));
            if (later != null) {
                throw later;
            }
        }
        return published;
    }

    /**
     * Simulates a checkpoint and restore: PreFork then PostFork and PostWorkerInit, all of kind
     * {@link WorkerKind#RESTORE}, with a new generation for {@code slot}.
     */
    @SuppressWarnings("try")
    public synchronized List<ForkEvent> simulateRestore(int slot) {
        long generation = generations.merge(WorkerKind.RESTORE + "/" + slot, 1L, Long::sum) - 1;
        long pid = ProcessHandle.current().pid();
        WorkerInfo copy = new WorkerInfo(slot, "restored-" + slot, WorkerKind.RESTORE, pid, pid, generation);
        List<ForkEvent> published = new ArrayList<>();
        try (Subscription recorder = registry.subscribe(ForkEvent.class, "forksafe.simulator.recorder",
                Integer.MIN_VALUE, published::add)) {
            host.preFork(copy, container);
            host.postFork(copy, container);
            host.postWorkerInit(copy, container);
        }
        return published;
    }

    private void tryChildExit(WorkerInfo child, int status, ForkHookException bootFailure) {
        try {
            host.childExit(child, container, status);
        } catch (ForkHookException e) {
            bootFailure.addSuppressed(e);
        }
    }

    private static ForkHookException run(ForkHookException earlier, Runnable step) {
        try {
            step.run();
            return earlier;
        } catch (ForkHookException e) {
            if (earlier == null) {
                return e;
            }
            earlier.addSuppressed(e);
            return earlier;
        }
    }
}
