/**
 * forksafe for embedded Tomcat 11: a hooked executor on each connector (worker-thread events), the connector's
 * lifecycle as process events, adoption of the arbiter's inherited socket, and the status as a valve.
 *
 * <p>Only {@code io.forksafe.tomcat} is exported. The artifact depends on tomcat-embed-core, but the descriptor keeps
 * Tomcat {@code requires static}: an application without Tomcat still loads the autoconfigure adapter, which then
 * reports "Tomcat not available".
 */
module io.forksafe.tomcat {
    requires transitive io.forksafe.core;
    requires static transitive org.apache.tomcat.embed.core;

    exports io.forksafe.tomcat;
    // status sections are records in the internal package; core renders their components
    opens io.forksafe.tomcat.internal to io.forksafe.core;

    provides io.forksafe.spi.ContainerAdapter with io.forksafe.tomcat.internal.TomcatContainerAdapter;
}
