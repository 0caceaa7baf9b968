package io.forksafe.arbiter.internal;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.Channels;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.BiConsumer;
import java.util.function.LongFunction;

/**
 * The arbiter's end of the control channel (see {@link ControlProtocol}): accepts one connection per worker,
 * matches it to the spawned worker by the pid in its hello line, and records heartbeats, readiness, events and the
 * worker's reported errors and hook failures.
 */
final class ControlServer implements AutoCloseable {

    private final Path dir;
    private final Path socketPath;
    private final ServerSocketChannel server;
    private final LongFunction<WorkerProcess> lookup;
    private final Runnable wake;
    private final BiConsumer<WorkerProcess, String> onEvent;
    private final java.util.function.Consumer<WorkerProcess> onReport;
    private final Set<SocketChannel> connections = ConcurrentHashMap.newKeySet();
    private final Thread acceptor;
    private final Selector selector;
    private volatile boolean closed;
    /** Restored copies: finds the copy restoring in this pid namespace and identifies it, or returns null. */
    private volatile java.util.function.Function<String, WorkerProcess> restored = ns -> null;
    /** A preload template's connection ("template <pid>"), served by whoever boots templates. */
    private volatile TemplateHandler template;

    /** Serves a preload template's control connection after its first line. */
    interface TemplateHandler {
        void serve(SocketChannel c, BufferedReader in) throws IOException;
    }

    /** Where copies restored from a checkpoint ("restored <pid namespace>") are matched and templates served. */
    void acceptRestores(java.util.function.Function<String, WorkerProcess> restoredCopies, TemplateHandler templates) {
        this.restored = restoredCopies;
        this.template = templates;
    }

    /**
     * @param socket where to bind, in a private directory the caller owns (a kept preload image names it, so it must
     *               be the same in the next run), or null for {@code control.sock} in a new private temporary
     *               directory, removed at close
     */
    ControlServer(Path socket, LongFunction<WorkerProcess> lookup, Runnable wake,
                  BiConsumer<WorkerProcess, String> onEvent,
                  java.util.function.Consumer<WorkerProcess> onReport) throws IOException {
        this.lookup = lookup;
        this.wake = wake;
        this.onEvent = onEvent;
        this.onReport = onReport;
        if (socket == null) {
            this.dir = Files.createTempDirectory("forksafe-arbiter-");
            try {
                Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwx------"));
            } catch (UnsupportedOperationException ignored) {
                // non-POSIX file system: createTempDirectory already restricts where it can
            }
            this.socketPath = dir.resolve("control.sock");
        } else {
            this.dir = null; // the caller's
            this.socketPath = socket;
        }
        this.server = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
        server.bind(UnixDomainSocketAddress.of(socketPath));
        server.configureBlocking(false);
        selector = Selector.open();
        server.register(selector, SelectionKey.OP_ACCEPT);
        acceptor = new Thread(this::acceptLoop, "forksafe-arbiter-control");
        acceptor.setDaemon(true);
        acceptor.start();
    }

    Path path() {
        return socketPath;
    }

    private void acceptLoop() {
        while (!closed) {
            try {
                selector.select(500);
                selector.selectedKeys().clear();
                SocketChannel c = Spawner.openSealed(server::accept); // never inherited by a worker spawned now
                if (c == null) {
                    continue;
                }
                c.configureBlocking(true);
                connections.add(c);
                Thread t = new Thread(() -> serve(c), "forksafe-arbiter-control-conn");
                t.setDaemon(true);
                t.start();
            } catch (IOException | RuntimeException e) {
                if (closed) {
                    return;
                }
            }
        }
    }

    /** Matches a restored copy by its pid namespace; the supervisor may record it just after the restore began. */
    private WorkerProcess restoredCopy(String namespace) throws InterruptedException {
        WorkerProcess w = restored.apply(namespace);
        for (int i = 0; w == null && i < 40; i++) {
            Thread.sleep(25);
            w = restored.apply(namespace);
        }
        return w;
    }

    private void serve(SocketChannel c) {
        WorkerProcess w = null;
        try (BufferedReader in = new BufferedReader(new InputStreamReader(Channels.newInputStream(c), StandardCharsets.UTF_8))) {
            String hello = in.readLine();
            if (hello == null) {
                return;
            }
            if (hello.startsWith("template ")) {
                TemplateHandler t = template;
                if (t != null) {
                    t.serve(c, in);
                }
                return;
            }
            if (hello.startsWith("restored ")) {
                w = restoredCopy(hello.substring("restored ".length()).strip());
                if (w == null) {
                    c.write(java.nio.ByteBuffer.wrap("unknown\n".getBytes(StandardCharsets.UTF_8)));
                    return;
                }
                c.write(java.nio.ByteBuffer.wrap(("identity " + w.slot + " " + w.generation + " " + w.workerPid + " "
                        + w.arbiterPid + (w.standby > 0 ? " " + w.name() : "") + "\n").getBytes(StandardCharsets.UTF_8)));
            } else {
                if (!hello.startsWith("hello ")) {
                    return;
                }
                String[] f = hello.split(" ");
                if (f.length < 4) {
                    return;
                }
                long workerPid = Long.parseLong(f[1]);
                w = lookup.apply(workerPid);
                for (int i = 0; w == null && i < 20; i++) { // the supervisor records the pid right after the spawn
                    Thread.sleep(50);
                    w = lookup.apply(workerPid);
                }
                if (w == null || w.slot != Integer.parseInt(f[2]) || w.generation != Long.parseLong(f[3])) {
                    return; // not one of ours: ignore it
                }
            }
            w.control = c;
            w.connected = true;
            w.lastBeatNanos = System.nanoTime();
            String line;
            while ((line = in.readLine()) != null) {
                w.lastBeatNanos = System.nanoTime();
                if (line.equals("ready")) {
                    w.readyReported = true;
                    wake.run();
                } else if (line.equals(ControlProtocol.STANDBY)) {
                    w.standbyReported = true;
                    wake.run();
                } else if (line.startsWith("event ")) {
                    w.event(line.substring(6));
                    onEvent.accept(w, line.substring(6));
                } else if (line.startsWith("exiting")) {
                    w.event("exiting");
                } else if (line.startsWith(ControlProtocol.RECYCLE_MAX_REQUESTS + " ")) {
                    try {
                        w.servedAtRecycleRequest = Math.max(1, Long.parseLong(
                                line.substring(ControlProtocol.RECYCLE_MAX_REQUESTS.length() + 1).strip()));
                    } catch (NumberFormatException malformed) {
                        continue;
                    }
                    wake.run();
                } else if (line.startsWith(ControlProtocol.STUCK + " ")) {
                    w.stuckRequest = line.substring(ControlProtocol.STUCK.length() + 1);
                    wake.run();
                } else if (line.startsWith("boot-error")) {
                    w.bootError = true; // a restored copy's PostFork failed: criu's exit status does not say so
                } else if (AppMetrics.isLine(line)) {
                    try {
                        w.appMetrics = AppMetrics.parse(line);
                    } catch (IllegalArgumentException malformed) {
                        continue; // untrusted input: a malformed line changes nothing
                    }
                } else if (WorkerReport.isReportLine(line)) {
                    try {
                        w.report = w.report.apply(line);
                    } catch (IllegalArgumentException malformed) {
                        continue; // untrusted input: a malformed report changes nothing
                    }
                    onReport.accept(w);
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (IOException | RuntimeException e) {
            // a worker that dies mid-line is reaped by waitpid; nothing to do here
        } finally {
            if (w != null) {
                w.controlClosed = true;
                w.controlDone.countDown();
                wake.run();
            }
            connections.remove(c);
            Closing.quietly(c);
        }
    }

    @Override
    public void close() {
        closed = true;
        Closing.quietly(selector);
        Closing.quietly(server);
        for (SocketChannel c : connections) {
            Closing.quietly(c);
        }
        try {
            Files.deleteIfExists(socketPath);
            if (dir != null) {
                Files.deleteIfExists(dir);
            }
        } catch (IOException ignored) {
            // a stale temp dir is harmless
        }
    }
}
