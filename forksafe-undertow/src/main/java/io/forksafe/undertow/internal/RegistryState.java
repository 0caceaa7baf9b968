package io.forksafe.undertow.internal;

import io.forksafe.spi.HostContext;
import io.forksafe.ForkRegistry;
import io.forksafe.SlotAllocator;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

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
    private final List<DeploymentRecord> deployments = new ArrayList<>();

    private record DeploymentRecord(Map<String, Object> fields, HookedThreadPool pool) {
    }

    private RegistryState() {
    }

    /** The state for {@code registry}, created (and its status section registered) on first use. */
    public static RegistryState of(ForkRegistry registry) {
        // state the registry owns (HostContext.state), not a static map keyed by registry
        HostContext host = HostContext.of(registry);
        return host.state(RegistryState.class, () -> {
            RegistryState created = new RegistryState();
            host.statusDetail(DETAIL_KEY, created::describe);
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

    /**
     * Records a servlet deployment for the status; the (synchronized) map and the pool, if any, are read on every
     * snapshot.
     */
    public synchronized void addDeployment(Map<String, Object> record, HookedThreadPool pool) {
        deployments.add(new DeploymentRecord(record, pool));
        if (deployments.size() > MAX_RECORDS) {
            deployments.remove(0);
        }
    }

    Map<String, Object> describe() {
        List<Installation> serverList;
        List<DeploymentRecord> deploymentList;
        synchronized (this) {
            serverList = List.copyOf(servers);
            deploymentList = List.copyOf(deployments);
        }
        Map<String, Object> m = new LinkedHashMap<>();
        List<Object> s = new ArrayList<>();
        for (Installation i : serverList) {
            s.add(i.describe());
        }
        List<Object> d = new ArrayList<>();
        for (DeploymentRecord record : deploymentList) {
            Map<String, Object> fields;
            synchronized (record.fields()) {
                fields = new LinkedHashMap<>(record.fields());
            }
            if (record.pool() != null) {
                fields.put("taskPool", record.pool().describe());
            }
            d.add(fields);
        }
        m.put("servers", s);
        m.put("deployments", d);
        m.put("taskSlotsInUse", slots.inUse());
        return m;
    }
}
