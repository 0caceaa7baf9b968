package io.forksafe.tomcat;

import io.forksafe.ForkRegistry;
import io.forksafe.Forksafe;
import io.forksafe.StatusEndpoint;
import io.forksafe.spi.GracefulStop;
import io.forksafe.spi.HostContext;
import io.forksafe.tomcat.internal.ConnectorInstallation;
import io.forksafe.tomcat.internal.StatusValve;

import org.apache.catalina.Valve;
import org.apache.catalina.LifecycleException;
import org.apache.catalina.LifecycleState;
import org.apache.catalina.connector.Connector;
import org.apache.catalina.startup.Tomcat;

import java.util.Objects;

/**
 * The embedded Tomcat 11 entry point. {@link #customize(Connector, ForkRegistry)} attaches forksafe to one connector
 * (what a framework such as Spring Boot calls from its connector customizer); {@link #install(Tomcat, ForkRegistry)}
 * does that for an embedded {@link Tomcat} and adds the status endpoint and a graceful stop at JVM shutdown.
 * Everything is attached to the connector you pass; this class keeps no state.
 *
 * <pre>{@code
 * Tomcat tomcat = new Tomcat();
 * tomcat.setPort(8080);
 * Context app = tomcat.addContext("", null);
 * Tomcat.addServlet(app, "hello", new HelloServlet());
 * app.addServletMappingDecoded("/", "hello");
 * ForksafeTomcat.install(tomcat);     // worker threads -> thread events, start -> PostWorkerInit, /forksafe/status
 * tomcat.start();
 * }</pre>
 *
 * <p><b>Process-level events</b> use {@link ForkRegistry#processWorker()} as the worker, so that a process another
 * adapter identified (an arbiter worker, a restored copy) keeps its identity. The first connector customized for a
 * registry publishes them; further connectors get hooked threads and a status section of their own.
 *
 * <p><b>Arbiter workers.</b> When the environment variable {@code FORKSAFE_ARBITER_PID}
 * ({@link io.forksafe.spi.ArbiterContract#ENV_ARBITER_PID}) is set, the first connector customized serves
 * {@link System#inheritedChannel()}, the arbiter's listening socket, instead of binding its port (Tomcat NIO's
 * {@code useInheritedChannel}). A connector that cannot (NIO2, already initialized) fails the worker's boot with the
 * fix.
 */
public final class ForksafeTomcat {

    /** Where {@link #install(Tomcat, ForkRegistry)} serves the status. */
    public static final String STATUS_PATH = "/forksafe/status";

    private ForksafeTomcat() {
    }

    /**
     * Everything forksafe does for one connector, before it starts, publishing to {@code registry}: a hooked executor
     * on its {@code ProtocolHandler} (Tomcat's thread naming, daemon flag and context class loader kept); under the
     * arbiter, the inherited listening socket (only on the first connector customized); a lifecycle listener (after
     * start, the process's {@code PostWorkerInit} once this process may serve; before stop, {@code WorkerExit}); and
     * pause/resume across checkpoints. Idempotent per connector. Misconfigurations (called after start, a connector
     * that already has an executor of its own) become status errors that name the fix.
     *
     * <pre>{@code
     * Connector connector = new Connector("HTTP/1.1");
     * connector.setPort(8080);
     * ForksafeTomcat.customize(connector, registry);
     * tomcat.getService().addConnector(connector);
     * }</pre>
     *
     * @throws IllegalStateException under the arbiter, if this connector must serve the arbiter's socket and cannot
     *                               (the worker then fails to boot, exit code 3, instead of serving nothing)
     */
    public static void customize(Connector connector, ForkRegistry registry) {
        Objects.requireNonNull(connector, "connector must not be null");
        Objects.requireNonNull(registry, "registry must not be null: pass Forksafe.registry() or your own");
        ConnectorInstallation.install(connector, registry, System::getenv, System::inheritedChannel);
    }

    /**
     * {@link #customize(Connector, ForkRegistry)} publishing to {@link Forksafe#registry()}.
     *
     * <pre>{@code
     * ForksafeTomcat.customize(tomcat.getConnector());
     * }</pre>
     */
    public static void customize(Connector connector) {
        customize(connector, Forksafe.registry());
    }

    /**
     * For an embedded {@link Tomcat}, before {@code tomcat.start()}: {@code customize(tomcat.getConnector(), registry)}
     * (which creates Tomcat's default connector if there is none), the status at {@value #STATUS_PATH} (a valve ahead of every web
     * application; loopback
     * clients only, unless {@code forksafe.status.allowRemote=true}), and, unless {@code forksafe.gracefulStop=false},
     * a stop of the server at JVM shutdown (SIGTERM from the arbiter or a container), which embedded Tomcat does not
     * register itself. Calling it twice does nothing more.
     *
     * <pre>{@code
     * ForksafeTomcat.install(tomcat, registry);
     * tomcat.start();
     * }</pre>
     */
    public static void install(Tomcat tomcat, ForkRegistry registry) {
        Objects.requireNonNull(tomcat, "tomcat must not be null");
        Objects.requireNonNull(registry, "registry must not be null: pass Forksafe.registry() or your own");
        Connector connector = tomcat.getConnector();
        if (ConnectorInstallation.of(connector) != null) {
            HostContext.of(registry).log("ForksafeTomcat.install(tomcat) was already called; nothing done");
            return;
        }
        ConnectorInstallation installation = ConnectorInstallation.install(connector, registry, System::getenv,
                System::inheritedChannel);
        boolean hasStatus = false;
        for (Valve v : tomcat.getHost().getPipeline().getValves()) {
            hasStatus |= v instanceof StatusValve;
        }
        if (!hasStatus) {
            StatusEndpoint endpoint = StatusEndpoint.loopbackOnly(registry);
            tomcat.getHost().getPipeline().addValve(new StatusValve(endpoint, STATUS_PATH));
        }
        if (GracefulStop.enabled(registry)) {
            Runtime.getRuntime().addShutdownHook(new Thread(() -> stop(tomcat), "forksafe-tomcat-stop"));
            installation.stopAtShutdown("registered by ForksafeTomcat.install(tomcat)");
        } else {
            installation.stopAtShutdown("not registered (" + GracefulStop.SETTING + "=false)");
        }
    }

    /**
     * {@link #install(Tomcat, ForkRegistry)} publishing to {@link Forksafe#registry()}.
     *
     * <pre>{@code
     * ForksafeTomcat.install(tomcat);
     * tomcat.start();
     * }</pre>
     */
    public static void install(Tomcat tomcat) {
        install(tomcat, Forksafe.registry());
    }

    /**
     * For a host that pauses and closes its connectors itself before stopping the service (Spring Boot's graceful
     * shutdown): stops {@code connector} taking new connections on the arbiter's shared socket, waiting until its
     * acceptor has left {@code accept()} (a paused acceptor is woken by a connection of its own, which on a shared
     * socket can reach another worker, and a connection accepted as the socket closes is reset), then publishes
     * {@code WorkerExit}. Each part happens once; the service's stop does the same and then does nothing twice.
     * Nothing happens for a connector that was not customized.
     *
     * <pre>{@code
     * ForksafeTomcat.stopServing(connector);   // then the host's own graceful shutdown
     * }</pre>
     */
    public static void stopServing(Connector connector) {
        ConnectorInstallation installation = ConnectorInstallation.of(Objects.requireNonNull(connector, "connector"));
        if (installation != null) {
            installation.serviceStopping();
        }
    }

    private static void stop(Tomcat tomcat) {
        LifecycleState state = tomcat.getServer().getState();
        if (!state.isAvailable()) {
            return;
        }
        try {
            tomcat.stop();
        } catch (LifecycleException e) {
            System.err.println("forksafe-tomcat: stopping Tomcat at JVM shutdown failed: " + e);
        }
    }
}
