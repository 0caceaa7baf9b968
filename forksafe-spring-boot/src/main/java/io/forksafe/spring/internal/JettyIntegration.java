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
import org.springframework.boot.web.server.context.WebServerApplicationContext;
import org.springframework.context.ApplicationContext;
import org.springframework.context.SmartLifecycle;
import org.springframework.core.Ordered;

/**
 * Boot's embedded Jetty with forksafe-jetty: the thread pool Boot configured (server.jetty.threads.*) becomes a
 * {@link ForksafeThreadPool} of the same sizes, the server gets {@code ForksafeJetty.install} in the mode for Boot's
 * {@code JettyWebServer} (connectors started after the context is ready), and, as a {@link SmartLifecycle} just above
 * Boot's graceful shutdown phase, it stops accepting on the arbiter's shared socket before Boot's graceful shutdown
 * interrupts the acceptors. Not API.
 */
public final class JettyIntegration implements WebServerFactoryCustomizer<JettyServletWebServerFactory>, Ordered,
        SmartLifecycle {

    private final ForkRegistry registry;
    private final SpringBridge bridge;
    private final ApplicationContext context;
    private volatile boolean running;

    public JettyIntegration(ForkRegistry registry, SpringBridge bridge, ApplicationContext context) {
        this.registry = registry;
        this.bridge = bridge;
        this.context = context;
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

    @Override
    public void start() {
        running = true;
    }

    @Override
    public void stop() {
        running = false;
        if (context instanceof WebServerApplicationContext web && web.getWebServer() instanceof JettyWebServer jetty) {
            ForksafeJetty.stopServing(jetty.getServer());
        }
    }

    @Override
    public boolean isRunning() {
        return running;
    }

    /** Stops first: before Boot's graceful shutdown ({@code GRACEFUL_SHUTDOWN_PHASE}) and web server stop. */
    @Override
    public int getPhase() {
        return WebServerApplicationContext.GRACEFUL_SHUTDOWN_PHASE + 1;
    }
}
