package io.forksafe.spring.internal;

import io.forksafe.ForkRegistry;
import io.forksafe.jetty.ForksafeJetty;
import io.forksafe.jetty.ForksafeThreadPool;

import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.util.thread.QueuedThreadPool;
import org.eclipse.jetty.util.thread.ThreadPool;
import org.springframework.boot.jetty.JettyWebServer;
import org.springframework.boot.jetty.servlet.JettyServletWebServerFactory;
import org.springframework.boot.web.server.WebServerFactoryCustomizer;
import org.springframework.boot.web.server.WebServer;
import org.springframework.core.Ordered;

/**
 * Boot's embedded Jetty with forksafe-jetty: the thread pool Boot configured (server.jetty.threads.*) becomes a
 * {@link ForksafeThreadPool} of the same sizes, the server gets {@code ForksafeJetty.install} in the mode for Boot's
 * {@code JettyWebServer} (connectors started after the context is ready), and {@link #stopServing} runs before Boot's
 * graceful shutdown interrupts the acceptors ({@link StopServingFirst}). Not API.
 */
public final class JettyIntegration implements WebServerFactoryCustomizer<JettyServletWebServerFactory>, Ordered {

    private final ForkRegistry registry;
    private final SpringBridge bridge;

    public JettyIntegration(ForkRegistry registry, SpringBridge bridge) {
        this.registry = registry;
        this.bridge = bridge;
    }

    @Override
    public void customize(JettyServletWebServerFactory factory) {
        ThreadPool configured = factory.getThreadPool();
        if (configured == null) {
            factory.setThreadPool(ForksafeJetty.threadPool(registry));
        } else if (configured instanceof QueuedThreadPool q && !(configured instanceof ForksafeThreadPool)) {
            factory.setThreadPool(ForksafeJetty.threadPool(registry, q.getMaxThreads(), q.getMinThreads(),
                    q.getIdleTimeout()));
        } // else: a VirtualThreadPool (spring.threads.virtual.enabled) or the user's own; the status says what it lacks
        factory.addServerCustomizers(server -> {
            ForksafeJetty.installer().registry(registry).connectorsStartLater().install(server);
            bridge.webServer("jetty " + Server.getVersion());
        });
    }

    /** After Boot's own customizers, which set the thread pool this one wraps. */
    @Override
    public int getOrder() {
        return Ordered.LOWEST_PRECEDENCE;
    }

    /** For {@link StopServingFirst}: Jetty stops accepting on the arbiter's socket and publishes WorkerExit. */
    public static void stopServing(WebServer server) {
        if (server instanceof JettyWebServer jetty) {
            ForksafeJetty.stopServing(jetty.getServer());
        }
    }

}
