package io.forksafe.jetty.internal;

import io.forksafe.ContainerInfo;

import org.eclipse.jetty.util.Jetty;

/** The Jetty adapter's host description. Not API. */
public final class JettyEvents {

    /** The host name used in log lines and status lines. */
    public static final String HOST = "Jetty";

    private JettyEvents() {
    }

    /** {@code jetty <version>} of the Jetty on the class path. */
    public static ContainerInfo container() {
        return ContainerInfo.of("jetty", Jetty.VERSION);
    }
}
