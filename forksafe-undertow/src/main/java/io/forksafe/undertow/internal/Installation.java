package io.forksafe.undertow.internal;

import io.forksafe.spi.HostContext;
import io.forksafe.ContainerInfo;
import io.forksafe.ForkRegistry;
import io.forksafe.spi.GracefulStop;
import io.forksafe.spi.ServingGate;
import io.forksafe.spi.WorkerThreads;
import io.undertow.Undertow;
import org.xnio.OptionMap;
import org.xnio.Options;
import org.xnio.Xnio;
import org.xnio.XnioWorker;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.nio.channels.ServerSocketChannel;
import java.time.Instant;
import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * One {@code ForksafeUndertow.install}: the hooked task pool, the XNIO worker built on it, and the server's life
 * cycle (installed, started, stopped). Found again from the server through {@link Undertow#getWorker()}.
 */
public final class Installation {

    private static final System.Logger LOG = System.getLogger("io.forksafe.undertow");
    private static final AtomicInteger SEQUENCE = new AtomicInteger(1);
    /** Live installations by their worker; an entry is removed when the server stops or the worker terminates. */
    private static final Map<XnioWorker, Installation> BY_WORKER = new IdentityHashMap<>();

    public static final String HOST = "Undertow";
    public static final long SHUTDOWN_TIMEOUT_MILLIS = 30_000;

    enum State { INSTALLED, STARTED, STOPPED, FAILED }

    private final ForkRegistry registry;

    private final HostContext host;
    private final ContainerInfo container;
    private final String name;
    private final HookedThreadPool pool;
    private final XnioWorker worker;
    private final int ioThreads;
    private final boolean explicitPoolSize;
    private final Instant installedAt = Instant.now();
    private final List<ServerSocketChannel> channelsToAdopt = new ArrayList<>();
    private final List<ChannelAdopter.Adopted> adopted = new ArrayList<>();
    private final List<String> listeners = new java.util.concurrent.CopyOnWriteArrayList<>();
    private volatile State state = State.INSTALLED;
    private volatile String problem;
    private final InFlightRequests requests;
    private volatile String gracefulStop = "not started";
    private volatile String replacedListener;
    private Thread stopAtShutdown;
    private boolean acceptingStopped;

    private Installation(ForkRegistry registry, ContainerInfo container, String name, HookedThreadPool pool,
                         XnioWorker worker, int ioThreads, boolean explicitPoolSize) {
        this.registry = registry;
        this.host = HostContext.of(this.registry);
        this.container = container;
        this.name = name;
        this.pool = pool;
        this.worker = worker;
        this.ioThreads = ioThreads;
        this.explicitPoolSize = explicitPoolSize;
        this.requests = new InFlightRequests(io.forksafe.spi.RequestTracker.of(registry));
    }

    public static ContainerInfo container() {
        return ContainerInfo.of("undertow", io.undertow.Version.getVersionString());
    }

    /** Builds the hooked worker for {@code builder} and sets it; throws with a message naming the fix. */
    public static Installation install(Undertow.Builder builder, ForkRegistry registry) {
        RegistryState state = RegistryState.of(registry);
        XnioWorker existing;
        int ioThreads;
        int workerThreads;
        OptionMap workerOptions;
        try {
            existing = UndertowFields.builderWorker(builder);
            ioThreads = UndertowFields.builderIoThreads(builder);
            workerThreads = UndertowFields.builderWorkerThreads(builder);
            workerOptions = UndertowFields.builderWorkerOptions(builder);
        } catch (UndertowFields.Unreadable e) {
            throw fail(registry, "cannot install on this Undertow version: " + e.getMessage()
                    + "; use forksafe-undertow with Undertow 2.3");
        }
        if (existing != null) {
            Installation mine = find(existing);
            if (mine != null) {
                throw fail(registry, "ForksafeUndertow.install was called twice on the same Undertow.Builder "
                        + "(worker " + mine.name + " is already installed); call install(builder) once per builder");
            }
            throw fail(registry, "the Undertow.Builder already has an XnioWorker (" + existing.getName()
                    + ", set with setWorker): forksafe can only hook a worker it creates; remove setWorker(...) and "
                    + "size the server with setIoThreads/setWorkerThreads, then call ForksafeUndertow.install(builder)");
        }
        boolean explicitPoolSize = workerOptions.contains(Options.WORKER_TASK_MAX_THREADS);
        int threads = workerOptions.get(Options.WORKER_TASK_MAX_THREADS,
                workerOptions.get(Options.WORKER_TASK_CORE_THREADS, workerThreads));
        long keepAlive = workerOptions.get(Options.WORKER_TASK_KEEPALIVE, 60_000);
        String name = "forksafe-undertow-" + SEQUENCE.getAndIncrement();
        ContainerInfo container = container();
        HookedThreadPool pool = new HookedThreadPool(name, Math.max(1, threads), keepAlive,
                workerOptions.get(Options.THREAD_DAEMON, false), registry, container, state.slots());
        XnioWorker worker;
        Installation[] self = new Installation[1];
        try {
            OptionMap options = OptionMap.builder()
                    .set(Options.WORKER_IO_THREADS, ioThreads)
                    .addAll(workerOptions)
                    .getMap();
            worker = Xnio.getInstance(Undertow.class.getClassLoader()).createWorkerBuilder()
                    .populateFromOptions(options)
                    .setWorkerName(options.get(Options.WORKER_NAME, name))
                    .setExternalExecutorService(pool)
                    .setTerminationTask(() -> forget(self[0]))
                    .build();
        } catch (RuntimeException | Error e) {
            pool.shutdownNow();
            throw fail(registry, "cannot create the XNIO worker: " + e + "; check the worker options passed to "
                    + "setWorkerOption and that xnio-nio is on the class path");
        }
        Installation installation = new Installation(registry, container, name, pool, worker,
                worker.getIoThreadCount(), explicitPoolSize);
        self[0] = installation;
        pool.beforeFirstThread(installation::checkStartedThroughForksafe);
        synchronized (BY_WORKER) {
            BY_WORKER.put(worker, installation);
        }
        state.addServer(installation);
        builder.setWorker(worker);
        HostContext.of(registry).log(HOST + ": installed XNIO worker " + worker.getName() + " (" + installation.ioThreads
                + " I/O threads, " + pool.getMaximumPoolSize() + " forksafe task threads, keep-alive " + keepAlive
                + " ms); start the server with ForksafeUndertow.start(server)");
        HostContext.of(registry).configured(HOST, container);
        return installation;
    }

    /** The installation whose worker {@code server} uses, or null. */
    public static Installation of(Undertow server) {
        XnioWorker w = server.getWorker();
        return w == null ? null : find(w);
    }

    /** The live installation that created {@code worker}, or null. */
    static Installation forWorker(XnioWorker worker) {
        return worker == null ? null : find(worker);
    }

    private static Installation find(XnioWorker worker) {
        synchronized (BY_WORKER) {
            return BY_WORKER.get(worker);
        }
    }

    private static void forget(Installation installation) {
        if (installation != null) {
            synchronized (BY_WORKER) {
                BY_WORKER.remove(installation.worker);
            }
        }
    }

    static IllegalStateException fail(ForkRegistry registry, String reason) {
        HostContext.of(registry).reportError(HOST, reason);
        return new IllegalStateException("forksafe-undertow: " + reason);
    }

    /** Error for a server that was not built from an installed builder. */
    public static IllegalStateException notInstalled(ForkRegistry registry, Undertow server, String call) {
        XnioWorker w = server.getWorker();
        String reason = w == null
                ? call + " was given an Undertow server that has no forksafe worker: it was built before "
                  + "ForksafeUndertow.install(builder) was called, or never installed; call install(builder) before "
                  + "builder.build()"
                : call + " was given an Undertow server whose XNIO worker " + w.getName() + " is not forksafe's (or "
                  + "was already stopped): build the server from ForksafeUndertow.install(builder)";
        return fail(registry, reason);
    }

    public ForkRegistry registry() {
        return registry;
    }

    public XnioWorker worker() {
        return worker;
    }

    public HookedThreadPool pool() {
        return pool;
    }

    boolean isFinished() {
        return state == State.STOPPED || state == State.FAILED;
    }

    /** Queues a bound channel to be served when the server starts (or right away if it runs). */
    public synchronized void adopt(Undertow server, ServerSocketChannel channel) throws IOException {
        if (isAdopted(channel)) {
            return;
        }
        switch (state) {
            case INSTALLED -> channelsToAdopt.add(channel);
            case STARTED -> adoptNow(server, channel);
            default -> throw fail(registry, "cannot serve a socket on a stopped server; adopt channels before "
                    + "ForksafeUndertow.stop(server)");
        }
    }

    private boolean isAdopted(ServerSocketChannel channel) {
        for (ServerSocketChannel c : channelsToAdopt) {
            if (c == channel) {
                return true;
            }
        }
        for (ChannelAdopter.Adopted a : adopted) {
            if (a.channel() == channel) {
                return true;
            }
        }
        return false;
    }

    private void adoptNow(Undertow server, ServerSocketChannel channel) throws IOException {
        adoptNow(server, channel, null);
    }

    private void adoptNow(Undertow server, ServerSocketChannel channel, io.undertow.server.HttpHandler handler)
            throws IOException {
        if (isAdopted(channel)) {
            return;
        }
        ChannelAdopter.Adopted a = ChannelAdopter.adopt(server, worker, channel, handler);
        adopted.add(a);
        listeners.add("http://" + hostAndPort(a.address()) + " (adopted socket)");
        host.log(HOST + ": serving adopted socket " + hostAndPort(a.address()) + " on worker " + worker.getName());
    }

    /**
     * A checkpoint ({@code PreFork} of kind RESTORE: the arbiter's preload mode, CRaC) must find the adopted sockets
     * idle: they stop accepting (first of all PreFork hooks) and each restored copy accepts again after all its
     * {@code PostFork} hooks ran (last of all). The resume also registers the socket with XNIO's selectors afresh,
     * which a copy needs: in the preload mode its descriptor holds the arbiter's socket by then, not the template's.
     */
    private void pauseAcrossCheckpoints() {
        registry.subscribe(io.forksafe.PreFork.class, "forksafe.undertow.pause-accepting", Integer.MAX_VALUE, e -> {
            if (e.worker().kind() == io.forksafe.WorkerKind.RESTORE) {
                for (ChannelAdopter.Adopted a : adoptedNow()) {
                    a.server().suspendAccepts();
                }
                host.log(HOST + ": stopped accepting for the checkpoint");
            }
        });
        registry.subscribe(io.forksafe.PostFork.class, "forksafe.undertow.resume-accepting", Integer.MAX_VALUE, e -> {
            if (e.worker().kind() == io.forksafe.WorkerKind.RESTORE) {
                // a restored standby accepts once promoted (its socket arrives then)
                ServingGate.of(registry).whenServing(HOST + " (restored copy)", () -> {
                    for (ChannelAdopter.Adopted a : adoptedNow()) {
                        a.server().resumeAccepts();
                    }
                    host.log(HOST + ": accepts again in " + registry.processWorker().name());
                });
            }
        });
    }

    private synchronized List<ChannelAdopter.Adopted> adoptedNow() {
        return List.copyOf(adopted);
    }

    /** Starts the server, serves adopted channels, then publishes the process PostWorkerInit. */
    public synchronized void start(Undertow server, ServerSocketChannel inherited) {
        if (state != State.INSTALLED) {
            throw fail(registry, "ForksafeUndertow.start was called on a server that is already " + state.name()
                    .toLowerCase(java.util.Locale.ROOT) + "; start each installed server once, and build a new "
                    + "server from a new ForksafeUndertow.install(builder) to restart");
        }
        checkSizes(server);
        UndertowFields.RemovedListener replaced = inherited == null ? null : replaceListener(server, inherited);
        try {
            UndertowFields.wrapHandlers(server, requests::wrap);
        } catch (UndertowFields.Unreadable e) {
            host.note("undertow.gracefulStop", "requests in flight are not counted (" + e.getMessage() + "): a "
                    + "stop does not wait for them");
        }
        try {
            server.start();
            List<ServerSocketChannel> toAdopt = new ArrayList<>(channelsToAdopt);
            channelsToAdopt.clear();
            if (inherited != null && !toAdopt.contains(inherited)) {
                toAdopt.add(inherited);
            }
            for (ServerSocketChannel c : toAdopt) {
                boolean ownHandler = c == inherited && replaced != null && replaced.rootHandler() != null;
                adoptNow(server, c, ownHandler ? requests.wrap(replaced.rootHandler()) : null);
            }
            if (inherited != null) {
                pauseAcrossCheckpoints();
            }
        } catch (IOException | RuntimeException e) {
            state = State.FAILED;
            problem = String.valueOf(e);
            closeQuietly(server);
            shutDownWorkerAndPool();
            throw fail(registry, "the server failed to start: " + e + (e instanceof IOException
                    ? "; check the socket (it must be open, bound and listening)" : ""));
        }
        for (Undertow.ListenerInfo li : server.getListenerInfo()) {
            SocketAddress a = li.getAddress();
            listeners.add(li.getProtcol() + "://" + (a instanceof InetSocketAddress isa ? hostAndPort(isa) : a));
        }
        state = State.STARTED;
        registerStopAtShutdown(server);
        host.log(HOST + ": server on worker " + worker.getName() + " started, serving " + listeners);
        ServingGate gate = ServingGate.of(registry);
        List<ChannelAdopter.Adopted> standbyChannels = inherited != null && gate.held() ? adoptedNow() : List.of();
        for (ChannelAdopter.Adopted a : standbyChannels) {
            a.server().suspendAccepts(); // a standby: no connection before its promotion
        }
        if (!standbyChannels.isEmpty()) {
            host.log(HOST + ": a standby; it accepts once the arbiter promotes it");
        }
        gate.whenServing(HOST, () -> {
            for (ChannelAdopter.Adopted a : standbyChannels) {
                a.server().resumeAccepts();
            }
            WorkerThreads.publishQuietly(registry, "Undertow", "PostWorkerInit",
                    () -> host.postWorkerInit(registry.processWorker(), container));
        });
    }

    private void checkSizes(Undertow server) {
        try {
            int serverIo = UndertowFields.serverIoThreads(server);
            if (serverIo != ioThreads) {
                host.log(HOST + ": setIoThreads(" + serverIo + ") was called after ForksafeUndertow.install and "
                        + "is ignored: the XNIO worker was created by install with " + ioThreads + " I/O threads; "
                        + "call setIoThreads before install");
            }
            int serverWorkers = UndertowFields.serverWorkerThreads(server);
            if (!explicitPoolSize && serverWorkers != pool.getMaximumPoolSize()) {
                host.log(HOST + ": worker " + worker.getName() + " task threads resized from "
                        + pool.getMaximumPoolSize() + " to " + serverWorkers + " (setWorkerThreads after install)");
                pool.resize(serverWorkers);
            }
        } catch (UndertowFields.Unreadable e) {
            host.note("undertow.sizes", "could not compare the server's thread counts with the forksafe worker: "
                    + e.getMessage());
        }
    }

    /**
     * Under the arbiter the inherited socket is the one to serve, and the arbiter holds the port: the builder's first
     * HTTP listener (as the README's {@code addHttpListener(8080, ...)}) is taken out before start and its handler
     * serves the inherited socket instead, so the same code runs stand-alone and as an arbiter worker.
     */
    private UndertowFields.RemovedListener replaceListener(Undertow server, ServerSocketChannel inherited) {
        String shared = ChannelAdopter.describe(inherited);
        UndertowFields.RemovedListener removed;
        try {
            removed = UndertowFields.removeFirstHttpListener(server);
        } catch (UndertowFields.Unreadable e) {
            throw fail(registry, "cannot replace the builder's HTTP listener by the arbiter's socket " + shared + " ("
                    + e.getMessage() + "); remove addHttpListener(...) when running under the arbiter");
        }
        if (removed != null) {
            replacedListener = "the builder's HTTP listener " + removed.address() + " is served by the forksafe "
                    + "arbiter's socket " + shared + " instead (not bound)";
            host.log(HOST + ": " + replacedListener);
            host.note("undertow.arbiter", replacedListener);
        }
        return removed;
    }

    /** A stand-alone or arbiter worker stops gracefully on SIGTERM, as with {@code ForksafeUndertow.stop}. */
    private void registerStopAtShutdown(Undertow server) {
        if (!GracefulStop.enabled(registry)) {
            gracefulStop = "off (" + GracefulStop.SETTING + "=false): call ForksafeUndertow.stop(server) yourself";
            return;
        }
        long timeout = GracefulStop.defaultMillis(System::getenv);
        gracefulStop = "on JVM shutdown, waiting up to " + timeout + " ms (" + GracefulStop.describe(System::getenv)
                + ") for requests in flight";
        Thread hook = new Thread(() -> stop(server), "forksafe-undertow-stop-" + name);
        try {
            Runtime.getRuntime().addShutdownHook(hook);
            stopAtShutdown = hook;
        } catch (IllegalStateException e) {
            gracefulStop = "not registered: the JVM is already shutting down";
        }
    }

    /**
     * Stops gracefully: stops accepting (adopted sockets stay open for the other workers), waits for the requests in
     * flight (up to the graceful timeout; each answered with {@code Connection: close}), publishes the process
     * WorkerExit, stops the server, then shuts down the XNIO worker and the task pool forksafe created and waits for
     * their threads (each task thread publishes its WorkerExit).
     */
    public synchronized void stop(Undertow server) {
        if (state == State.STOPPED) {
            return;
        }
        unregisterStopAtShutdown();
        boolean wasStarted = state == State.STARTED;
        String drained = "";
        if (wasStarted) {
            requests.startDraining();
            stopAccepting(server); // connections already accepted go on
            drained = drain();
            WorkerThreads.publishQuietly(registry, "Undertow", "WorkerExit",
                    () -> host.workerExit(registry.processWorker(), container, "server stopping"));
        }
        closeQuietly(server);
        boolean clean = shutDownWorkerAndPool();
        state = State.STOPPED;
        forget(this);
        host.log(HOST + ": server on worker " + worker.getName() + " stopped" + drained + "; worker and "
                + pool.threadsCreated() + " task thread(s) shut down" + (clean ? "" : " (some threads did not end "
                + "within " + SHUTDOWN_TIMEOUT_MILLIS + " ms)"));
    }

    private String drain() {
        long timeout = GracefulStop.enabled(registry) ? GracefulStop.defaultMillis(System::getenv) : 0;
        if (timeout <= 0 || pool.isPoolThread()) {
            return ""; // no wait asked for, or stop() runs inside a request, which is itself in flight
        }
        long t0 = System.nanoTime();
        try {
            long left = requests.awaitDrained(timeout);
            long millis = (System.nanoTime() - t0) / 1_000_000;
            return left == 0 ? " after its requests in flight finished (" + millis + " ms)"
                    : " with " + left + " request(s) still in flight after the graceful timeout of " + timeout + " ms";
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return " (interrupted while waiting for requests in flight)";
        }
    }

    private void unregisterStopAtShutdown() {
        Thread hook = stopAtShutdown;
        stopAtShutdown = null;
        if (hook != null && hook != Thread.currentThread()) {
            try {
                Runtime.getRuntime().removeShutdownHook(hook);
            } catch (IllegalStateException e) {
                // the JVM is shutting down: the hook runs and finds the server stopped
            }
        }
    }

    /** Stops accepting (each adopted socket stays open) and stops the server's own listeners; once. */
    private void stopAccepting(Undertow server) {
        if (acceptingStopped) {
            return;
        }
        acceptingStopped = true;
        for (ChannelAdopter.Adopted a : adopted) {
            String problem = a.stopAccepting();
            if (problem != null) {
                host.log(HOST + ": " + problem);
            }
        }
        try {
            server.stop();
        } catch (RuntimeException e) {
            LOG.log(System.Logger.Level.WARNING, "forksafe: Undertow stop failed", e);
        }
    }

    /** Stops accepting if not done yet, then frees what the adopted sockets' connections used. */
    private void closeQuietly(Undertow server) {
        stopAccepting(server);
        for (ChannelAdopter.Adopted a : adopted) {
            a.closeBuffers();
        }
        adopted.clear();
    }

    private boolean shutDownWorkerAndPool() {
        boolean clean = true;
        try {
            worker.shutdown();
            if (!worker.awaitTermination(SHUTDOWN_TIMEOUT_MILLIS, TimeUnit.MILLISECONDS)) {
                worker.shutdownNow();
                clean = false;
            }
            clean &= pool.shutdownAndJoin(SHUTDOWN_TIMEOUT_MILLIS);
        } catch (InterruptedException e) {
            worker.shutdownNow();
            pool.shutdownNow();
            Thread.currentThread().interrupt();
            clean = false;
        }
        return clean;
    }

    private static String hostAndPort(InetSocketAddress a) {
        String host = a.getAddress() != null ? a.getAddress().getHostAddress() : a.getHostString();
        return (host.indexOf(':') >= 0 ? "[" + host + "]" : host) + ":" + a.getPort();
    }

    private void checkStartedThroughForksafe() {
        if (state == State.INSTALLED) {
            host.reportError(HOST, "the server on worker " + worker.getName() + " runs requests but was started "
                    + "with server.start(): no PostWorkerInit was published, and server.stop() will leave its threads "
                    + "running; use ForksafeUndertow.start(server) and ForksafeUndertow.stop(server)");
        }
    }

    /** Listener URLs of the running server, including adopted sockets. */
    public List<String> listeners() {
        return List.copyOf(listeners);
    }

    /** The addresses of adopted sockets. */
    public synchronized List<InetSocketAddress> adoptedAddresses() {
        List<InetSocketAddress> out = new ArrayList<>();
        for (ChannelAdopter.Adopted a : adopted) {
            out.add(a.address());
        }
        return out;
    }

    /** One server as the status shows it; {@code replacedListener} and {@code problem} are null when there is none. */
    public record Status(String worker, String state, String installedAt, int ioThreads, String ioThreadEvents,
                         List<String> listeners, String gracefulStop, long requestsInFlight, String replacedListener,
                         HookedThreadPool.Status taskPool, String problem) {
    }

    Status status() {
        return new Status(worker.getName(), state.name().toLowerCase(java.util.Locale.ROOT), installedAt.toString(),
                ioThreads, "none: XNIO has no thread-factory hook for I/O threads", List.copyOf(listeners),
                gracefulStop, requests.inFlight(), replacedListener, pool.status(), problem);
    }
}
