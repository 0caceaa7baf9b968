/**
 * forksafe for Jetty 12: worker threads and server lifecycle as forksafe events, and the status as a Jetty handler.
 *
 * <p>Only {@code io.forksafe.jetty} is exported. Jetty itself is {@code requires static}: applications bring their
 * own Jetty 12, and the autoconfigure adapter reports "Jetty not available" without it.
 */
module io.forksafe.jetty {
    requires transitive io.forksafe.core;
    requires static transitive org.eclipse.jetty.server;
    requires static transitive org.eclipse.jetty.util;
    requires static org.eclipse.jetty.http;
    requires static org.eclipse.jetty.io;

    exports io.forksafe.jetty;

    provides io.forksafe.spi.ContainerAdapter with io.forksafe.jetty.internal.JettyContainerAdapter;
}
