package io.forksafe.arbiter.testapp;

import io.forksafe.spi.HostContext;
import io.forksafe.ContainerInfo;
import io.forksafe.ForkLocal;
import io.forksafe.ForkRegistry;
import io.forksafe.Forksafe;
import io.forksafe.PostFork;
import io.forksafe.WorkerInfo;
import io.forksafe.arbiter.PreloadWorker;
import io.forksafe.recipes.RandomReseed;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Random;
import java.util.UUID;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.function.Supplier;

/**
 * A preload template for the tests: serves the socket it inherits as fd 0 (the arbiter's, in each copy), draws a {@link Random} value and a
 * {@link UUID} at start-up (before the checkpoint) and serves them, with the next value of the same Random.
 *
 * <p>{@code PreloadApp <port> none}: no hooks (the trap: copies are clones). {@code PreloadApp <port> hooks}: the
 * start-up values live in {@link ForkLocal}s and the Random is reseeded by {@link RandomReseed} (the fix).
 * {@code fail-prefork} and {@code fail-postfork}: a hook that throws in the template's PreFork, or in a copy's PostFork.
 * {@code PreloadApp <port> <mode> pool <jdbc url>} also opens a HikariCP pool at start-up (with
 * {@code HikariPoolRecipe} in hooks mode) and serves the H2 session id of a connection borrowed from it.
 *
 * <p>Also {@code GET /slow?ms=N} (answers after N ms), {@code GET /alloc?mb=N} (keeps N MiB more, resident) and
 * {@code GET /status} (this process's forksafe status JSON). Requests are counted as a server adapter counts them,
 * through {@code RequestTracker}, when the host enabled it before the server started (the arbiter's request limits).
 */
public final class PreloadApp {

    /** PostForks seen by a hook subscribed in main, per worker identity. */
    private static final java.util.Map<String, Integer> LATE_POST_FORKS = new java.util.concurrent.ConcurrentHashMap<>();
    /** The request tracker, when a host enabled it before the server started (as the adapters decide), else null. */
    private static volatile io.forksafe.spi.RequestTracker counting;

    public static void main(String[] args) throws Exception {
        // args[0]: the port, unused (the arbiter binds --bind and passes the socket); kept for the tests' command lines
        boolean hooks = args[1].equals("hooks");
        String jdbc = args.length > 3 && args[2].equals("pool") ? args[3] : null;
        if (args[1].equals("never-ready")) {
            Thread.sleep(Long.MAX_VALUE); // never publishes PostWorkerInit
        }
        // PRELOADAPP_BOOT_MARKER=file: each boot of this main (a template's; never a restored copy's) appends a line
        String marker = System.getenv("PRELOADAPP_BOOT_MARKER");
        if (marker != null) {
            java.nio.file.Files.writeString(java.nio.file.Path.of(marker), "booted pid " + ProcessHandle.current().pid()
                    + "\n", java.nio.file.StandardOpenOption.CREATE, java.nio.file.StandardOpenOption.APPEND);
        }
        ForkRegistry registry = Forksafe.registry();
        ContainerInfo container = ContainerInfo.of("preload-test-app", "1");
        registry.subscribe(io.forksafe.ForkEvent.class, "print", 0, e -> System.out.println("event "
                + e.type().displayName() + " " + e.worker().name() + " kind=" + e.worker().kind() + " generation="
                + e.worker().generation() + " pid=" + e.worker().pid()));
        PreloadWorker preload = PreloadWorker.attach(registry, container);
        // PRELOADAPP_WARM_UP_REQUESTS=n: the template sends n requests to its own (private) socket before it reports
        // ready, as an app that warms up its caches and JIT would
        int warmUp = Integer.parseInt(System.getenv().getOrDefault("PRELOADAPP_WARM_UP_REQUESTS", "0"));
        if (warmUp > 0) {
            preload.deferReadiness();
        }
        // Subscribed in main, after this process's PostFork was published: it must still see each worker's own
        // PostFork exactly once (the template's at once, each copy's at its restore).
        registry.subscribe(PostFork.class, "subscribed-in-main", 0,
                e -> LATE_POST_FORKS.merge(e.worker().identity(), 1, Integer::sum));

        if (args[1].equals("exit-early")) {
            System.err.println("PreloadApp: giving up before serving");
            System.exit(7);
        }
        if (args[1].equals("fail-prefork")) {
            registry.subscribe(io.forksafe.PreFork.class, "stubborn-pool", 0, e -> {
                throw new IllegalStateException("the pool did not drain in time");
            });
        } else if (args[1].equals("fail-postfork")) {
            registry.subscribe(PostFork.class, "reconnect", 0, e -> {
                if (e.worker().kind() == io.forksafe.WorkerKind.RESTORE) {
                    throw new IllegalStateException("cannot reconnect to the broker");
                }
            });
        }
        Random random = new Random();
        Supplier<String> startup;
        if (hooks) {
            RandomReseed.install(registry, random);
            ForkLocal<String> values = ForkLocal.of(registry, "startup-values",
                    () -> random.nextLong() + " " + UUID.randomUUID());
            values.get(); // drawn at start-up, before the checkpoint
            startup = values::get;
        } else {
            String values = random.nextLong() + " " + UUID.randomUUID();
            startup = () -> values;
        }
        Supplier<String> db = () -> "-";
        if (jdbc != null) {
            com.zaxxer.hikari.HikariConfig config = new com.zaxxer.hikari.HikariConfig();
            config.setJdbcUrl(jdbc);
            config.setUsername("sa");
            config.setPassword("");
            config.setMinimumIdle(2);
            config.setMaximumPoolSize(2);
            config.setAllowPoolSuspension(true);
            com.zaxxer.hikari.HikariDataSource pool = new com.zaxxer.hikari.HikariDataSource(config);
            if (hooks) {
                io.forksafe.hikari.HikariPoolRecipe.install(registry, pool);
            }
            query(pool); // the pool is open and used before the checkpoint
            db = () -> query(pool);
        }
        // fd 0: the template's private socket; in each copy, the arbiter's (handed over at the restore)
        ServerSocketChannel server = io.forksafe.spi.ArbiterContract.inheritedListeningSocket();
        if (server == null) {
            throw new IllegalStateException("fd 0 is not a listening socket: start PreloadApp through the arbiter");
        }
        ExecutorService pool = Executors.newFixedThreadPool(8);
        // as a server adapter: count requests (--max-requests, --request-timeout) only if the host asked before the
        // server started, which in the template is before the checkpoint
        io.forksafe.spi.RequestTracker tracker = io.forksafe.spi.RequestTracker.of(registry);
        if (tracker.enabled()) {
            tracker.installedBy("preload-test-app");
            counting = tracker;
        }
        Supplier<String> dbf = db;
        boolean noPause = args[1].equals("no-pause");
        java.util.concurrent.atomic.AtomicInteger inFlight = new java.util.concurrent.atomic.AtomicInteger();
        Thread acceptor = new Thread(() -> {
            while (true) {
                try {
                    // an accept loop of its own pauses while the process is checkpointed and until a copy's
                    // PostFork hooks ran ("no-pause": the mistake, which the checkpoint refuses)
                    if (!noPause) {
                        preload.awaitServing(Duration.ofDays(1));
                    }
                    SocketChannel c = server.accept();
                    inFlight.incrementAndGet();
                    pool.execute(() -> {
                        try {
                            handle(c, preload, startup, random, dbf);
                        } finally {
                            inFlight.decrementAndGet();
                        }
                    });
                } catch (IOException | InterruptedException e) {
                    return;
                }
            }
        }, "acceptor");
        acceptor.start();
        // a graceful stop (SIGTERM: a recycle, a roll, the arbiter's stop): no more accepts, the accepted requests
        // finish (connections still queued stay in the arbiter's accept queue, for the other workers)
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            try {
                server.close();
                acceptor.join(2_000);
                long deadline = System.nanoTime() + java.util.concurrent.TimeUnit.SECONDS.toNanos(30);
                while (inFlight.get() > 0 && System.nanoTime() - deadline < 0) {
                    Thread.sleep(5);
                }
            } catch (IOException | InterruptedException e) {
                // stopping anyway
            }
        }, "preload-app-graceful"));
        HostContext.of(registry).postWorkerInit(registry.processWorker(), container);
        if (warmUp > 0) {
            java.net.InetSocketAddress own = (java.net.InetSocketAddress) server.getLocalAddress();
            for (int i = 0; i < warmUp; i++) {
                try (java.net.Socket s = new java.net.Socket(own.getAddress(), own.getPort())) {
                    s.getOutputStream().write("GET / HTTP/1.1\r\nHost: x\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
                    s.getInputStream().readAllBytes();
                }
            }
            System.out.println("PreloadApp: the template served " + warmUp + " warm-up requests on its private socket");
            preload.ready();
        }
    }

    /** Serves one request; returns whether a response was written. */
    private static boolean handle(SocketChannel c, PreloadWorker preload, Supplier<String> startup, Random random,
                                  Supplier<String> db) {
        try (c) {
            ByteBuffer in = ByteBuffer.allocate(8192);
            boolean complete = false;
            String request = "";
            while (!complete && c.read(in) > 0) {
                request = new String(in.array(), 0, in.position(), StandardCharsets.ISO_8859_1);
                complete = request.contains("\r\n\r\n");
            }
            if (!complete) {
                return false; // closed without a request (e.g. the connection that wakes the acceptor)
            }
            if (!preload.awaitServing(Duration.ofSeconds(30))) {
                return false;
            }
            io.forksafe.spi.RequestTracker tracker = counting;
            io.forksafe.spi.RequestTracker.Request tracked = tracker == null ? null : tracker.begin();
            try {
                respond(c, request.split(" ")[1], preload.worker(), startup, random, db);
            } finally {
                if (tracked != null) {
                    tracker.end(tracked);
                }
            }
            return true;
        } catch (IOException | InterruptedException | RuntimeException e) {
            return false; // the client went away
        }
    }

    /**
     * {@code /alloc?mb=N}: allocates N MiB more and keeps it (resident); {@code /status}: this process's forksafe
     * status JSON; anything else: this worker's identity and start-up values.
     */
    private static void respond(SocketChannel c, String path, WorkerInfo w, Supplier<String> startup, Random random,
                                Supplier<String> db) throws IOException {
        String type = "text/plain";
        String body;
        if (path.startsWith("/slow")) {
            long ms = Long.parseLong(path.substring(path.indexOf("ms=") + 3));
            System.out.println("PreloadApp: slow request started (" + ms + " ms)");
            try {
                Thread.sleep(ms);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            body = "slept=" + ms + " pid=" + w.pid() + "\n";
        } else if (path.startsWith("/alloc")) {
            int mb = Ballast.megabytes(path);
            body = "allocated=" + mb + " kept=" + Ballast.allocate(mb) + " pid=" + w.pid() + "\n";
        } else if (path.startsWith("/status")) {
            io.forksafe.StatusEndpoint.Response r = io.forksafe.StatusEndpoint.loopbackOnly(Forksafe.registry())
                    .respond(((java.net.InetSocketAddress) c.getRemoteAddress()).getAddress(), null);
            type = r.contentType();
            body = r.body();
        } else {
            body = "slot=" + w.slot() + " generation=" + w.generation() + " pid=" + w.pid() + " kind="
                    + w.kind() + " startup=" + startup.get().replace(' ', ',') + " next=" + random.nextLong()
                    + " arbiter=" + w.parentPid() + " db=" + db.get() + " postForksSeenInMain="
                    + LATE_POST_FORKS.getOrDefault(w.identity(), 0) + "\n";
        }
        byte[] b = body.getBytes(StandardCharsets.UTF_8);
        String head = "HTTP/1.1 200 OK\r\nContent-Type: " + type + "\r\nConnection: close\r\nContent-Length: "
                + b.length + "\r\n\r\n";
        ByteBuffer out = ByteBuffer.allocate(head.length() + b.length);
        out.put(head.getBytes(StandardCharsets.ISO_8859_1)).put(b).flip();
        while (out.hasRemaining()) {
            c.write(out);
        }
    }

    private static String query(javax.sql.DataSource pool) {
        try (var c = pool.getConnection(); var st = c.createStatement();
             var rs = st.executeQuery("SELECT SESSION_ID()")) {
            rs.next();
            return "session" + rs.getLong(1);
        } catch (java.sql.SQLException e) {
            return "error:" + e.getMessage().replace(' ', '_').split("\n")[0];
        }
    }
}
