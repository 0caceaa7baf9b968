package io.forksafe.jetty.internal;

import io.forksafe.spi.HostContext;
import io.forksafe.ContainerInfo;
import io.forksafe.ForkRegistry;
import io.forksafe.spi.ContainerAdapter;

/**
 * Lets {@code registry.autoconfigure()} say whether Jetty is present. Jetty has no process-wide hook to wire, so
 * configuring only records availability and how to wire a server; the wiring itself is
 * {@code ForksafeJetty.install(server)} (or {@code etc/forksafe.xml}). This class links no Jetty class, so it loads
 * and answers "not available" when Jetty is absent. Not API.
 */
public final class JettyContainerAdapter implements ContainerAdapter {

    static final String SERVER_CLASS = "org.eclipse.jetty.server.Server";
    static final String VERSION_CLASS = "org.eclipse.jetty.util.Jetty";

    private final ClassLoader probe;

    /** Looks for Jetty next to forksafe-jetty (its own class loader). */
    public JettyContainerAdapter() {
        this(JettyContainerAdapter.class.getClassLoader());
    }

    /** Looks for Jetty through {@code probe}. */
    public JettyContainerAdapter(ClassLoader probe) {
        this.probe = probe;
    }

    @Override
    public String name() {
        return JettyEvents.HOST;
    }

    @Override
    public Detection detect() {
        try {
            Class.forName(SERVER_CLASS, false, probe);
        } catch (ClassNotFoundException | LinkageError e) {
            return Detection.notAvailable(SERVER_CLASS + " is not on the class path (add org.eclipse.jetty:"
                    + "jetty-server 12)");
        }
        String version;
        try {
            version = String.valueOf(Class.forName(VERSION_CLASS, true, probe).getField("VERSION").get(null));
        } catch (ReflectiveOperationException | LinkageError e) {
            version = "";
        }
        return Detection.available(ContainerInfo.of("jetty", version));
    }

    @Override
    public void configure(HostContext host) {
        ForkRegistry registry = host.registry();
        HostContext.of(registry).note("jetty", "Jetty is on the class path. Worker-thread and server events flow for each server "
                + "built with new Server(ForksafeJetty.threadPool()) and ForksafeJetty.install(server), or "
                + "configured with etc/forksafe.xml; autoconfigure itself wires no server");
    }
}
