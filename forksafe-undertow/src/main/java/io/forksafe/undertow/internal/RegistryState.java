package io.forksafe.undertow.internal;

import io.forksafe.spi.HostContext;
import io.forksafe.ForkRegistry;
import io.forksafe.spi.SlotAllocator;

import java.util.ArrayList;
import java.util.List;

/**
 * What the Undertow adapter keeps per registry: one {@link SlotAllocator} shared by every hooked pool (so two servers
 * in one process never report the same worker identity) and the servers and deployments shown in the status. The
 * registry itself holds this object through its status-detail supplier; the lookup table only holds weak references.
 */
public final class RegistryState {

    static final int MAX_RECORDS = 32;
    public static final String DETAIL_KEY = "undertow";
    public static final String IO_THREADS_NOTE_KEY = "undertow.ioThreads";
    public static final String IO_THREADS_NOTE = "XNIO I/O and accept threads are created by XNIO itself, which has "
            + "no thread-factory hook: forksafe reports no events for them. Handlers that run on the I/O thread "
            + "(non-blocking handlers) therefore never run on a forksafe worker; dispatched work (exchange.dispatch, "
            + "BlockingHandler, servlets) runs on forksafe task threads.";


    private final SlotAllocator slots = new SlotAllocator(1);
    private final List<Installation> servers = new ArrayList<>();
    private final List<Deployment> deployments = new ArrayList<>();

    /** One servlet deployment; its state and its task threads are set as it goes. */
    public static final class Deployment {
        private final String name;
        private final String contextPath;
        private final String configuredAt = java.time.Instant.now().toString();
        private volatile String state = "deploying";
        private volatile String taskThreads;
        private volatile HookedThreadPool pool;

        public Deployment(String name, String contextPath) {
            this.name = name;
            this.contextPath = contextPath;
        }

        public void state(String state) {
            this.state = state;
        }

        public void taskThreads(String taskThreads, HookedThreadPool pool) {
            this.taskThreads = taskThreads;
            this.pool = pool;
        }

        DeploymentStatus status() {
            HookedThreadPool p = pool;
            return new DeploymentStatus(name, contextPath, configuredAt, state, taskThreads,
                    p == null ? null : p.status());
        }
    }

    /** A servlet deployment as the status shows it. */
    public record DeploymentStatus(String deployment, String contextPath, String configuredAt, String state,
                                   String taskThreads, HookedThreadPool.Status taskPool) {
    }

    /** The {@code undertow} status section. */
    public record Status(List<Installation.Status> servers, List<DeploymentStatus> deployments, int taskSlotsInUse) {
    }

    private RegistryState() {
    }

    /** The state for {@code registry}, created (and its status section registered) on first use. */
    public static RegistryState of(ForkRegistry registry) {
        // state the registry owns (HostContext.state), not a static map keyed by registry
        HostContext host = HostContext.of(registry);
        return host.state(RegistryState.class, () -> {
            RegistryState created = new RegistryState();
            host.statusDetail(DETAIL_KEY, created::status);
            host.note(IO_THREADS_NOTE_KEY, IO_THREADS_NOTE);
            return created;
        });
    }

    /** The slot allocator shared by all hooked pools of the registry. */
    public SlotAllocator slots() {
        return slots;
    }

    synchronized void addServer(Installation installation) {
        servers.add(installation);
        while (servers.size() > MAX_RECORDS) {
            int stopped = -1;
            for (int i = 0; i < servers.size(); i++) {
                if (servers.get(i).isFinished()) {
                    stopped = i;
                    break;
                }
            }
            servers.remove(stopped >= 0 ? stopped : 0);
        }
    }

    /** Records a servlet deployment for the status; read on every snapshot. */
    public synchronized void addDeployment(Deployment deployment) {
        deployments.add(deployment);
        if (deployments.size() > MAX_RECORDS) {
            deployments.remove(0);
        }
    }

    Status status() {
        List<Installation> serverList;
        List<Deployment> deploymentList;
        synchronized (this) {
            serverList = List.copyOf(servers);
            deploymentList = List.copyOf(deployments);
        }
        return new Status(serverList.stream().map(Installation::status).toList(),
                deploymentList.stream().map(Deployment::status).toList(), slots.inUse());
    }
}
