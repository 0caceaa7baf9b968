package io.forksafe.arbiter;

import io.forksafe.ContainerInfo;
import io.forksafe.ForkRegistry;
import io.forksafe.WorkerInfo;
import io.forksafe.WorkerKind;
import io.forksafe.arbiter.internal.ControlProtocol;
import io.forksafe.arbiter.internal.PreloadProtocol;
import io.forksafe.arbiter.internal.WorkerReport;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.Channels;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.stream.Stream;

/**
 * gunicorn's {@code --preload} for the JVM: boots one template worker JVM, waits until it is warm
 * ({@code PostWorkerInit}), checkpoints it with CRIU and restores one copy per slot, each in its own pid namespace
 * ({@code unshare -p -f --mount-proc criu restore}). A copy that dies is replaced by restoring the image again, not
 * by a cold start. The template side is {@link PreloadWorker}; the copies learn their slot, generation and host pid
 * over a Unix-domain control socket and publish {@code PostFork} (kind RESTORE) and {@code PostWorkerInit}.
 *
 * <p>In this (the preloader's) registry: {@code PreFork} before each restore (kind RESTORE, pid -1),
 * {@code PostForkParent} once the copy has its identity (its host pid), {@code ChildExit} when it died.
 *
 * <p>The server in the template must listen with {@code SO_REUSEPORT}: every copy restores its own listening socket
 * on the same port, and the kernel spreads connections over them. Nothing falls back silently: if CRIU cannot run
 * here, {@link #start()} throws {@link PreloadUnavailableException} naming the missing piece.
 *
 * <pre>{@code
 * try (Preloader preloader = Preloader.builder()
 *         .classpath(System.getProperty("java.class.path"))
 *         .mainClass("com.example.AppMain").args("8080")
 *         .build()) {
 *     preloader.start();          // template boots, gets warm, is checkpointed
 *     preloader.keep(2);          // restores slots 1 and 2, and restores again whenever one dies
 *     ...
 * }
 * }</pre>
 */
public final class Preloader implements AutoCloseable {

    /** The container the preloader's own events report. */
    public static final ContainerInfo CONTAINER = ContainerInfo.of("forksafe-preload", "criu");

    /** State of one restored copy. */
    public enum State { RESTORING, READY, DEAD }

    /**
     * One restored copy.
     *
     * @param slot          stable slot, from 1
     * @param generation    grows with each restore into the slot
     * @param hostPid       the copy's pid as the preloader sees it (-1 until known)
     * @param state         restoring, ready or dead
     * @param restoreMillis from starting {@code criu restore} to the copy reporting ready (-1 until ready)
     */
    public record Copy(int slot, long generation, long hostPid, State state, long restoreMillis) {
    }

    private final Builder config;
    private final ForkRegistry registry;
    private final Map<Integer, Slot> slots = new ConcurrentHashMap<>();
    private final Map<Integer, Long> generations = new ConcurrentHashMap<>();
    private final List<Pending> pending = new ArrayList<>();
    private final CompletableFuture<SocketChannel> templateReady = new CompletableFuture<>();
    private final CompletableFuture<String> templateQuiesced = new CompletableFuture<>();
    private Criu criu;
    private Path dir;
    private Path images;
    private ServerSocketChannel control;
    private Process template;
    private volatile boolean closing;
    private volatile boolean templateConnected;
    private volatile int keep;
    private long coldStartMillis = -1;
    private long dumpMillis = -1;
    private long imageBytes = -1;
    private String stdoutPipe;
    private String stderrPipe;

    private Preloader(Builder config) {
        this.config = config;
        this.registry = config.registry;
    }

    /** A builder; only {@link Builder#mainClass(String)} is required. */
    public static Builder builder() {
        return new Builder();
    }

    /**
     * Checks CRIU, boots the template, waits until it is ready and checkpoints it.
     *
     * @throws PreloadUnavailableException if CRIU cannot run here
     * @throws IllegalStateException       if the template fails to boot or quiesce, or the dump fails (the message
     *                                     quotes CRIU's log)
     */
    public synchronized Preloader start() {
        if (template != null) {
            throw new IllegalStateException("already started");
        }
        criu = Criu.requireUsable();
        registry.statusDetail("preload", this::figures);
        registry.configured("preload", CONTAINER);
        registry.putSettings(Map.of("forksafe.preload.criu", criu.binary() + " " + criu.version()));
        try {
            dir = config.workDir != null ? Files.createDirectories(config.workDir)
                    : Files.createTempDirectory("forksafe-preload-", PosixFilePermissions.asFileAttribute(
                            PosixFilePermissions.fromString("rwx------")));
            images = Files.createDirectories(dir.resolve("image"));
            Path sock = dir.resolve("control.sock");
            Files.deleteIfExists(sock);
            control = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
            control.bind(UnixDomainSocketAddress.of(sock));
            daemon(this::acceptLoop, "forksafe-preload-accept");
            long t0 = System.nanoTime();
            template = startTemplate(sock);
            pump(template.getInputStream(), System.out, "[template pid " + template.pid() + "] ");
            pump(template.getErrorStream(), System.err, "[template pid " + template.pid() + "] ");
            Process t = template;
            t.onExit().thenRun(() -> {
                templateReady.completeExceptionally(exitedEarly(t));
                templateQuiesced.completeExceptionally(exitedEarly(t));
            });
            SocketChannel tc;
            try {
                tc = await(templateReady, config.bootTimeout, "the template to report ready (PostWorkerInit)");
            } catch (IllegalStateException e) {
                template.destroyForcibly();
                if (!templateConnected) {
                    throw new IllegalStateException(e.getMessage() + ": it never connected to the preload control "
                            + "socket; the application must call io.forksafe.arbiter.PreloadWorker.attach(...) when "
                            + PreloadProtocol.ENV_CONTROL + " is set, and listen with SO_REUSEPORT (see "
                            + "docs/preload.md and io.forksafe.demo.JettyPreloadApp)", e);
                }
                throw e;
            }
            coldStartMillis = (System.nanoTime() - t0) / 1_000_000;
            stdoutPipe = Files.readSymbolicLink(Path.of("/proc/" + template.pid() + "/fd/1")).toString();
            stderrPipe = Files.readSymbolicLink(Path.of("/proc/" + template.pid() + "/fd/2")).toString();
            write(tc, "checkpoint");
            String answer = await(templateQuiesced, config.bootTimeout, "the template to quiesce (PreFork hooks)");
            if (!answer.equals("quiesced")) {
                template.destroyForcibly();
                throw new IllegalStateException("the template's PreFork hooks failed, so it was not checkpointed: "
                        + answer.replaceFirst("^prefork-failed ", ""));
            }
            checkpoint();
            return this;
        } catch (IOException e) {
            stopTemplate();
            throw new UncheckedIOException("preload: " + e.getMessage(), e);
        } catch (RuntimeException e) {
            stopTemplate(); // never leave a quiesced template behind, whatever failed
            throw e;
        }
    }

    private void stopTemplate() {
        if (template != null && template.isAlive()) {
            template.destroyForcibly();
        }
    }

    private Process startTemplate(Path sock) throws IOException {
        List<String> cmd = new ArrayList<>();
        // Its own session: CRIU refuses to dump a process whose session leader is outside its pid namespace, which
        // is the case when forksafe itself runs in a container or sandbox. setsid(1) execs in place (same pid),
        // because a child started by the JDK is never a process-group leader.
        cmd.add(criu.setsid().toString());
        cmd.add(config.java);
        // No shared perf-data file in /tmp (CRIU would dump it, and the copies would share it).
        cmd.add("-XX:-UsePerfData");
        cmd.addAll(config.jvmOptions);
        if (config.classpath != null) {
            cmd.add("-cp");
            cmd.add(config.classpath);
        }
        cmd.add(Objects.requireNonNull(config.mainClass, "mainClass is required"));
        cmd.addAll(config.args);
        ProcessBuilder pb = new ProcessBuilder(cmd);
        pb.environment().putAll(config.env);
        pb.environment().put(PreloadProtocol.ENV_CONTROL, sock.toString());
        pb.environment().put(PreloadProtocol.ENV_PARENT_PID, String.valueOf(ProcessHandle.current().pid()));
        // The copies inherit the template's environment, so they see it too (the timeout cannot change later).
        pb.environment().put(ControlProtocol.ENV_GRACEFUL_MILLIS, String.valueOf(config.gracefulTimeout.toMillis()));
        // The JDK closes every descriptor above 2 in the child; CRIU refuses external files it cannot restore.
        pb.redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")));
        return pb.start();
    }

    private static IllegalStateException exitedEarly(Process t) {
        return new IllegalStateException("the template (pid " + t.pid() + ") exited with status " + t.exitValue()
                + " before it was ready; see its output above");
    }

    private void checkpoint() throws IOException {
        List<String> outgoing = outgoingConnections(template.pid());
        if (!outgoing.isEmpty()) {
            template.destroyForcibly();
            throw new IllegalStateException("the template still has outgoing TCP connections after its PreFork hooks, "
                    + "to " + String.join(", ", outgoing) + ": close them in a PreFork hook (HikariPoolRecipe, a "
                    + "ForkLocal client), or every copy would restore the same connection; see docs/preload.md");
        }
        long t0 = System.nanoTime();
        // --tcp-close/--skip-in-flight: connections that clients opened to the template during the checkpoint are
        // not cloned; they are closed (those requests fail). Outgoing connections were refused above.
        List<String> cmd = List.of(criu.binary().toString(), "dump", "-t", String.valueOf(template.pid()),
                "-D", images.toString(), "--shell-job", "--tcp-close", "--skip-in-flight", "-o", "dump.log");
        int rc = runQuietly(cmd, Duration.ofSeconds(60));
        dumpMillis = (System.nanoTime() - t0) / 1_000_000;
        if (rc != 0) {
            template.destroyForcibly();
            throw new IllegalStateException("criu dump of the template failed (exit " + rc + "): "
                    + errors(images.resolve("dump.log")) + ". If it names a socket or TCP connection, close it in a "
                    + "PreFork hook (pools, clients); see docs/preload.md");
        }
        try {
            template.waitFor(10, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        try (Stream<Path> files = Files.list(images)) {
            imageBytes = files.filter(Files::isRegularFile).mapToLong(p -> p.toFile().length()).sum();
        }
    }

    /**
     * Restores one copy into {@code slot} and waits until it reports ready. Its generation is one more than the
     * slot's previous copy.
     *
     * @throws IllegalStateException if the restore fails or the copy does not become ready within the boot timeout
     */
    public Copy restore(int slot) {
        if (slot < 1) {
            throw new IllegalArgumentException("slot must be >= 1, got " + slot);
        }
        if (images == null || dumpMillis < 0) {
            throw new IllegalStateException("no image yet: call start() first");
        }
        long generation = generations.merge(slot, 0L, (a, b) -> a + 1);
        registry.preFork(new WorkerInfo(slot, "worker-" + slot, WorkerKind.RESTORE, WorkerInfo.UNKNOWN_PID,
                ProcessHandle.current().pid(), generation), CONTAINER);
        Slot s = new Slot(slot, generation);
        slots.put(slot, s);
        try {
            Path work = Files.createDirectories(dir.resolve("restore-" + slot + "-" + generation));
            List<String> cmd = List.of(criu.unshare().toString(), "-p", "-f", "--mount-proc",
                    criu.binary().toString(), "restore", "-D", images.toString(), "-W", work.toString(),
                    "--shell-job", "--tcp-close", "--inherit-fd", "fd[1]:" + stdoutPipe, "--inherit-fd", "fd[2]:" + stderrPipe,
                    "-o", "restore.log");
            ProcessBuilder pb = new ProcessBuilder(cmd);
            pb.redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")));
            s.startedNanos = System.nanoTime();
            Process p = pb.start();
            s.process = p;
            s.work = work;
            synchronized (pending) {
                pending.add(new Pending(s));
            }
            String prefix = "[worker-" + slot + " gen " + generation + "] ";
            s.pumps.add(pump(p.getInputStream(), System.out, prefix));
            s.pumps.add(pump(p.getErrorStream(), System.err, prefix));
            p.onExit().thenRun(() -> onCopyExit(s));
        } catch (IOException e) {
            throw new UncheckedIOException("preload: cannot start criu restore: " + e.getMessage(), e);
        }
        try {
            s.ready.get(config.bootTimeout.toMillis(), TimeUnit.MILLISECONDS);
        } catch (TimeoutException e) {
            kill(s);
            throw new IllegalStateException("restored copy worker-" + slot + " (generation " + generation
                    + ") did not report ready within " + config.bootTimeout.toMillis() + " ms; criu log: "
                    + errors(s.work.resolve("restore.log")));
        } catch (ExecutionException e) {
            throw new IllegalStateException(e.getCause().getMessage(), e.getCause());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while restoring worker-" + slot);
        }
        return s.snapshot();
    }

    /**
     * Restores slots 1..{@code n} and, from now on, restores a slot again whenever its copy dies (generation + 1).
     */
    public void keep(int n) {
        if (n < 1) {
            throw new IllegalArgumentException("n must be >= 1, got " + n);
        }
        keep = n;
        for (int slot = 1; slot <= n; slot++) {
            restore(slot);
        }
    }

    /**
     * Changes the number of kept slots: restores slots up to {@code n}, or stops the copies of slots above it
     * gracefully (SIGTERM). Slots above {@code n} are no longer restored when they die.
     */
    public void resize(int n) {
        if (n < 1) {
            throw new IllegalArgumentException("n must be >= 1, got " + n);
        }
        int old = keep;
        keep = n;
        for (int slot = old + 1; slot <= n; slot++) {
            restore(slot);
        }
        for (Slot s : slots.values()) {
            if (s.slot > n && s.hostPid > 0 && s.state != State.DEAD) {
                ProcessHandle.of(s.hostPid).ifPresent(ProcessHandle::destroy);
            }
        }
    }

    /** The number of slots {@link #keep(int)} or {@link #resize(int)} keeps running. */
    public int kept() {
        return keep;
    }

    /** The current copy of every slot. */
    public List<Copy> copies() {
        return slots.values().stream().map(Slot::snapshot).sorted(Comparator.comparingInt(Copy::slot)).toList();
    }

    /**
     * Figures of this run, also the {@code details.preload} section of the status: CRIU version, template cold
     * start to ready, dump time, image size, and each copy (slot, generation, pid, state, restore to ready, and the
     * errors and failing hooks it last reported).
     */
    public Map<String, Object> figures() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("criu", criu == null ? null : criu.version());
        m.put("templateColdStartMillis", coldStartMillis);
        m.put("dumpMillis", dumpMillis);
        m.put("imageBytes", imageBytes);
        m.put("copies", slots.values().stream().sorted(Comparator.comparingInt(s -> s.slot)).map(s -> {
            Copy c = s.snapshot();
            Map<String, Object> row = new LinkedHashMap<>();
            row.put("slot", c.slot());
            row.put("generation", c.generation());
            row.put("pid", c.hostPid());
            row.put("state", c.state().name().toLowerCase(java.util.Locale.ROOT));
            row.put("restoreMillis", c.restoreMillis());
            s.report.putInto(row);
            return row;
        }).toList());
        return m;
    }

    /** The preloader's working directory (image, restore logs, control socket). */
    public Path directory() {
        return dir;
    }

    private void onCopyExit(Slot s) {
        if (!s.exitHandled.compareAndSet(false, true)) {
            return;
        }
        try {
            handleCopyExit(s);
        } finally {
            s.exitDone.complete(null);
        }
    }

    private void handleCopyExit(Slot s) {
        int criuExit = s.process.exitValue();
        s.state = State.DEAD;
        s.ready.completeExceptionally(new IllegalStateException("restored copy worker-" + s.slot + " (generation "
                + s.generation + ") ended before it was ready (criu restore exit " + criuExit + "); criu log: "
                + errors(s.work.resolve("restore.log"))));
        if (s.hostPid > 0) {
            try {
                // The status is unknown (-1): CRIU, the copy's parent in its pid namespace, reaps it and exits 0.
                registry.childExit(s.info(), CONTAINER, -1);
            } catch (RuntimeException e) {
                System.err.println("forksafe preload: a ChildExit hook failed: " + e.getMessage());
            }
        }
        if (!closing && keep >= s.slot && slots.get(s.slot) == s && s.readyOnce) {
            Thread t = new Thread(() -> {
                try {
                    restore(s.slot);
                } catch (RuntimeException e) {
                    System.err.println("forksafe preload: restoring worker-" + s.slot + " again failed: "
                            + e.getMessage());
                }
            }, "forksafe-preload-replace-" + s.slot);
            t.setDaemon(true);
            t.start();
        }
    }

    private void acceptLoop() {
        while (!closing) {
            SocketChannel c;
            try {
                c = control.accept();
            } catch (IOException e) {
                return;
            }
            daemon(() -> serve(c), "forksafe-preload-conn");
        }
    }

    private void serve(SocketChannel c) {
        Slot copy = null;
        try (c) {
            BufferedReader in = new BufferedReader(new InputStreamReader(Channels.newInputStream(c),
                    StandardCharsets.UTF_8));
            String first = in.readLine();
            if (first == null) {
                return;
            }
            if (first.startsWith("template ")) {
                templateConnected = true;
                String line;
                while ((line = in.readLine()) != null) {
                    if (line.equals("ready")) {
                        templateReady.complete(c);
                    } else if (line.equals("quiesced") || line.startsWith("prefork-failed")) {
                        templateQuiesced.complete(line);
                    }
                }
                Process t = template;
                try {
                    if (t != null && t.waitFor(2, TimeUnit.SECONDS)) {
                        templateReady.completeExceptionally(exitedEarly(t));
                    }
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
                templateReady.completeExceptionally(new IllegalStateException("the template closed its control "
                        + "channel before it was ready"));
                return;
            }
            if (first.startsWith("restored ")) {
                copy = match(first.substring("restored ".length()).strip());
                if (copy == null) {
                    write(c, "unknown");
                    return;
                }
                copy.hostPid = findCopyPid(copy.process.pid());
                write(c, "identity " + copy.slot + " " + copy.generation + " " + copy.hostPid + " "
                        + ProcessHandle.current().pid());
                registry.postForkParent(copy.info(), CONTAINER);
                String line;
                while ((line = in.readLine()) != null) {
                    if (line.equals("ready")) {
                        copy.restoreMillis = (System.nanoTime() - copy.startedNanos) / 1_000_000;
                        copy.state = State.READY;
                        copy.readyOnce = true;
                        copy.ready.complete(null);
                    } else if (line.startsWith("errors") || line.startsWith("hook-failures")) {
                        report(copy, line);
                    } else if (line.startsWith("boot-error")) {
                        copy.ready.completeExceptionally(new IllegalStateException("restored copy worker-"
                                + copy.slot + ": PostFork failed: " + line.substring("boot-error".length()).strip()));
                    }
                }
            }
        } catch (IOException | RuntimeException e) {
            if (copy != null) {
                copy.ready.completeExceptionally(e);
            }
        }
    }

    /** A copy's report line (untrusted); each new error also becomes an error of the preloader's own status. */
    private void report(Slot copy, String line) {
        try {
            copy.report = copy.report.apply(line);
        } catch (IllegalArgumentException malformed) {
            return;
        }
        for (String e : copy.report.errors()) {
            boolean added;
            synchronized (copy.forwarded) {
                added = copy.forwarded.size() < WorkerReport.MAX_ITEMS && copy.forwarded.add(e);
            }
            if (added) {
                registry.reportError("worker-" + copy.slot + " (pid " + copy.hostPid + ")", e);
                System.err.println("[preload pid " + ProcessHandle.current().pid() + "] worker-" + copy.slot
                        + " (pid " + copy.hostPid + ", generation " + copy.generation + ") reports an error: " + e);
            }
        }
    }

    private Slot match(String ns) {
        synchronized (pending) {
            for (var it = pending.iterator(); it.hasNext(); ) {
                Pending p = it.next();
                try {
                    String pns = PreloadProtocol.pidNamespace("/proc/" + p.slot.process.pid() + "/ns/pid_for_children");
                    if (pns.equals(ns)) {
                        it.remove();
                        return p.slot;
                    }
                } catch (IOException e) {
                    if (!p.slot.process.isAlive()) {
                        it.remove();
                    }
                }
            }
        }
        return null;
    }

    static List<String> outgoingConnections(long pid) throws IOException {
        return io.forksafe.arbiter.internal.OutgoingConnections.of(pid);
    }

    /** unshare (pid) -> criu restore (pid 1 in the namespace) -> the restored JVM. */
    private static long findCopyPid(long unsharePid) throws IOException {
        long criuPid = onlyChild(unsharePid);
        return onlyChild(criuPid);
    }

    private static long onlyChild(long pid) throws IOException {
        String children = Files.readString(Path.of("/proc/" + pid + "/task/" + pid + "/children")).strip();
        if (children.isEmpty()) {
            throw new IOException("process " + pid + " has no child");
        }
        return Long.parseLong(children.split("\\s+")[0]);
    }

    private void kill(Slot s) {
        if (s.hostPid > 0) {
            ProcessHandle.of(s.hostPid).ifPresent(ProcessHandle::destroyForcibly);
        }
        if (s.process != null) {
            s.process.destroyForcibly();
        }
    }

    /**
     * Stops every copy (SIGTERM, then SIGKILL after the graceful timeout, 5 s by default) and removes the working
     * directory unless it was given.
     */
    @Override
    public void close() {
        closing = true;
        keep = 0;
        for (Slot s : slots.values()) {
            if (s.hostPid > 0) {
                ProcessHandle.of(s.hostPid).ifPresent(ProcessHandle::destroy);
            }
        }
        long deadline = System.nanoTime() + config.gracefulTimeout.toNanos();
        for (Slot s : slots.values()) {
            try {
                if (s.process != null && !s.process.waitFor(Math.max(1, deadline - System.nanoTime()),
                        TimeUnit.NANOSECONDS)) {
                    kill(s);
                    s.process.waitFor(5, TimeUnit.SECONDS);
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                kill(s);
            }
            if (s.process != null && !s.process.isAlive()) {
                onCopyExit(s); // ChildExit now (or wait for the reaper thread that is publishing it)
                try {
                    s.exitDone.get(5, TimeUnit.SECONDS);
                    for (Thread t : s.pumps) {
                        t.join(2000); // the copy's last lines (WorkerExit) reach our output
                    }
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                } catch (ExecutionException | TimeoutException ignored) {
                    // closing anyway
                }
            }
        }
        if (template != null && template.isAlive()) {
            template.destroyForcibly();
        }
        try {
            if (control != null) {
                control.close();
            }
        } catch (IOException ignored) {
            // closing anyway
        }
        if (dir != null && config.workDir == null) {
            try (Stream<Path> walk = Files.walk(dir)) {
                walk.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            } catch (IOException ignored) {
                // best effort
            }
        }
    }

    /** Parses "host:port" or "[v6]:port". */
    static java.net.InetSocketAddress parseBind(String hostPort) {
        String v = hostPort.strip();
        int colon = v.lastIndexOf(':');
        if (colon <= 0 || colon == v.length() - 1) {
            throw new IllegalArgumentException("bind address must be HOST:PORT, e.g. 127.0.0.1:8080, got '" + v + "'");
        }
        String host = v.substring(0, colon);
        if (host.startsWith("[") && host.endsWith("]")) {
            host = host.substring(1, host.length() - 1);
        }
        int port;
        try {
            port = Integer.parseInt(v.substring(colon + 1));
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("bind address must be HOST:PORT with a numeric port, got '" + v + "'");
        }
        if (port < 0 || port > 65535) {
            throw new IllegalArgumentException("bind port must be 0..65535, got " + port);
        }
        return java.net.InetSocketAddress.createUnresolved(host, port);
    }

    private static String errors(Path log) {
        try {
            List<String> lines = Files.readAllLines(log).stream()
                    .filter(l -> l.contains("Error") && !l.contains("RLIMIT_NOFILE")).toList();
            return lines.isEmpty() ? "(no errors in " + log + ")" : String.join(" | ", lines.subList(0,
                    Math.min(4, lines.size())));
        } catch (IOException e) {
            return "(no log at " + log + ")";
        }
    }

    private static int runQuietly(List<String> cmd, Duration timeout) throws IOException {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.DISCARD)
                .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null"))).start();
        try {
            if (!p.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
                p.destroyForcibly();
                return -1;
            }
            return p.exitValue();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            p.destroyForcibly();
            return -1;
        }
    }

    private static <T> T await(CompletableFuture<T> f, Duration timeout, String what) {
        try {
            return f.get(timeout.toMillis(), TimeUnit.MILLISECONDS);
        } catch (TimeoutException e) {
            throw new IllegalStateException("preload: timed out after " + timeout.toMillis() + " ms waiting for "
                    + what);
        } catch (ExecutionException e) {
            throw new IllegalStateException("preload: " + e.getCause().getMessage(), e.getCause());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("preload: interrupted waiting for " + what);
        }
    }

    private static void write(SocketChannel c, String line) throws IOException {
        ByteBuffer b = ByteBuffer.wrap((line + "\n").getBytes(StandardCharsets.UTF_8));
        while (b.hasRemaining()) {
            c.write(b);
        }
    }

    private static Thread pump(InputStream in, PrintStream out, String prefix) {
        return daemon(() -> {
            try (BufferedReader r = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8))) {
                String line;
                while ((line = r.readLine()) != null) {
                    out.println(prefix + line);
                }
            } catch (IOException ignored) {
                // stream closed
            }
        }, "forksafe-preload-output");
    }

    private static Thread daemon(Runnable r, String name) {
        Thread t = new Thread(r, name);
        t.setDaemon(true);
        t.start();
        return t;
    }

    private record Pending(Slot slot) {
    }

    private static final class Slot {
        final int slot;
        final long generation;
        final CompletableFuture<Void> ready = new CompletableFuture<>();
        volatile Process process;
        volatile Path work;
        volatile long startedNanos;
        volatile long hostPid = -1;
        volatile State state = State.RESTORING;
        volatile long restoreMillis = -1;
        volatile boolean readyOnce;
        final java.util.concurrent.atomic.AtomicBoolean exitHandled = new java.util.concurrent.atomic.AtomicBoolean();
        final CompletableFuture<Void> exitDone = new CompletableFuture<>();
        final List<Thread> pumps = new ArrayList<>();
        volatile WorkerReport report = WorkerReport.NONE;
        final java.util.Set<String> forwarded = new java.util.HashSet<>();

        Slot(int slot, long generation) {
            this.slot = slot;
            this.generation = generation;
        }

        WorkerInfo info() {
            return new WorkerInfo(slot, "worker-" + slot, WorkerKind.RESTORE, hostPid, ProcessHandle.current().pid(),
                    generation);
        }

        Copy snapshot() {
            return new Copy(slot, generation, hostPid, state, restoreMillis);
        }
    }

    /** Configuration of a {@link Preloader}. */
    public static final class Builder {
        private String java = ProcessHandle.current().info().command().orElse("java");
        private final List<String> jvmOptions = new ArrayList<>();
        private String classpath = System.getProperty("java.class.path");
        private String mainClass;
        private final List<String> args = new ArrayList<>();
        private final Map<String, String> env = new LinkedHashMap<>();
        private Path workDir;
        private Duration bootTimeout = Duration.ofSeconds(60);
        private Duration gracefulTimeout = Duration.ofSeconds(5);
        private ForkRegistry registry = io.forksafe.Forksafe.registry();

        private Builder() {
        }

        /** The java binary of the template (default: this JVM's). */
        public Builder java(String java) {
            this.java = Objects.requireNonNull(java, "java must not be null");
            return this;
        }

        /** JVM options of the template ({@code -XX:-UsePerfData} is always added). */
        public Builder jvmOptions(List<String> options) {
            jvmOptions.addAll(options);
            return this;
        }

        /** The template's class path (default: this JVM's). */
        public Builder classpath(String classpath) {
            this.classpath = classpath;
            return this;
        }

        /** The application's main class; it must attach {@link PreloadWorker} and publish PostWorkerInit. */
        public Builder mainClass(String mainClass) {
            this.mainClass = Objects.requireNonNull(mainClass, "mainClass must not be null");
            return this;
        }

        /** Arguments of the application's main. */
        public Builder args(String... args) {
            this.args.addAll(List.of(args));
            return this;
        }

        /**
         * The address the application should listen on, "host:port" (IPv6 as "[::1]:8080"), passed to the template
         * as {@code FORKSAFE_PRELOAD_BIND}; read it with {@link PreloadWorker#bindAddress()}.
         *
         * @throws IllegalArgumentException if it is not host:port
         */
        public Builder bind(String hostPort) {
            parseBind(hostPort);
            env.put(PreloadProtocol.ENV_BIND, hostPort.strip());
            return this;
        }

        /** An environment variable for the template (and so for every copy). */
        public Builder env(String name, String value) {
            env.put(name, value);
            return this;
        }

        /** A working directory to keep (image, logs); default a private temporary directory, removed at close. */
        public Builder workDir(Path dir) {
            this.workDir = dir;
            return this;
        }

        /** How long the template may take to become ready, and each copy to report ready after restore. */
        public Builder bootTimeout(Duration timeout) {
            if (timeout.isNegative() || timeout.isZero()) {
                throw new IllegalArgumentException("bootTimeout must be positive, got " + timeout);
            }
            this.bootTimeout = timeout;
            return this;
        }

        /** How long stopping copies may take to finish in-flight requests before SIGKILL (default 5 s). */
        public Builder gracefulTimeout(Duration timeout) {
            if (timeout.isNegative() || timeout.isZero()) {
                throw new IllegalArgumentException("gracefulTimeout must be positive, got " + timeout);
            }
            this.gracefulTimeout = timeout;
            return this;
        }

        /** The registry that receives the preloader's events (default {@code Forksafe.registry()}). */
        public Builder registry(ForkRegistry registry) {
            this.registry = Objects.requireNonNull(registry, "registry must not be null");
            return this;
        }

        /** A preloader with this configuration; call {@link Preloader#start()}. */
        public Preloader build() {
            if (mainClass == null) {
                throw new IllegalArgumentException("mainClass is required: the template's application main class");
            }
            return new Preloader(this);
        }
    }
}
