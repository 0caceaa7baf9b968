package io.forksafe.tomcat.internal;

import io.forksafe.ContainerInfo;
import io.forksafe.ForkRegistry;
import io.forksafe.PostFork;
import io.forksafe.PreFork;
import io.forksafe.WorkerKind;
import io.forksafe.spi.ArbiterContract;
import io.forksafe.spi.GracefulStop;
import io.forksafe.spi.HostContext;
import io.forksafe.spi.ServingGate;
import io.forksafe.spi.WorkerThreads;

import org.apache.catalina.Lifecycle;
import org.apache.catalina.LifecycleEvent;
import org.apache.catalina.LifecycleListener;
import org.apache.catalina.LifecycleState;
import org.apache.catalina.Service;
import org.apache.catalina.connector.Connector;
import org.apache.coyote.AbstractProtocol;
import org.apache.coyote.ProtocolHandler;

import java.io.IOException;
import java.lang.reflect.Method;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.nio.channels.Channel;
import java.nio.channels.ServerSocketChannel;
import java.util.Collection;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.Executor;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Function;

/**
 * Attached to one {@link Connector} by {@code ForksafeTomcat.customize}: its hooked executor, the arbiter's socket,
 * and the connector's lifecycle as process events and status lines. All its state lives in this listener, which the
 * connector keeps. The first connector customized for a registry is its <em>primary</em>: it adopts the arbiter's
 * socket, publishes the process's {@code PostWorkerInit} and {@code WorkerExit}, and pauses across checkpoints; other
 * connectors get hooked threads and a status section. Not API.
 */
public final class ConnectorInstallation implements LifecycleListener {

    private static final String HOST = TomcatEvents.HOST;
    /** Protocols whose endpoint (NioEndpoint) can serve {@link System#inheritedChannel()}. */
    private static final String[] INHERITING_PROTOCOLS = {"org.apache.coyote.http11.Http11NioProtocol",
            "org.apache.coyote.ajp.AjpNioProtocol"};

    /** Which installation is the registry's primary: the first one customized. */
    static final class Primary {
        volatile ConnectorInstallation owner;
    }

    private final ForkRegistry registry;
    private final HostContext host;
    private final Connector connector;
    private final Function<String, String> environment;
    private final ContainerInfo container = TomcatEvents.container();
    private final String key;
    private final boolean primary;
    private final AtomicBoolean exitPublished = new AtomicBoolean();
    private volatile HookedExecutor executor;
    private volatile Executor foreignExecutor;
    private volatile String arbiterSocket;
    private volatile InetSocketAddress sharedAddress;
    private volatile String stopAtShutdown = "left to the application (ForksafeTomcat.install(tomcat) registers it)";
    private volatile boolean serviceListening;

    private ConnectorInstallation(ForkRegistry registry, Connector connector, Function<String, String> environment,
                                  String key, boolean primary) {
        this.registry = registry;
        this.host = HostContext.of(registry);
        this.connector = connector;
        this.environment = environment;
        this.key = key;
        this.primary = primary;
    }

    /** The installation on {@code connector}, or null. */
    public static ConnectorInstallation of(Connector connector) {
        for (LifecycleListener l : connector.findLifecycleListeners()) {
            if (l instanceof ConnectorInstallation c) {
                return c;
            }
        }
        return null;
    }

    /**
     * Installs on {@code connector} (once: a second call returns the first installation), reporting each
     * misconfiguration as a status error that names the fix.
     *
     * @throws IllegalStateException under the arbiter, when this connector must serve its socket and cannot: the
     *                               worker must fail to boot rather than report ready and serve nothing
     */
    public static ConnectorInstallation install(Connector connector, ForkRegistry registry,
                                                Function<String, String> environment,
                                                Callable<Channel> inheritedChannel) {
        ConnectorInstallation existing = of(connector);
        if (existing != null) {
            existing.host.log("Tomcat connector " + describe(connector) + " was already customized; nothing done");
            return existing;
        }
        HostContext hostContext = HostContext.of(registry);
        Primary claim = hostContext.state(Primary.class, Primary::new);
        boolean primary;
        synchronized (claim) {
            primary = claim.owner == null;
        }
        ConnectorInstallation installation = new ConnectorInstallation(registry, connector, environment,
                HostContext.freeDetailKey(registry, "tomcat"), primary);
        if (primary) {
            claim.owner = installation;
        }
        hostContext.log("Tomcat customize on connector " + describe(connector) + " (" + installation.container
                + (primary ? ", primary" : "") + ")");
        if (connector.getState().isAvailable()) {
            hostContext.reportError(HOST, "ForksafeTomcat.customize(connector) was called after the connector "
                    + describe(connector) + " started (" + connector.getState() + "): its worker threads and its "
                    + "start were missed. Call customize(connector) (or install(tomcat)) before tomcat.start()");
            hostContext.statusDetail(installation.key, installation::status);
            return installation; // its executor is Tomcat's own by now; nothing else can be attached in time
        }
        installation.hookExecutor();
        if (primary) {
            installation.adoptArbiterSocket(inheritedChannel);
            installation.pauseAcrossCheckpoints();
        }
        hostContext.statusDetail(installation.key, installation::status);
        connector.addLifecycleListener(installation);
        return installation;
    }

    // ------------------------------------------------------------------ executor

    private void hookExecutor() {
        ProtocolHandler handler = connector.getProtocolHandler();
        Executor current = handler.getExecutor();
        if (current instanceof HookedExecutor hooked) {
            executor = hooked;
            return;
        }
        if (current != null) {
            foreignExecutor = current;
            host.reportError(HOST, "connector " + describe(connector) + " already runs on the executor " + current
                    + " (a server.xml <Executor>, connector.getProtocolHandler().setExecutor(...), or a framework's "
                    + "customizer), so its worker threads publish no PreFork/PostFork/WorkerExit. forksafe left it in "
                    + "place. Remove that executor (Tomcat then builds its default pool, which forksafe hooks), or set "
                    + "its ThreadFactory to HookedThreadFactory.hooked(registry, name, yourFactory)");
            return;
        }
        if (Boolean.parseBoolean(String.valueOf(connector.getProperty("useVirtualThreads")))) {
            host.note(key + ".virtualThreads", "connector " + describe(connector) + " runs every request on a new "
                    + "virtual thread (useVirtualThreads=true): no pool creates threads, so there are no thread "
                    + "events; process events still work");
            return;
        }
        int max = 200;
        int minSpare = 10;
        if (handler instanceof AbstractProtocol<?> protocol) {
            max = protocol.getMaxThreads() > 0 ? protocol.getMaxThreads() : max;
            minSpare = protocol.getMinSpareThreads() >= 0 ? protocol.getMinSpareThreads() : minSpare;
        }
        boolean daemon = !"false".equals(String.valueOf(connector.getProperty("daemon")));
        int priority = intProperty("threadPriority", Thread.NORM_PRIORITY);
        HookedExecutor hooked = new HookedExecutor(registry, () -> endpointName(connector), daemon, priority, minSpare,
                max);
        handler.setExecutor(hooked);
        executor = hooked;
    }

    private int intProperty(String name, int otherwise) {
        try {
            return Integer.parseInt(String.valueOf(connector.getProperty(name)));
        } catch (NumberFormatException e) {
            return otherwise;
        }
    }

    // ------------------------------------------------------------------ arbiter workers

    /**
     * Under the arbiter the shared socket is the only one this worker may serve: a worker that cannot adopt it would
     * report ready and serve nothing (or bind a port the arbiter holds). So every failure here is a boot error.
     */
    private void adoptArbiterSocket(Callable<Channel> inheritedChannel) {
        String arbiterPid = ArbiterContract.arbiterPid(environment);
        if (arbiterPid == null) {
            return;
        }
        ServerSocketChannel listening;
        try {
            listening = ArbiterContract.requireListeningSocket(arbiterPid, inheritedChannel);
        } catch (IllegalStateException e) {
            throw bootError(e.getMessage());
        }
        String address = ArbiterContract.describe(listening);
        String protocol = connector.getProtocolHandler().getClass().getName();
        if (!java.util.Arrays.asList(INHERITING_PROTOCOLS).contains(protocol)) {
            throw bootError("the forksafe arbiter (pid " + arbiterPid + ") passed its listening socket "
                    + address + " but connector " + describe(connector) + " uses " + protocol
                    + ", which cannot serve an inherited channel (only Tomcat's NIO endpoint can). Use the NIO "
                    + "protocol: new Connector(\"HTTP/1.1\") or org.apache.coyote.http11.Http11NioProtocol");
        }
        if (connector.getState() != LifecycleState.NEW) {
            throw bootError("connector " + describe(connector) + " was already initialized (" + connector.getState()
                    + ") and bound its own port, so it cannot serve the forksafe arbiter's socket "
                    + address + ". Call ForksafeTomcat.customize(connector) before tomcat.start() "
                    + "(or tomcat.init())");
        }
        if (!connector.setProperty("useInheritedChannel", "true")) {
            throw bootError("connector " + describe(connector) + " refused useInheritedChannel=true, so it cannot "
                    + "serve the forksafe arbiter's socket " + address + ". Use Tomcat 11's NIO "
                    + "protocol (\"HTTP/1.1\")");
        }
        try {
            SocketAddress local = listening.getLocalAddress();
            sharedAddress = local instanceof InetSocketAddress inet ? inet : null;
        } catch (IOException e) {
            sharedAddress = null;
        }
        arbiterSocket = address;
        String line = "Tomcat connector " + describe(connector) + " serves the forksafe arbiter's listening socket "
                + arbiterSocket + " (arbiter pid " + arbiterPid + ", useInheritedChannel=true) instead of binding "
                + "port " + connector.getPort();
        host.log(line);
        host.note(key + ".arbiter", line);
    }

    private IllegalStateException bootError(String reason) {
        host.reportError(HOST, reason);
        return new IllegalStateException("forksafe-tomcat: " + reason);
    }

    /**
     * A checkpoint ({@code PreFork} of kind RESTORE: the arbiter's preload mode, CRaC) must find no thread inside
     * {@code accept()} and no open connection: the connector pauses (first of all PreFork hooks) and its connections
     * are closed; each restored copy resumes after all its {@code PostFork} hooks ran (last of all), or at its
     * promotion if it is a standby.
     */
    private void pauseAcrossCheckpoints() {
        registry.subscribe(PreFork.class, "forksafe.tomcat.pause-accepting", Integer.MAX_VALUE, e -> {
            if (e.worker().kind() == WorkerKind.RESTORE && connector.getState().isAvailable()) {
                connector.pause();
                int closed = closeConnections();
                host.log("Tomcat paused connector " + describe(connector) + " for the checkpoint (" + closed
                        + " connections closed)");
            }
        });
        registry.subscribe(PostFork.class, "forksafe.tomcat.resume-accepting", Integer.MAX_VALUE, e -> {
            if (e.worker().kind() == WorkerKind.RESTORE && paused()) {
                ServingGate.of(registry).whenServing(HOST + " (restored copy)", () -> {
                    connector.resume();
                    host.log("Tomcat accepts again on " + describe(connector) + " in "
                            + registry.processWorker().name());
                });
            }
        });
    }

    /** Closes the connector's open connections (Tomcat offers them only on its endpoint, which is protected). */
    private int closeConnections() {
        try {
            Method getEndpoint = AbstractProtocol.class.getDeclaredMethod("getEndpoint");
            getEndpoint.setAccessible(true);
            Object endpoint = getEndpoint.invoke(connector.getProtocolHandler());
            Collection<?> connections = (Collection<?>) endpoint.getClass().getMethod("getConnections")
                    .invoke(endpoint);
            int n = 0;
            for (Object wrapper : java.util.List.copyOf(connections)) {
                wrapper.getClass().getMethod("close").invoke(wrapper);
                n++;
            }
            return n;
        } catch (ReflectiveOperationException | RuntimeException e) {
            host.note(key + ".checkpoint", "could not close the open connections of " + describe(connector)
                    + " before the checkpoint (" + e + "); restored copies may find them broken");
            return -1;
        }
    }

    // ------------------------------------------------------------------ lifecycle

    @Override
    public void lifecycleEvent(LifecycleEvent event) {
        if (event.getLifecycle() == connector) {
            connectorEvent(event.getType());
        } else if (event.getLifecycle() instanceof Service && Lifecycle.BEFORE_STOP_EVENT.equals(event.getType())) {
            serviceStopping();
        }
    }

    private void connectorEvent(String type) {
        switch (type) {
            case Lifecycle.BEFORE_START_EVENT -> {
                exitPublished.set(false);
                host.log("attempting to autoconfigure Tomcat");
                host.putSettings(settings());
                if (executor != null) {
                    executor.start();
                }
                listenToService();
                if (primary && RequestValve.install(connector.getService(), io.forksafe.spi.RequestTracker.of(registry))) {
                    host.log("Tomcat counts the requests it serves for the forksafe arbiter (max requests, request "
                            + "timeout)");
                }
            }
            case Lifecycle.AFTER_START_EVENT -> started();
            case Lifecycle.BEFORE_STOP_EVENT -> publishWorkerExit("connector stopping");
            case Lifecycle.AFTER_STOP_EVENT -> {
                if (executor != null) {
                    boolean all = executor.stop(GracefulStop.enabled(registry)
                            ? GracefulStop.defaultMillis(environment) : 5_000);
                    host.log("Tomcat connector " + describe(connector) + " stopped; its threads "
                            + (all ? "all ended" : "did not all end in time"));
                }
            }
            default -> {
            }
        }
    }

    /** Drains before Tomcat pauses the connectors (the service's stop pauses them first): see SharedSocketDrain. */
    private void listenToService() {
        Service service = connector.getService();
        if (!primary || service == null || serviceListening) {
            return;
        }
        serviceListening = true;
        service.addLifecycleListener(this);
    }

    private void started() {
        host.log("Tomcat connector " + describe(connector) + " started on port " + connector.getLocalPort());
        if (executor != null && foreignExecutor == null) {
            host.configured(HOST, container);
        }
        if (!primary) {
            return;
        }
        ServingGate gate = ServingGate.of(registry);
        boolean standby = gate.held();
        if (standby) {
            // a standby: no connection before its promotion (its socket is a private one until then anyway)
            connector.pause();
            host.log("Tomcat is a standby: connector " + describe(connector) + " accepts once the arbiter promotes it");
        }
        gate.whenServing(HOST, () -> {
            if (standby && paused()) {
                connector.resume();
                host.log("Tomcat accepts on " + describe(connector) + ": promoted");
            }
            WorkerThreads.publishQuietly(registry, HOST, "PostWorkerInit",
                    () -> host.postWorkerInit(registry.processWorker(), container));
        });
    }

    /**
     * Stops accepting on the arbiter's shared socket (see SharedSocketDrain) and publishes WorkerExit, each once: the
     * service's stop does it, and so may a host that pauses and closes the connectors itself first (Spring Boot's
     * graceful shutdown), through {@code ForksafeTomcat.stopServing(connector)}.
     */
    public void serviceStopping() {
        if (sharedAddress != null && connector.getProtocolHandler() instanceof AbstractProtocol<?> protocol
                && connector.getState().isAvailable() && !protocol.isPaused()) {
            SharedSocketDrain.Result r = SharedSocketDrain.drain(protocol, endpointName(connector), executor,
                    sharedAddress,
                    GracefulStop.enabled(registry) ? GracefulStop.defaultMillis(environment) : 0);
            host.log("Tomcat stopped accepting on the forksafe arbiter's shared socket " + arbiterSocket
                    + " before stopping (" + r.millis() + " ms, acceptor " + (r.acceptorParked() ? "parked" : "still "
                    + "in accept") + ", " + r.wakeConnections() + " wake-up connections, requests "
                    + (r.requestsDone() ? "done" : "still running") + "); connections queued there go to other "
                    + "workers");
        }
        publishWorkerExit("server stopping");
    }

    private void publishWorkerExit(String reason) {
        if (primary && exitPublished.compareAndSet(false, true)) {
            host.log("Tomcat " + reason);
            WorkerThreads.publishQuietly(registry, HOST, "WorkerExit",
                    () -> host.workerExit(registry.processWorker(), container, reason));
        }
    }

    /** Records how the server is stopped at JVM shutdown, for the status. */
    public void stopAtShutdown(String how) {
        this.stopAtShutdown = how;
    }

    /** Whether this connector publishes the process events (the first customized for its registry). */
    public boolean primary() {
        return primary;
    }

    // ------------------------------------------------------------------ status

    private Map<String, String> settings() {
        Map<String, String> s = new java.util.LinkedHashMap<>();
        s.put("tomcat.version", container.version());
        s.put("tomcat.connector." + key + ".protocol", connector.getProtocolHandlerClassName());
        if (executor != null) {
            s.put("tomcat.connector." + key + ".maxThreads", Integer.toString(executor.getMaxThreads()));
        }
        return s;
    }

    /** A foreign executor: its class, and that its threads publish no events. */
    public record ForeignExecutor(String className, boolean hooked) {
    }

    /** The {@code tomcat} status section, rendered as JSON, text and JMX. */
    public record Status(String tomcatVersion, String connector, String state, String protocol, Integer localPort,
                         boolean primary, Record executor, String gracefulStop, String arbiterSocket) {
    }

    private Status status() {
        Record exec = executor != null ? executor.status()
                : new ForeignExecutor(foreignExecutor == null ? null : foreignExecutor.getClass().getName(), false);
        String graceful = GracefulStop.enabled(registry)
                ? "in-flight requests get up to " + GracefulStop.defaultMillis(environment) + " ms ("
                + GracefulStop.describe(environment) + "); stop at JVM shutdown: " + stopAtShutdown
                : "left as configured (" + GracefulStop.SETTING + "=false)";
        int port = connector.getLocalPort();
        return new Status(container.version(), describe(connector), connector.getStateName(),
                connector.getProtocolHandlerClassName(), port > 0 ? port : null, primary, exec, graceful,
                arbiterSocket);
    }

    private boolean paused() {
        return connector.getProtocolHandler() instanceof AbstractProtocol<?> p && p.isPaused();
    }

    private static String describe(Connector c) {
        return endpointName(c);
    }

    /**
     * The endpoint's name, which Tomcat's thread names start with ({@code http-nio-8080}): the protocol's name
     * without the quotes it has as a JMX name.
     */
    static String endpointName(Connector c) {
        ProtocolHandler h = c.getProtocolHandler();
        if (!(h instanceof AbstractProtocol<?> p)) {
            return c.toString();
        }
        String name = p.getName();
        return name.length() > 1 && name.startsWith("\"") && name.endsWith("\"")
                ? name.substring(1, name.length() - 1) : name;
    }

    @Override
    public String toString() {
        return "forksafe ConnectorInstallation[" + registry.name() + ", " + key + "]";
    }
}
