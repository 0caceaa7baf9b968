/**
 * forksafe for Undertow 2.3: a hooked XNIO worker ({@code ForksafeUndertow.install}), server life-cycle events,
 * servlet-deployment autoconfigure through a {@code ServletExtension}, a status {@code HttpHandler}, and serving an
 * inherited listening socket for arbiter workers.
 *
 * <p>Only {@code io.forksafe.undertow} is exported; {@code io.forksafe.undertow.internal} is the implementation.
 * Undertow and XNIO have no module descriptors; they are required by their automatic module names.
 */
@SuppressWarnings("requires-transitive-automatic") // Undertow types are part of this API; Undertow has no descriptor
module io.forksafe.undertow {
    requires transitive io.forksafe.core;
    requires transitive undertow.core;
    requires xnio.api;
    // The task pool is jboss-threads' EnhancedQueueExecutor, which XNIO brings (and uses itself).
    requires org.jboss.threads;
    // Not static: a module that provides io.undertow.servlet.ServletExtension must read its module at run time.
    requires undertow.servlet;
    requires static jakarta.servlet;

    exports io.forksafe.undertow;
    // status sections are records in the internal package; core renders their components
    opens io.forksafe.undertow.internal to io.forksafe.core;

    provides io.forksafe.spi.ContainerAdapter with io.forksafe.undertow.internal.UndertowContainerAdapter;
    provides io.undertow.servlet.ServletExtension with io.forksafe.undertow.internal.ForksafeServletExtension;
}
