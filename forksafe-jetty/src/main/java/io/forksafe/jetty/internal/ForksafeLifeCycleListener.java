package io.forksafe.jetty.internal;

import io.forksafe.spi.HostContext;
import io.forksafe.ContainerInfo;
import io.forksafe.ForkRegistry;
import io.forksafe.jetty.ForksafeThreadPool;
import io.forksafe.spi.ArbiterContract;
import io.forksafe.spi.GracefulStop;
import io.forksafe.spi.ServingGate;
import io.forksafe.spi.WorkerThreads;

import org.eclipse.jetty.server.Connector;
import org.eclipse.jetty.server.NetworkConnector;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import org.eclipse.jetty.util.VirtualThreads;
import org.eclipse.jetty.util.component.Container;
import org.eclipse.jetty.util.component.LifeCycle;
import org.eclipse.jetty.util.thread.ThreadPool;

import java.io.IOException;
import java.nio.channels.Channel;
import java.nio.channels.ServerSocketChannel;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Function;

/**
 * Attached to one {@link Server} by {@code ForksafeJetty.install}: turns the server's own lifecycle into process-level
 * events and status lines. All its state lives in this listener, which Jetty keeps as a bean of the server. Not API.
 */
public final class ForksafeLifeCycleListener implements LifeCycle.Listener, Container.Listener,
        org.eclipse.jetty.util.component.Dumpable {

    private static final String HOST = JettyEvents.HOST;

    private final ForkRegistry registry;

    private final HostContext host;
    private final Server server;
    private final Function<String, String> environment;
    private final Callable<Channel> inheritedChannel;
    private final ContainerInfo container = JettyEvents.container();
    private final String key;
    private final boolean connectorsStartLater;
    private final AtomicBoolean workerExitPublished = new AtomicBoolean();
    private final AtomicBoolean drained = new AtomicBoolean();
    private volatile boolean awaitingConnectors;
    private volatile String adoptedChannel;
    private volatile ServerConnector adoptedConnector;
    private volatile String virtualThreads = "not used";
    private volatile String stopDefaults = "not applied yet (the server has not started)";

    private ForksafeLifeCycleListener(ForkRegistry registry, Server server, Function<String, String> environment,
                                      Callable<Channel> inheritedChannel, String key, boolean connectorsStartLater) {
        this.registry = registry;
        this.connectorsStartLater = connectorsStartLater;
        this.host = HostContext.of(this.registry);
        this.server = server;
        this.environment = environment;
        this.inheritedChannel = inheritedChannel;
        this.key = key;
    }

    /** Installs on {@code server}, reporting each misconfiguration as a status error that names the fix. */
    public static void install(Server server, ForkRegistry registry, Function<String, String> environment,
                               Callable<Channel> inheritedChannel) {
        install(server, registry, environment, inheritedChannel, false);
    }

    /**
     * {@link #install(Server, ForkRegistry, Function, Callable)}; with {@code connectorsStartLater} for hosts that start
     * the server without connectors and add and start them afterwards (Spring Boot's {@code JettyWebServer}): then the
     * arbiter's socket is adopted by the first {@link ServerConnector} added, and {@code PostWorkerInit} follows that
     * connector's start instead of the server's.
     */
    public static void install(Server server, ForkRegistry registry, Function<String, String> environment,
                               Callable<Channel> inheritedChannel, boolean connectorsStartLater) {
        for (Object existing : server.getEventListeners()) {
            if (existing.getClass().getName().equals(ForksafeLifeCycleListener.class.getName())) {
                HostContext.of(registry).reportError(HOST, "ForksafeJetty.install(server) was called twice for " + server
                        + "; the second call was ignored so that no event is published twice. Remove one of the "
                        + "calls (etc/forksafe.xml already calls install)");
                return;
            }
        }
        ForksafeLifeCycleListener listener = new ForksafeLifeCycleListener(registry, server, environment,
                inheritedChannel, HostContext.freeDetailKey(registry, "jetty"), connectorsStartLater);
        HostContext.of(registry).log("Jetty install on " + server + " (" + listener.container + ")");
        if (server.isStarted() || server.isStarting()) {
            HostContext.of(registry).reportError(HOST, "ForksafeJetty.install(server) was called after the server started ("
                    + server.getState() + "): the start and every worker thread created so far were missed. Call "
                    + "install(server) before server.start()");
        }
        listener.checkPool();
        HostContext.of(registry).statusDetail(listener.key, listener::statusDetails);
        server.addEventListener(listener);
    }

    private void checkPool() {
        ThreadPool pool = server.getThreadPool();
        if (pool instanceof ForksafeThreadPool hooked) {
            if (hooked.registry() != registry) {
                host.reportError(HOST, "the server's ForksafeThreadPool publishes to registry '"
                        + hooked.registry().name() + "' but install(server) uses registry '" + registry.name()
                        + "': thread events and process events go to different places. Pass the same registry to "
                        + "ForksafeJetty.threadPool(registry) and ForksafeJetty.install(server, registry)");
            }
            return;
        }
        String what = pool == null ? "none" : pool.getClass().getName();
        if (pool != null && pool.getClass().getName().equals("org.eclipse.jetty.util.thread.VirtualThreadPool")) {
            host.reportError(HOST, "the server's thread pool is " + what + ": every task runs on a new virtual "
                    + "thread, so there are no worker threads and no PreFork/PostFork/WorkerExit thread events. "
                    + "Use new Server(ForksafeJetty.threadPool()) (optionally with setVirtualThreadsExecutor) to get "
                    + "them; process-level events still work");
        } else {
            host.reportError(HOST, "the server's thread pool is " + what + ", not the forksafe pool, so its "
                    + "worker threads produce no PreFork/PostFork/WorkerExit events. Create the server with "
                    + "new Server(ForksafeJetty.threadPool()) or configure it with etc/forksafe.xml; process-level "
                    + "events still work");
        }
    }

    private boolean poolHooked() {
        return server.getThreadPool() instanceof ForksafeThreadPool p && p.registry() == registry;
    }

    @Override
    public void lifeCycleStarting(LifeCycle event) {
        host.log("attempting to autoconfigure Jetty");
        host.log("Jetty available (" + container + "), server starting with pool " + describePool());
        host.putSettings(settings());
        applyStopDefaults();
        if (RequestCounting.install(server, io.forksafe.spi.RequestTracker.of(registry))) {
            host.log("Jetty counts the requests it serves for the forksafe arbiter (max requests, request timeout)");
        }
        awaitingConnectors = connectorsStartLater && firstServerConnector() == null;
        if (awaitingConnectors) {
            host.log("Jetty server starts without connectors; forksafe serves once the first ServerConnector is "
                    + "added and started");
        } else {
            adoptArbiterChannel(firstServerConnector());
        }
        checkVirtualThreads();
        checkConnectorExecutors();
        if (poolHooked()) {
            host.configured(HOST, container);
        }
    }

    @Override
    public void lifeCycleStarted(LifeCycle event) {
        checkVirtualThreads();
        host.log("Jetty server started on " + endpoints());
        if (!awaitingConnectors) {
            startServing();
        }
    }

    /** Connectors added after the start (connectorsStartLater): the first one adopts the socket and starts serving. */
    @Override
    public void beanAdded(Container parent, Object child) {
        if (!awaitingConnectors || parent != server || !(child instanceof ServerConnector connector)) {
            return;
        }
        awaitingConnectors = false;
        adoptArbiterChannel(connector);
        connector.addEventListener(new LifeCycle.Listener() {
            @Override
            public void lifeCycleStarted(LifeCycle event) {
                host.log("Jetty connector " + connectorName(connector) + " started on " + endpoints());
                startServing();
            }
        });
    }

    @Override
    public void beanRemoved(Container parent, Object child) {
        // connectors removed by the host are no concern: the server's own stop publishes WorkerExit
    }

    private void startServing() {
        ServingGate gate = ServingGate.of(registry);
        ServerConnector shared = adoptedConnector;
        boolean standby = shared != null && gate.held();
        if (standby) {
            // a standby: no connection before its promotion (its socket is a private one until then anyway)
            shared.setAccepting(false);
            host.log("Jetty is a standby: it accepts on " + connectorName(shared) + " once the arbiter promotes it");
        }
        gate.whenServing(HOST, () -> {
            if (standby && !shared.isAccepting()) {
                shared.setAccepting(true);
                host.log("Jetty accepts on " + connectorName(shared) + ": promoted");
            }
            WorkerThreads.publishQuietly(registry, HOST, "PostWorkerInit",
                    () -> host.postWorkerInit(registry.processWorker(), container));
        });
    }

    @Override
    public void lifeCycleFailure(LifeCycle event, Throwable cause) {
        host.log("Jetty server failed (" + server.getState() + "): " + cause);
    }

    @Override
    public void lifeCycleStopping(LifeCycle event) {
        stopServing("server stopping");
    }

    /**
     * Stops accepting on the arbiter's shared socket (waiting until no acceptor is inside {@code accept()}) and
     * publishes {@code WorkerExit}, each at most once: the server's stop calls it, and so may a host that shuts its
     * connectors down itself before stopping the server (Spring Boot's graceful shutdown).
     */
    public void stopServing(String reason) {
        ServerConnector shared = adoptedConnector;
        if (shared != null && drained.compareAndSet(false, true)) {
            long millis = SharedSocketDrain.drain(shared);
            host.log("Jetty stopped accepting on the forksafe arbiter's shared socket " + adoptedChannel
                    + " before stopping (" + millis + " ms); connections still queued there go to other workers");
        }
        if (workerExitPublished.compareAndSet(false, true)) {
            host.log("Jetty server stopping (" + reason + ")");
            WorkerThreads.publishQuietly(registry, HOST, "WorkerExit",
                    () -> host.workerExit(registry.processWorker(), container, reason));
        }
    }

    /** The listener {@code ForksafeJetty.install} attached to {@code server}, or null. */
    public static ForksafeLifeCycleListener of(Server server) {
        for (Object l : server.getEventListeners()) {
            if (l instanceof ForksafeLifeCycleListener f) {
                return f;
            }
        }
        return null;
    }

    @Override
    public void lifeCycleStopped(LifeCycle event) {
        if (server.getThreadPool() instanceof ForksafeThreadPool p) {
            host.log("Jetty server stopped; pool " + p.getName() + " created " + p.threadsCreated()
                    + " threads, " + p.threadsRetired() + " ended");
        } else {
            host.log("Jetty server stopped");
        }
    }

    // ------------------------------------------------------------------ arbiter workers

    /**
     * Under the arbiter the shared socket is the only one this worker may serve: a worker that cannot adopt it would
     * report ready and serve nothing (or bind its own port, which the arbiter holds). So every failure here is a boot
     * error: the start fails with the fix, the worker exits with code 3, and the arbiter halts with the message.
     */
    private ServerConnector firstServerConnector() {
        for (Connector c : server.getConnectors()) {
            if (c instanceof ServerConnector sc) {
                return sc;
            }
        }
        return null;
    }

    private void adoptArbiterChannel(ServerConnector target) {
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
        if (target == null) {
            throw bootError("the forksafe arbiter (pid " + arbiterPid + ") passed its listening socket " + address
                    + " but the server has no ServerConnector to adopt it, so it would serve nothing. Add one before "
                    + "start, e.g. server.addConnector(new ServerConnector(server))");
        }
        try {
            target.setInheritChannel(true);
            target.open(listening);
        } catch (IOException | RuntimeException e) {
            throw bootError("connector " + target + " could not adopt the arbiter's socket " + address + ": " + e);
        }
        adoptedChannel = address;
        adoptedConnector = target;
        pauseAcrossCheckpoints(target);
        String line = "Jetty adopted the forksafe arbiter's listening socket " + address + " (arbiter pid "
                + arbiterPid + ") on connector " + connectorName(target) + " instead of binding "
                + hostPort(target);
        host.log(line);
        host.note(key + ".arbiter", line);
    }

    /**
     * A checkpoint ({@code PreFork} of kind RESTORE: the arbiter's preload mode, CRaC) must find no thread inside
     * {@code accept()} and no open connection: the connector stops accepting (first of all PreFork hooks) and its
     * connections are closed; each restored copy resumes accepting after all its {@code PostFork} hooks ran (last of
     * all), so no request sees the template's state. In the preload mode the copy's socket is by then the arbiter's.
     */
    private void pauseAcrossCheckpoints(ServerConnector connector) {
        registry.subscribe(io.forksafe.PreFork.class, "forksafe.jetty.pause-accepting", Integer.MAX_VALUE, e -> {
            if (e.worker().kind() == io.forksafe.WorkerKind.RESTORE) {
                connector.setAccepting(false);
                connector.getConnectedEndPoints().forEach(org.eclipse.jetty.io.EndPoint::close);
                host.log("Jetty stopped accepting on " + connectorName(connector) + " for the checkpoint");
            }
        });
        registry.subscribe(io.forksafe.PostFork.class, "forksafe.jetty.resume-accepting", Integer.MAX_VALUE, e -> {
            if (e.worker().kind() == io.forksafe.WorkerKind.RESTORE && !connector.isAccepting()) {
                // a restored standby accepts once promoted (its socket arrives then)
                ServingGate.of(registry).whenServing(HOST + " (restored copy)", () -> {
                    connector.setAccepting(true);
                    host.log("Jetty accepts again on " + connectorName(connector) + " in "
                            + registry.processWorker().name());
                });
            }
        });
    }

    private IllegalStateException bootError(String reason) {
        host.reportError(HOST, reason);
        return new IllegalStateException("forksafe-jetty: " + reason);
    }

    /**
     * Graceful stop unless the user chose otherwise: the server stops when the JVM does (SIGTERM from the arbiter, a
     * container stop), waiting for in-flight requests, so that requests are not cut and WorkerExit runs. Jetty's
     * defaults (no stop at shutdown, stop timeout 0) cut both.
     */
    private void applyStopDefaults() {
        if (!GracefulStop.enabled(registry)) {
            stopDefaults = "left as configured (" + GracefulStop.SETTING + "=false): stopAtShutdown="
                    + server.getStopAtShutdown() + ", stopTimeout=" + server.getStopTimeout() + " ms";
            return;
        }
        List<String> applied = new ArrayList<>();
        if (!server.getStopAtShutdown()) {
            server.setStopAtShutdown(true);
            applied.add("stopAtShutdown=true");
        }
        if (server.getStopTimeout() <= 0) {
            long millis = GracefulStop.defaultMillis(environment);
            server.setStopTimeout(millis);
            applied.add("stopTimeout=" + millis + " ms from " + GracefulStop.describe(environment));
        }
        stopDefaults = (applied.isEmpty() ? "yours: " : "forksafe set " + String.join(", ", applied) + "; now ")
                + "stopAtShutdown=" + server.getStopAtShutdown() + ", stopTimeout=" + server.getStopTimeout() + " ms";
        if (!applied.isEmpty()) {
            host.log("Jetty graceful stop: " + stopDefaults + " (turn off with " + GracefulStop.SETTING
                    + "=false)");
        }
    }

    // ------------------------------------------------------------------ what the status says

    private void checkVirtualThreads() {
        ThreadPool pool = server.getThreadPool();
        if (pool instanceof VirtualThreads.Configurable configurable && !isVirtualThreadPool(pool)
                && configurable.getVirtualThreadsExecutor() != null) {
            virtualThreads = "used for blocking tasks (executor " + configurable.getVirtualThreadsExecutor() + ")";
            host.note(key + ".virtualThreads", "Jetty runs blocking tasks on virtual threads from "
                    + configurable.getVirtualThreadsExecutor() + ": those tasks bypass the pool's thread creation, "
                    + "so virtual threads get no PreFork, PostFork or WorkerExit. Thread events cover only the "
                    + "platform threads the pool creates (selectors, acceptors, non-blocking tasks)");
        } else if (isVirtualThreadPool(pool)) {
            virtualThreads = "every task (VirtualThreadPool)";
            host.note(key + ".virtualThreads", "Jetty's VirtualThreadPool runs every task on a new virtual "
                    + "thread: no thread is ever created by a pool, so there are no thread events at all");
        }
    }

    private static boolean isVirtualThreadPool(ThreadPool pool) {
        return pool != null && pool.getClass().getName().equals("org.eclipse.jetty.util.thread.VirtualThreadPool");
    }

    private void checkConnectorExecutors() {
        ThreadPool pool = server.getThreadPool();
        for (Connector c : server.getConnectors()) {
            if (c.getExecutor() != null && c.getExecutor() != pool) {
                host.note(key + ".connector." + connectorName(c), "connector " + connectorName(c)
                        + " runs on its own executor " + c.getExecutor() + ", not the server's pool: its threads "
                        + "get no thread events");
            }
        }
    }

    private String describePool() {
        ThreadPool pool = server.getThreadPool();
        if (pool == null) {
            return "none";
        }
        String name = pool instanceof org.eclipse.jetty.util.thread.QueuedThreadPool q ? q.getName() + " " : "";
        return name + "(" + pool.getClass().getName() + (poolHooked() ? ", hooked" : ", NOT hooked") + ")";
    }

    private Map<String, String> settings() {
        Map<String, String> s = new LinkedHashMap<>();
        s.put("jetty.version", container.version());
        if (server.getThreadPool() instanceof org.eclipse.jetty.util.thread.QueuedThreadPool q) {
            s.put("jetty.threadPool.name", q.getName());
            s.put("jetty.threadPool.minThreads", Integer.toString(q.getMinThreads()));
            s.put("jetty.threadPool.maxThreads", Integer.toString(q.getMaxThreads()));
            s.put("jetty.threadPool.idleTimeout", Integer.toString(q.getIdleTimeout()));
        }
        return s;
    }

    private String endpoints() {
        List<String> parts = new ArrayList<>();
        for (Connector c : server.getConnectors()) {
            parts.add(c instanceof NetworkConnector n
                    ? (n.getHost() == null ? "0.0.0.0" : n.getHost()) + ":" + n.getLocalPort()
                    : connectorName(c));
        }
        return parts.isEmpty() ? "(no connectors)" : String.join(", ", parts);
    }

    private static String connectorName(Connector c) {
        return c.getName() != null ? c.getName() : c.getClass().getSimpleName() + "@" + Integer.toHexString(c.hashCode());
    }

    private static String hostPort(NetworkConnector c) {
        return (c.getHost() == null ? "0.0.0.0" : c.getHost()) + ":" + c.getPort();
    }

    /** The {@code jetty} status section, rendered as JSON, text and JMX. */
    public record Status(String jettyVersion, String server, String state, Record threadPool, String virtualThreads,
                         String gracefulStop, List<ConnectorStatus> connectors, String arbiterSocket) {
    }

    /** A thread pool that is not forksafe's: its class, and that it publishes no thread events. */
    public record ForeignPool(String className, boolean hooked) {
    }

    /** One connector; host and ports are null for a connector that is not a network connector. */
    public record ConnectorStatus(String name, String host, Integer port, Integer localPort, boolean inheritChannel) {
    }

    private Status statusDetails() {
        ThreadPool pool = server.getThreadPool();
        Record poolStatus = pool instanceof ForksafeThreadPool p ? p.status(p.registry() == registry)
                : new ForeignPool(pool == null ? null : pool.getClass().getName(), false);
        List<ConnectorStatus> connectors = new ArrayList<>();
        for (Connector c : server.getConnectors()) {
            NetworkConnector n = c instanceof NetworkConnector nc ? nc : null;
            connectors.add(new ConnectorStatus(connectorName(c), n == null ? null : n.getHost(),
                    n == null ? null : n.getPort(), n == null ? null : n.getLocalPort(),
                    c instanceof ServerConnector sc && sc.isInheritChannel()));
        }
        return new Status(container.version(), server.toString(), server.getState(), poolStatus, virtualThreads,
                stopDefaults, connectors, adoptedChannel);
    }


    /** {@code server.dump()} shows forksafe's status and this server's section of it. */
    @Override
    public void dump(Appendable out, String indent) throws IOException {
        List<Object> lines = new ArrayList<>();
        lines.add("processWorker: " + registry.processWorker());
        Status status = statusDetails();
        lines.add("state: " + status.state());
        lines.add("threadPool: " + status.threadPool());
        lines.add("gracefulStop: " + status.gracefulStop());
        status.connectors().forEach(c -> lines.add("connector: " + c));
        lines.add("arbiterSocket: " + status.arbiterSocket());
        registry.status().errors().forEach(e -> lines.add("error: " + e));
        org.eclipse.jetty.util.component.Dumpable.dumpObjects(out, indent, "forksafe " + registry.name() + ": "
                + registry.status().status(), lines.toArray());
    }

    @Override
    public String toString() {
        return "ForksafeLifeCycleListener[" + registry.name() + "]";
    }
}
