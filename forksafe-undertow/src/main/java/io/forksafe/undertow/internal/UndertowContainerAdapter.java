package io.forksafe.undertow.internal;

import io.forksafe.spi.HostContext;
import io.forksafe.ForkRegistry;
import io.forksafe.spi.ContainerAdapter;

/**
 * Autoconfigure for Undertow: available when Undertow is on the class path. Configuring registers the Undertow
 * status section and the note about XNIO I/O threads; the per-server wiring is {@code ForksafeUndertow.install}
 * (embedded) or the {@code ServletExtension} (deployments).
 */
public final class UndertowContainerAdapter implements ContainerAdapter {

    @Override
    public String name() {
        return Installation.HOST;
    }

    @Override
    public Detection detect() {
        try {
            Class.forName("io.undertow.Undertow", false, UndertowContainerAdapter.class.getClassLoader());
            return Detection.available(Installation.container());
        } catch (ClassNotFoundException | LinkageError e) {
            return Detection.notAvailable("io.undertow.Undertow is not on the class path (add undertow-core)");
        }
    }

    @Override
    public void configure(HostContext host) {
        ForkRegistry registry = host.registry();
        RegistryState.of(registry);
        HostContext.of(registry).note("undertow.wiring", "embedded servers: build with ForksafeUndertow.install(builder) and use "
                + "ForksafeUndertow.start/stop(server); servlet deployments are wired by forksafe's ServletExtension");
    }
}
