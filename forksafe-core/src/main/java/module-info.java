/**
 * forksafe core: container-neutral fork events, the subscriber registry and the debug status.
 *
 * <p>Only API packages are exported; {@code io.forksafe.internal} holds the implementation.
 * JMX and the status servlet are optional ({@code requires static}).
 */
module io.forksafe.core {
    requires static java.management;
    requires static jakarta.servlet;

    exports io.forksafe;
    exports io.forksafe.spi;
    exports io.forksafe.servlet;
    exports io.forksafe.testing;

    uses io.forksafe.spi.ContainerAdapter;
    uses io.forksafe.spi.ForkHookProvider;
}
