package io.forksafe.undertow;

import io.forksafe.spi.HostContext;
import io.forksafe.ContainerInfo;
import io.forksafe.ForkRegistry;
import io.forksafe.Forksafe;
import io.forksafe.StatusEndpoint;
import io.forksafe.undertow.internal.Installation;
import io.forksafe.undertow.internal.StatusHttpHandler;
import io.undertow.Undertow;
import io.undertow.server.HttpHandler;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.nio.channels.ServerSocketChannel;
import java.util.List;
import java.util.Locale;
import java.util.Objects;

/**
 * forksafe for embedded Undertow 2.3. {@link #install} gives the builder an XNIO worker whose task threads are
 * forksafe workers (PreFork, PostFork, PostForkParent, WorkerExit, kind THREAD); {@link #start} and {@link #stop}
 * replace {@code server.start()} and {@code server.stop()} and add the process-level PostWorkerInit and WorkerExit,
 * the shutdown of the worker forksafe created (Undertow's {@code stop()} leaves a supplied worker running), and, when
 * this JVM is an arbiter worker, serving the listening socket inherited as fd 0.
 *
 * <pre>{@code
 * Undertow server = ForksafeUndertow.install(Undertow.builder())
 *         .addHttpListener(8080, "127.0.0.1")
 *         .setHandler(new BlockingHandler(exchange -> exchange.getResponseSender().send("hello")))
 *         .build();
 * ForksafeUndertow.start(server);   // instead of server.start(): PostWorkerInit once it serves
 * ...
 * ForksafeUndertow.stop(server);    // instead of server.stop(): WorkerExit, then worker and threads shut down
 * }</pre>
 *
 * <p>XNIO creates its I/O and accept threads without any hook; forksafe reports no events for them and says so in
 * the status. Handlers that Undertow runs on the I/O thread never run on a forksafe worker; dispatched work
 * ({@code exchange.dispatch}, {@code BlockingHandler}, servlets) does.
 */
public final class ForksafeUndertow {

    /**
     * Setting that controls serving the inherited socket in {@link #start}: {@code auto} (default: only when the
     * environment variable {@code FORKSAFE_ARBITER_PID} says this JVM is an arbiter worker), {@code true} (whenever
     * {@link System#inheritedChannel()} is a listening socket) or {@code false}.
     */
    public static final String INHERIT_SETTING = "forksafe.undertow.inheritChannel";

    private ForksafeUndertow() {
    }

    /**
     * Gives {@code builder} a hooked XNIO worker reporting to the global registry; see
     * {@link #install(Undertow.Builder, ForkRegistry)}.
     */
    public static Undertow.Builder install(Undertow.Builder builder) {
        return install(builder, Forksafe.registry());
    }

    /**
     * Creates an XNIO worker (sized from the builder's {@code setIoThreads}, {@code setWorkerThreads} and
     * {@code setWorkerOption}s so far) whose task pool threads are forksafe workers, sets it with
     * {@code builder.setWorker}, and returns the builder. Call it before {@code build()}; {@code setIoThreads} after
     * it is ignored (and logged), {@code setWorkerThreads} after it resizes the pool at {@link #start}.
     *
     * <pre>{@code
     * Undertow server = ForksafeUndertow.install(Undertow.builder(), registry).setHandler(h).build();
     * }</pre>
     *
     * @throws IllegalStateException if the builder already has a worker (its own, or from an earlier install); the
     *                               message names the fix and the error is recorded in the status
     */
    public static Undertow.Builder install(Undertow.Builder builder, ForkRegistry registry) {
        Objects.requireNonNull(builder, "builder must not be null: pass Undertow.builder()");
        Objects.requireNonNull(registry, "registry must not be null: pass Forksafe.registry() or your own");
        Installation.install(builder, registry);
        return builder;
    }

    /**
     * Starts a server built from an installed builder: {@code server.start()}, then serves adopted sockets (see
     * {@link #adoptChannel} and {@link #INHERIT_SETTING}), then publishes the process {@code PostWorkerInit} for
     * {@code registry.processWorker()}. Hook failures are recorded in the status and do not stop the server.
     *
     * @return the server
     * @throws IllegalStateException if the server was not built from an installed builder (for example
     *                               {@code install} was called after {@code build()}), or was already started
     */
    public static Undertow start(Undertow server) {
        Objects.requireNonNull(server, "server must not be null");
        Installation installation = Installation.of(server);
        if (installation == null) {
            throw Installation.notInstalled(Forksafe.registry(), server, "ForksafeUndertow.start(server)");
        }
        installation.start(server, inheritedChannelToServe(installation.registry()));
        return server;
    }

    /**
     * Stops a server started with {@link #start}: publishes the process {@code WorkerExit} (reason
     * {@code "server stopping"}) while the server still runs, stops serving adopted sockets (without closing them),
     * calls {@code server.stop()}, then shuts down the XNIO worker and the task pool that {@link #install} created
     * and waits (up to 30 s) until every task thread has published its {@code WorkerExit} and ended. Calling it again
     * does nothing. Called from one of the server's own task threads, it does not wait for that thread.
     *
     * @throws IllegalStateException if the server was not built from an installed builder
     */
    public static void stop(Undertow server) {
        Objects.requireNonNull(server, "server must not be null");
        Installation installation = Installation.of(server);
        if (installation == null) {
            if (server.getWorker() == null) {
                throw Installation.notInstalled(Forksafe.registry(), server, "ForksafeUndertow.stop(server)");
            }
            return; // already stopped: its worker was shut down and forgotten
        }
        installation.stop(server);
    }

    /**
     * Serves an already bound, listening socket with this server's root handler on its forksafe worker, for example
     * a socket a supervisor passed in. Before {@link #start} it is queued; on a running server it is served at once.
     * Several servers may serve the same channel. forksafe never closes it: the caller owns it, and {@link #stop}
     * only stops serving it, so the other servers (or worker processes) sharing it keep accepting from its queue.
     * (Closing the JDK's inherited channel would also make the JDK redirect stdin, stdout and stderr to /dev/null.)
     * This is how an arbiter worker serves the arbiter's socket (see {@link #INHERIT_SETTING}).
     *
     * <pre>{@code
     * ServerSocketChannel shared = ServerSocketChannel.open().bind(new InetSocketAddress("127.0.0.1", 0));
     * ForksafeUndertow.adoptChannel(server, shared);
     * ForksafeUndertow.start(server);
     * }</pre>
     *
     * @throws UncheckedIOException  if the socket cannot be served (closed, unbound, unsupported XNIO)
     * @throws IllegalStateException if the server was not built from an installed builder or is stopped
     */
    public static void adoptChannel(Undertow server, ServerSocketChannel channel) {
        Objects.requireNonNull(server, "server must not be null");
        Objects.requireNonNull(channel, "channel must not be null: pass a bound ServerSocketChannel");
        Installation installation = Installation.of(server);
        if (installation == null) {
            throw Installation.notInstalled(Forksafe.registry(), server, "ForksafeUndertow.adoptChannel");
        }
        try {
            installation.adopt(server, channel);
        } catch (IOException e) {
            HostContext.of(installation.registry()).reportError(Installation.HOST, "cannot serve the socket: " + e.getMessage());
            throw new UncheckedIOException("forksafe-undertow: cannot serve the socket: " + e.getMessage(), e);
        }
    }

    /** The addresses of the adopted sockets a running server serves (empty if none). */
    public static List<InetSocketAddress> adoptedAddresses(Undertow server) {
        Installation installation = Installation.of(server);
        return installation == null ? List.of() : installation.adoptedAddresses();
    }

    /** Whether {@code server} was built from a builder that {@link #install} hooked and has not been stopped. */
    public static boolean isInstalled(Undertow server) {
        return server != null && Installation.of(server) != null;
    }

    /** Undertow as a container: {@code undertow <version>}. */
    public static ContainerInfo container() {
        return Installation.container();
    }

    /**
     * The global registry's status as an Undertow handler: JSON, or text with {@code ?format=text}; loopback clients
     * only unless {@code forksafe.status.allowRemote=true}.
     *
     * <pre>{@code
     * Handlers.path(appHandler).addExactPath("/forksafe/status", ForksafeUndertow.statusHandler());
     * }</pre>
     */
    public static HttpHandler statusHandler() {
        return statusHandler(Forksafe.registry());
    }

    /** {@link #statusHandler()} for {@code registry}. */
    public static HttpHandler statusHandler(ForkRegistry registry) {
        return statusHandler(StatusEndpoint.loopbackOnly(registry));
    }

    /** A status handler for a configured endpoint, for example {@code StatusEndpoint.loopbackOnly(r).allowRemote(true)}. */
    public static HttpHandler statusHandler(StatusEndpoint endpoint) {
        return new StatusHttpHandler(endpoint);
    }

    /**
     * Whether this JVM serves the forksafe arbiter's socket as a worker
     * ({@link io.forksafe.spi.ArbiterContract#sharesArbiterSocket}: {@code FORKSAFE_ARBITER_PID} is set).
     */
    public static boolean isArbiterWorker() {
        return io.forksafe.spi.ArbiterContract.sharesArbiterSocket(System::getenv);
    }

    /**
     * The listening socket this JVM inherited as fd 0 (the arbiter's), or null if stdin is not a listening socket.
     */
    public static ServerSocketChannel inheritedServerChannel() {
        return io.forksafe.spi.ArbiterContract.inheritedListeningSocket();
    }

    private static ServerSocketChannel inheritedChannelToServe(ForkRegistry registry) {
        String mode = registry.setting(INHERIT_SETTING, "auto").strip().toLowerCase(Locale.ROOT);
        boolean wanted = switch (mode) {
            case "true", "on" -> true;
            case "false", "off", "none" -> false;
            case "auto" -> isArbiterWorker();
            default -> {
                HostContext.of(registry).reportError(Installation.HOST, "unknown " + INHERIT_SETTING + "=" + mode
                        + ": use auto (default), true or false");
                yield false;
            }
        };
        if (!wanted) {
            return null;
        }
        ServerSocketChannel inherited = inheritedServerChannel();
        if (inherited == null) {
            HostContext.of(registry).reportError(Installation.HOST, (isArbiterWorker() ? "FORKSAFE_ARBITER_PID is set" : INHERIT_SETTING
                    + "=" + mode) + " but System.inheritedChannel() is not a listening socket: start the worker "
                    + "through the arbiter (it passes the socket as fd 0), or set " + INHERIT_SETTING + "=false");
        }
        return inherited;
    }
}
