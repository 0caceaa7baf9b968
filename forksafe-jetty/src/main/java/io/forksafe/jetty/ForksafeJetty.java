package io.forksafe.jetty;

import io.forksafe.ForkRegistry;
import io.forksafe.Forksafe;
import io.forksafe.StatusEndpoint;
import io.forksafe.jetty.internal.ForksafeLifeCycleListener;
import io.forksafe.jetty.internal.StatusHandler;

import org.eclipse.jetty.server.Handler;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.handler.ContextHandler;

import java.nio.channels.Channel;
import java.util.Objects;
import java.util.concurrent.Callable;
import java.util.function.Function;

/**
 * The Jetty 12 entry point: a hooked thread pool, one call that attaches forksafe to a server's own lifecycle, and
 * the status endpoint as a Jetty {@link Handler}. Everything is attached to the server you pass; this class keeps
 * no state.
 *
 * <pre>{@code
 * Server server = new Server(ForksafeJetty.threadPool());       // worker threads -> PreFork/PostFork/.../WorkerExit
 * ForksafeJetty.install(server);                                // started -> PostWorkerInit, stopping -> WorkerExit
 * server.setHandler(ForksafeJetty.statusContext("/forksafe/status")); // or add it to your ContextHandlerCollection
 * }</pre>
 *
 * <p><b>Process-level events</b> use {@link ForkRegistry#processWorker()} as the worker, so that a process another
 * adapter identified (an arbiter worker, a restored copy) keeps its identity.
 *
 * <p><b>Arbiter workers.</b> When the environment variable {@code FORKSAFE_ARBITER_PID}
 * ({@link io.forksafe.spi.ArbiterContract#ENV_ARBITER_PID}) is set and
 * {@link System#inheritedChannel()} is a listening {@link java.nio.channels.ServerSocketChannel}, the server's first
 * {@code ServerConnector} adopts that socket when the server starts instead of binding its host and port.
 */
public final class ForksafeJetty {

    private ForksafeJetty() {
    }

    // ------------------------------------------------------------------ thread pool

    /** A hooked pool with Jetty's defaults (200 max, 8 min, 60 s idle), publishing to {@link Forksafe#registry()}. */
    public static ForksafeThreadPool threadPool() {
        return new ForksafeThreadPool(Forksafe.registry());
    }

    /** A hooked pool with Jetty's defaults, publishing to {@code registry}. */
    public static ForksafeThreadPool threadPool(ForkRegistry registry) {
        return new ForksafeThreadPool(registry);
    }

    /**
     * A hooked pool with the given sizes and idle timeout, publishing to {@link Forksafe#registry()}.
     *
     * <pre>{@code
     * Server server = new Server(ForksafeJetty.threadPool(200, 8, 60_000));
     * }</pre>
     */
    public static ForksafeThreadPool threadPool(int maxThreads, int minThreads, int idleTimeoutMillis) {
        return new ForksafeThreadPool(Forksafe.registry(), maxThreads, minThreads, idleTimeoutMillis);
    }

    /** A hooked pool with the given sizes and idle timeout, publishing to {@code registry}. */
    public static ForksafeThreadPool threadPool(ForkRegistry registry, int maxThreads, int minThreads,
                                                int idleTimeoutMillis) {
        return new ForksafeThreadPool(registry, maxThreads, minThreads, idleTimeoutMillis);
    }

    // ------------------------------------------------------------------ install

    /**
     * Attaches forksafe to {@code server}'s lifecycle, publishing to {@link Forksafe#registry()}. Call it once, before
     * {@code server.start()}. Misconfigurations (called after start, a pool that is not the forksafe pool, two
     * installs) become status errors that name the fix.
     *
     * <pre>{@code
     * ForksafeJetty.install(server);
     * }</pre>
     */
    public static void install(Server server) {
        installer().install(server);
    }

    /** {@link #install(Server)} publishing to {@code registry}. */
    public static void install(Server server, ForkRegistry registry) {
        installer().registry(registry).install(server);
    }

    /**
     * Options for {@link #install(Server)}: the registry, and where the arbiter contract is read from (for tests).
     *
     * <pre>{@code
     * ForksafeJetty.installer().registry(registry).environment(Map.of(ArbiterContract.ENV_ARBITER_PID, "42")::get)
     *         .inheritedChannel(() -> channel).install(server);
     * }</pre>
     */
    public static Installer installer() {
        return new Installer();
    }

    /** Options for {@link #install(Server)}; see {@link #installer()}. */
    public static final class Installer {

        private ForkRegistry registry;
        private Function<String, String> environment = System::getenv;
        private Callable<Channel> inheritedChannel = System::inheritedChannel;
        private boolean connectorsStartLater;

        private Installer() {
        }

        /** The registry to publish to (default {@link Forksafe#registry()}). */
        public Installer registry(ForkRegistry registry) {
            this.registry = Objects.requireNonNull(registry, "registry must not be null");
            return this;
        }

        /** Where environment variables are read (default {@link System#getenv(String)}). */
        public Installer environment(Function<String, String> environment) {
            this.environment = Objects.requireNonNull(environment, "environment must not be null");
            return this;
        }

        /** Where the arbiter's listening socket comes from (default {@link System#inheritedChannel()}). */
        public Installer inheritedChannel(Callable<Channel> inheritedChannel) {
            this.inheritedChannel = Objects.requireNonNull(inheritedChannel, "inheritedChannel must not be null");
            return this;
        }

        /**
         * For hosts that start the server without its connectors and add and start them afterwards, as Spring Boot's
         * {@code JettyWebServer} does (so that no request arrives before the application is ready): the arbiter's
         * socket is adopted by the first {@code ServerConnector} added after the start, and {@code PostWorkerInit}
         * is published once that connector has started. Off by default: a server that starts with no connector
         * under the arbiter is a boot error.
         */
        public Installer connectorsStartLater() {
            this.connectorsStartLater = true;
            return this;
        }

        /** Attaches to {@code server}; see {@link ForksafeJetty#install(Server)}. */
        public void install(Server server) {
            Objects.requireNonNull(server, "server must not be null");
            ForksafeLifeCycleListener.install(server, registry != null ? registry : Forksafe.registry(), environment,
                    inheritedChannel, connectorsStartLater);
        }
    }

    /**
     * Stops {@code server} taking new connections on the arbiter's shared socket and publishes {@code WorkerExit}, for
     * a host that shuts its connectors down itself before {@code server.stop()} (Spring Boot's graceful shutdown
     * interrupts the acceptors, which can drop a connection the kernel just handed over). Each part happens once;
     * {@code server.stop()} does the same and then does nothing twice. Nothing happens for a server without
     * {@link #install(Server)}.
     *
     * <pre>{@code
     * ForksafeJetty.stopServing(server);   // then the host's own graceful shutdown
     * }</pre>
     */
    public static void stopServing(Server server) {
        ForksafeLifeCycleListener listener = ForksafeLifeCycleListener.of(Objects.requireNonNull(server, "server"));
        if (listener != null) {
            listener.stopServing("application stopping");
        }
    }

    // ------------------------------------------------------------------ status endpoint

    /**
     * The status of {@link Forksafe#registry()} as a Jetty handler: JSON, or the text dump with {@code ?format=text};
     * loopback clients only unless {@code forksafe.status.allowRemote=true}. It answers every request it receives, so
     * mount it on a path, for example with {@link #statusContext(String)}.
     *
     * <pre>{@code
     * ContextHandler status = new ContextHandler(ForksafeJetty.statusHandler(), "/forksafe/status");
     * status.setAllowNullPathInContext(true); // serve /forksafe/status itself, not only /forksafe/status/
     * contexts.addHandler(status);
     * }</pre>
     */
    public static Handler statusHandler() {
        return statusHandler(StatusEndpoint.loopbackOnly(Forksafe.registry()));
    }

    /** The status of {@code registry} as a Jetty handler, loopback clients only. */
    public static Handler statusHandler(ForkRegistry registry) {
        return statusHandler(StatusEndpoint.loopbackOnly(registry));
    }

    /**
     * The status as a Jetty handler with the access policy of {@code endpoint}, e.g.
     * {@code StatusEndpoint.loopbackOnly(registry).allowRemote(true)}.
     */
    public static Handler statusHandler(StatusEndpoint endpoint) {
        return new StatusHandler(endpoint);
    }

    /**
     * {@link #statusHandler()} mounted at {@code contextPath} (which it serves with and without a trailing slash).
     *
     * <pre>{@code
     * contexts.addHandler(ForksafeJetty.statusContext("/forksafe/status"));
     * }</pre>
     */
    public static ContextHandler statusContext(String contextPath) {
        return statusContext(contextPath, statusHandler());
    }

    /** {@code statusHandler} (from one of the {@code statusHandler} methods) mounted at {@code contextPath}. */
    public static ContextHandler statusContext(String contextPath, Handler statusHandler) {
        Objects.requireNonNull(contextPath, "contextPath must not be null: use e.g. \"/forksafe/status\"");
        if (!contextPath.startsWith("/")) {
            throw new IllegalArgumentException("contextPath must start with '/', got '" + contextPath
                    + "': use e.g. \"/forksafe/status\"");
        }
        ContextHandler context = new ContextHandler(Objects.requireNonNull(statusHandler, "statusHandler"),
                contextPath);
        context.setAllowNullPathInContext(true);
        return context;
    }
}
