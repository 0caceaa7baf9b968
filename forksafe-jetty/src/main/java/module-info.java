/**
 * forksafe for Jetty 12: worker threads and server lifecycle as forksafe events, and the status as a Jetty handler.
 *
 * <p>Only {@code io.forksafe.jetty} is exported. The artifact depends on jetty-server, but the descriptor keeps Jetty
 * {@code requires static}: an application that leaves Jetty out still loads the autoconfigure adapter, which then
 * reports "Jetty not available".
 */
module io.forksafe.jetty {
    requires transitive io.forksafe.core;
    requires static transitive org.eclipse.jetty.server;
    requires static transitive org.eclipse.jetty.util;
    requires static org.eclipse.jetty.http;
    requires static org.eclipse.jetty.io;

    exports io.forksafe.jetty;
    // status sections are records in the internal package; core renders their components
    opens io.forksafe.jetty.internal to io.forksafe.core;

    provides io.forksafe.spi.ContainerAdapter with io.forksafe.jetty.internal.JettyContainerAdapter;
}
