/**
 * forksafe core: container-neutral fork events, the subscriber registry and the debug status.
 *
 * <p>Only API packages are exported; {@code io.forksafe.internal} holds the implementation.
 * JMX is optional ({@code requires static}); the status servlet and the HikariCP recipe are the artifacts
 * forksafe-servlet and forksafe-hikari.
 */
module io.forksafe.core {
    requires static java.management;

    exports io.forksafe;
    exports io.forksafe.spi;
    exports io.forksafe.testing;
    exports io.forksafe.recipes;

    uses io.forksafe.spi.ContainerAdapter;
    uses io.forksafe.spi.ForkHookProvider;
}
