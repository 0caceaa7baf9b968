package io.forksafe.arbiter.internal;

import io.forksafe.spi.HostContext;
import io.forksafe.ForkHookException;
import io.forksafe.ForkRegistry;
import io.forksafe.arbiter.ArbiterWorker;
import io.forksafe.spi.ContainerAdapter;

/**
 * The {@code arbiter} container adapter: present in a JVM spawned by the forksafe arbiter
 * ({@code FORKSAFE_ARBITER_PID} and {@code FORKSAFE_ARBITER_CONTROL} set) or started as the preload mode's template;
 * {@link #configure} attaches it as the arbiter's worker or template (idempotent: the worker bootstrap normally did
 * already). A failing PostFork hook is a boot error: the JVM exits with code 3.
 */
public final class ArbiterWorkerAdapter implements ContainerAdapter {

    @Override
    public String name() {
        return "arbiter";
    }

    @Override
    public Detection detect() {
        if (ArbiterWorker.isArbiterWorker() || io.forksafe.arbiter.PreloadWorker.isTemplate()) {
            return Detection.available(Supervisor.CONTAINER);
        }
        if (io.forksafe.spi.ArbiterContract.sharesArbiterSocket(System::getenv)) {
            return Detection.notAvailable(ControlProtocol.ENV_ARBITER_PID + " is set but " + ControlProtocol.ENV_CONTROL
                    + " is not: the listening socket comes from another launcher, so only the Jetty/Undertow adapters "
                    + "adopt it; no heartbeats, slot or generation");
        }
        return Detection.notAvailable("not spawned by a forksafe arbiter (" + ControlProtocol.ENV_ARBITER_PID + " is not set)");
    }

    @Override
    public void configure(HostContext host) {
        ForkRegistry registry = host.registry();
        try {
            if (io.forksafe.arbiter.PreloadWorker.isTemplate()) {
                io.forksafe.arbiter.PreloadWorker.attach(registry, Supervisor.CONTAINER);
            } else {
                ArbiterWorker.attach(registry);
            }
        } catch (ForkHookException e) {
            System.err.println("forksafe arbiter worker: boot error: a PostFork hook failed; exiting with code "
                    + ControlProtocol.BOOT_ERROR_EXIT + " so that the arbiter halts instead of respawning");
            e.printStackTrace();
            System.exit(ControlProtocol.BOOT_ERROR_EXIT);
        }
    }
}
