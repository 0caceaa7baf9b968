package io.forksafe.tomcat.internal;

import io.forksafe.ContainerInfo;
import io.forksafe.spi.ContainerAdapter;
import io.forksafe.spi.HostContext;

/**
 * Lets {@code registry.autoconfigure()} say whether Tomcat is present. Tomcat has no process-wide hook to wire, so
 * configuring only records availability and how to wire a connector; the wiring itself is
 * {@code ForksafeTomcat.install(tomcat)} or {@code ForksafeTomcat.customize(connector)}. This class links no Tomcat
 * class, so it loads and answers "not available" when Tomcat is absent. Not API.
 */
public final class TomcatContainerAdapter implements ContainerAdapter {

    static final String CONNECTOR_CLASS = "org.apache.catalina.connector.Connector";
    static final String VERSION_CLASS = "org.apache.catalina.util.ServerInfo";

    private final ClassLoader probe;

    /** Looks for Tomcat next to forksafe-tomcat (its own class loader). */
    public TomcatContainerAdapter() {
        this(TomcatContainerAdapter.class.getClassLoader());
    }

    /** Looks for Tomcat through {@code probe}. */
    public TomcatContainerAdapter(ClassLoader probe) {
        this.probe = probe;
    }

    @Override
    public String name() {
        return TomcatEvents.HOST;
    }

    @Override
    public Detection detect() {
        try {
            Class.forName(CONNECTOR_CLASS, false, probe);
        } catch (ClassNotFoundException | LinkageError e) {
            return Detection.notAvailable(CONNECTOR_CLASS + " is not on the class path (add org.apache.tomcat.embed:"
                    + "tomcat-embed-core 11)");
        }
        String version;
        try {
            String info = String.valueOf(Class.forName(VERSION_CLASS, true, probe).getMethod("getServerNumber")
                    .invoke(null));
            version = info;
        } catch (ReflectiveOperationException | LinkageError e) {
            version = "";
        }
        return Detection.available(ContainerInfo.of("tomcat", version));
    }

    @Override
    public void configure(HostContext host) {
        host.note("tomcat", "Tomcat is on the class path. Worker-thread and server events flow for each connector "
                + "passed to ForksafeTomcat.customize(connector) (or each Tomcat passed to ForksafeTomcat.install"
                + "(tomcat)); autoconfigure itself wires no connector");
    }
}
