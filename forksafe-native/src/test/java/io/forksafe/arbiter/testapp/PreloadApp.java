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
 */
public final class PreloadApp {

    /** PostForks seen by a hook subscribed in main, per worker identity. */
    private static final java.util.Map<String, Integer> LATE_POST_FORKS = new java.util.concurrent.ConcurrentHashMap<>();

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
        Supplier<String> dbf = db;
        boolean noPause = args[1].equals("no-pause");
        Thread acceptor = new Thread(() -> {
            while (true) {
                try {
                    // an accept loop of its own pauses while the process is checkpointed and until a copy's
                    // PostFork hooks ran ("no-pause": the mistake, which the checkpoint refuses)
                    if (!noPause) {
                        preload.awaitServing(Duration.ofDays(1));
                    }
                    SocketChannel c = server.accept();
                    pool.execute(() -> handle(c, preload, startup, random, dbf));
                } catch (IOException | InterruptedException e) {
                    return;
                }
            }
        }, "acceptor");
        acceptor.start();
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
            while (!complete && c.read(in) > 0) {
                complete = new String(in.array(), 0, in.position(), StandardCharsets.ISO_8859_1).contains("\r\n\r\n");
            }
            if (!complete) {
                return false; // closed without a request (e.g. the connection that wakes the acceptor)
            }
            if (!preload.awaitServing(Duration.ofSeconds(30))) {
                return false;
            }
            WorkerInfo w = preload.worker();
            String body = "slot=" + w.slot() + " generation=" + w.generation() + " pid=" + w.pid() + " kind="
                    + w.kind() + " startup=" + startup.get().replace(' ', ',') + " next=" + random.nextLong()
                    + " arbiter=" + w.parentPid() + " db=" + db.get() + " postForksSeenInMain=" + LATE_POST_FORKS.getOrDefault(w.identity(), 0)
                    + "\n";
            byte[] b = body.getBytes(StandardCharsets.UTF_8);
            String head = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nConnection: close\r\nContent-Length: "
                    + b.length + "\r\n\r\n";
            ByteBuffer out = ByteBuffer.allocate(head.length() + b.length);
            out.put(head.getBytes(StandardCharsets.ISO_8859_1)).put(b).flip();
            while (out.hasRemaining()) {
                c.write(out);
            }
            return true;
        } catch (IOException | InterruptedException | RuntimeException e) {
            return false; // the client went away
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
