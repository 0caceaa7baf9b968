/**
 * forksafe core: container-neutral fork events, the subscriber registry and the debug status.
 *
 * <p>Only API packages are exported; {@code io.forksafe.internal} holds the implementation.
 * JMX, the status servlet and the HikariCP recipe are optional ({@code requires static}).
 */
module io.forksafe.core {
    requires static java.management;
    requires static jakarta.servlet;
    requires static java.sql;
    requires static com.zaxxer.hikari;

    exports io.forksafe;
    exports io.forksafe.spi;
    exports io.forksafe.servlet;
    exports io.forksafe.testing;
    exports io.forksafe.recipes;

    uses io.forksafe.spi.ContainerAdapter;
    uses io.forksafe.spi.ForkHookProvider;
}
