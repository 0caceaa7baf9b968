package io.forksafe.spring.internal;

import io.forksafe.ForkRegistry;
import io.forksafe.tomcat.ForksafeTomcat;

import org.apache.catalina.connector.Connector;
import org.apache.catalina.util.ServerInfo;
import org.springframework.boot.tomcat.TomcatWebServer;
import org.springframework.boot.web.server.WebServer;
import org.springframework.boot.tomcat.servlet.TomcatServletWebServerFactory;
import org.springframework.boot.web.server.WebServerFactoryCustomizer;
import org.springframework.core.Ordered;

/**
 * Boot's embedded Tomcat with forksafe-tomcat: a connector customizer calling
 * {@link ForksafeTomcat#customize(org.apache.catalina.connector.Connector, ForkRegistry)} on every connector Boot
 * creates (hooked executor, the arbiter's socket on the first, PostWorkerInit when it starts, WorkerExit when it
 * stops, pause/resume across checkpoints). Boot adds its connectors to the service only in
 * {@code TomcatWebServer.start()}, after the context is ready, so PostWorkerInit follows the application's start; and
 * {@link #stopServing} runs before Boot's graceful shutdown pauses them ({@link StopServingFirst}). Not API.
 */
public final class TomcatIntegration implements WebServerFactoryCustomizer<TomcatServletWebServerFactory>, Ordered {

    private final ForkRegistry registry;
    private final SpringBridge bridge;

    public TomcatIntegration(ForkRegistry registry, SpringBridge bridge) {
        this.registry = registry;
        this.bridge = bridge;
    }

    @Override
    public void customize(TomcatServletWebServerFactory factory) {
        factory.addConnectorCustomizers(connector -> ForksafeTomcat.customize(connector, registry));
        bridge.webServer("tomcat " + ServerInfo.getServerNumber());
    }

    /** For {@link StopServingFirst}: each connector stops accepting on the arbiter's socket, WorkerExit follows. */
    public static void stopServing(WebServer server) {
        if (server instanceof TomcatWebServer tomcat) {
            for (Connector connector : tomcat.getTomcat().getService().findConnectors()) {
                ForksafeTomcat.stopServing(connector);
            }
        }
    }

    /** After Boot's own customizers (thread limits, protocol settings), so its connector customizers run first. */
    @Override
    public int getOrder() {
        return Ordered.LOWEST_PRECEDENCE;
    }
}
