package io.forksafe.arbiter.internal;

import io.forksafe.WorkerKind;
import io.forksafe.arbiter.ArbiterConfig;
import io.forksafe.arbiter.Criu;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Consumer;
import java.util.stream.Stream;

/**
 * Workers restored as copies of one warmed, checkpointed template (gunicorn's {@code --preload} for the JVM, with
 * CRIU). {@link #prepare} boots the template JVM, waits until it is ready ({@code PostWorkerInit}), asks it to
 * quiesce ({@code PreFork}, kind RESTORE) and dumps it; {@link #start} then restores one copy of that image, in its own
 * pid namespace, with fresh pipes as its stdout and stderr. Everything else about a copy (identity, heartbeats,
 * readiness, timeouts, backoff, signals, status) is the {@link Supervisor}'s, as for a spawned worker.
 *
 * <p>A reload ({@code SIGHUP}) boots a new template from the current class path and checkpoints it into a new image
 * in the background; the supervisor rolls the slots onto it once it is ready, and keeps the old image if it fails.
 *
 * <p>With {@code --image-dir} the image is kept between runs ({@link ImageDir}): {@link #open} locks the directory
 * and names the fixed control socket path the image will refer to, and {@link #prepare} restores from the kept image
 * when its {@link ImageKey} matches, or says which input changed and makes a new one.
 */
final class RestoreSource implements WorkerSource {

    private final ArbiterConfig config;
    private final Consumer<String> say;
    private final Consumer<String> templateOut;
    private final Consumer<String> templateErr;
    private final Object lock = new Object();
    private Criu criu;
    private Path dir;
    /** With --image-dir: the locked directory the image is kept in; null otherwise. */
    private ImageDir home;
    /** Where the current image came from, for the status: "kept image reused" or "new image: why". */
    private volatile String imageSource;
    private volatile String imageKey;
    private Path controlPath;
    private int devNull = -1;
    private SocketHandoff.Server handoff;
    /** The image copies are restored from, and the next one being prepared by a reload. */
    private volatile Image current;
    private volatile Template booting;
    private boolean reloading;
    private String reloadOutcome;
    private int imageGeneration;
    /** The working directory of each restore, by the pid of its unshare process. */
    private final Map<Long, Path> restoreDirs = new java.util.HashMap<>();

    /** One checkpointed template; {@code reused} if a previous run made it. */
    private record Image(int generation, Path dir, String stdoutPipe, String stderrPipe, long coldStartMillis,
                         long dumpMillis, long bytes, boolean reused) {

        /** The metadata a kept image is restored with: these fields (the key is added by the caller). */
        java.util.Properties metadata() {
            java.util.Properties p = new java.util.Properties();
            p.setProperty("generation", String.valueOf(generation));
            p.setProperty("stdoutPipe", stdoutPipe);
            p.setProperty("stderrPipe", stderrPipe);
            p.setProperty("templateColdStartMillis", String.valueOf(coldStartMillis));
            p.setProperty("dumpMillis", String.valueOf(dumpMillis));
            p.setProperty("imageBytes", String.valueOf(bytes));
            p.setProperty("createdAt", java.time.Instant.now().toString());
            p.setProperty("arbiterPid", String.valueOf(ProcessHandle.current().pid()));
            return p;
        }

        static Image kept(ImageDir.Kept k) {
            java.util.Properties p = k.metadata();
            return new Image(k.generation(), k.dir(), required(p, "stdoutPipe"), required(p, "stderrPipe"),
                    Long.parseLong(required(p, "templateColdStartMillis")), Long.parseLong(required(p, "dumpMillis")),
                    Long.parseLong(required(p, "imageBytes")), true);
        }

        private static String required(java.util.Properties p, String name) {
            String v = p.getProperty(name);
            if (v == null) {
                throw new IllegalArgumentException(ImageDir.METADATA + " has no " + name);
            }
            return v;
        }
    }

    /** A template JVM while it boots and is checkpointed; its control lines arrive through the ControlServer. */
    private static final class Template {
        final Process process;
        final CompletableFuture<SocketChannel> ready = new CompletableFuture<>();
        final CompletableFuture<String> quiesced = new CompletableFuture<>();
        volatile boolean connected;

        Template(Process process) {
            this.process = process;
        }
    }

    RestoreSource(ArbiterConfig config, Consumer<String> say, Consumer<String> templateOut,
                  Consumer<String> templateErr) {
        this.config = config;
        this.say = say;
        this.templateOut = templateOut;
        this.templateErr = templateErr;
    }

    @Override
    public WorkerKind kind() {
        return WorkerKind.RESTORE;
    }

    /**
     * Checks CRIU and opens the directory the image is made in: with {@code --image-dir}, locked for this arbiter.
     *
     * @return where the arbiter's control socket must be bound (a kept image names it), or null: anywhere
     * @throws io.forksafe.arbiter.PreloadUnavailableException if CRIU cannot run here, or the image directory is
     *                                                         unsafe or in use by another arbiter
     */
    Path open() throws IOException {
        this.criu = Criu.requireUsable();
        if (config.imageDir() != null) {
            home = ImageDir.open(config.imageDir());
            dir = home.path();
            return home.controlSocket();
        }
        dir = config.workDir() != null ? Files.createDirectories(config.workDir())
                : Files.createTempDirectory("forksafe-preload-", PosixFilePermissions.asFileAttribute(
                        PosixFilePermissions.fromString("rwx------")));
        return null;
    }

    /**
     * After {@link #open}: restores from the kept image if its key matches, or boots the first template and
     * checkpoints it (blocking).
     *
     * @throws IllegalStateException if the template fails to boot, quiesce or be dumped (with the reason)
     */
    void prepare(Path controlPath, int listeningFd) throws IOException {
        this.controlPath = controlPath;
        // the restored copies take the arbiter's listening socket from here (a private directory: whoever can
        // connect gets the socket)
        this.handoff = new SocketHandoff.Server(home != null ? home.listenerSocket() : dir.resolve("listener.sock"),
                listeningFd);
        this.devNull = Libc.get().open("/dev/null", 0 /* O_RDONLY */);
        String booting = "booting the template (" + config.mainClass() + "), then checkpointing it with CRIU";
        if (home == null) {
            say.accept("preload: " + booting);
            current = checkpointNewTemplate(null);
            return;
        }
        long t0 = System.nanoTime();
        ImageKey key = key();
        String keyed = key.summary() + ", computed in " + (System.nanoTime() - t0) / 1_000_000 + " ms";
        imageGeneration = home.nextGeneration();
        ImageDir.Kept kept = home.newest();
        String why;
        if (kept == null) {
            why = "no preload image in " + dir + " yet";
        } else {
            ImageKey was = ImageKey.load(kept.metadata());
            if (was.equals(key)) {
                try {
                    current = Image.kept(kept);
                    imageSource = "kept image reused";
                    imageKey = key.summary();
                    say.accept("preload: image " + kept.generation() + " in " + dir + " reused (its key matches: "
                            + keyed + "; made " + kept.metadata().getProperty("createdAt", "?")
                            + "): no template boots");
                    return;
                } catch (IllegalArgumentException malformed) {
                    why = "the preload image in " + dir + " has unusable metadata (" + malformed.getMessage() + ")";
                }
            } else {
                why = "preload image in " + dir + " is stale: " + key.describe(was);
            }
            ImageDir.deleteTree(kept.dir()); // never restored
        }
        imageSource = "new image: " + why;
        say.accept(why + "; checkpointing a new template (booting " + config.mainClass() + " first; key "
                + keyed + ")");
        current = checkpointNewTemplate(key);
    }

    /** The key of the template booted now (--image-dir). */
    private ImageKey key() throws IOException {
        if (home == null) {
            return ImageKey.of(config, arbiterJvmOptions(), System::getenv, criu.version());
        }
        Map<String, String> known = home.knownDigests();
        ImageKey key = ImageKey.of(config, arbiterJvmOptions(), System::getenv, criu.version(), known);
        home.saveKnownDigests(known);
        return key;
    }

    /**
     * Starts booting a new template in the background (a reload); {@link #takeReloadOutcome} tells when it is done.
     * Does nothing while one is already running.
     */
    void beginReload() {
        synchronized (lock) {
            if (reloading) {
                return;
            }
            reloading = true;
            reloadOutcome = null;
        }
        Thread t = new Thread(() -> {
            String outcome;
            try {
                Image next = checkpointNewTemplate(home == null ? null : key());
                if (home != null) {
                    imageSource = "new image: reload (SIGHUP)";
                }
                Image old = current;
                current = next;
                say.accept("new image " + next.generation + " ready (template cold start " + next.coldStartMillis
                        + " ms, dump " + next.dumpMillis + " ms)");
                deleteLater(old);
                outcome = "";
            } catch (RuntimeException | IOException e) {
                outcome = String.valueOf(e.getMessage());
            }
            synchronized (lock) {
                reloading = false;
                reloadOutcome = outcome;
            }
        }, "forksafe-arbiter-reload");
        t.setDaemon(true);
        t.start();
    }

    /**
     * The outcome of a finished reload, once: "" when the new image is ready (copies restored from now on use it),
     * or why it failed (the old image stays); null while none finished since the last call.
     */
    String takeReloadOutcome() {
        synchronized (lock) {
            String o = reloadOutcome;
            reloadOutcome = null;
            return o;
        }
    }

    boolean reloading() {
        synchronized (lock) {
            return reloading;
        }
    }

    /**
     * Boots a template, checkpoints it into a new image and, with {@code key} (--image-dir), makes the image the kept
     * one by writing its metadata last.
     */
    private Image checkpointNewTemplate(ImageKey key) throws IOException {
        int generation;
        synchronized (lock) {
            generation = imageGeneration++;
        }
        Path images = Files.createDirectories(dir.resolve("image-" + generation));
        long t0 = System.nanoTime();
        Template t = new Template(startTemplate());
        synchronized (lock) {
            booting = t;
        }
        Process p = t.process;
        pump(p.getInputStream(), templateOut, "[template pid " + p.pid() + "] ");
        pump(p.getErrorStream(), templateErr, "[template pid " + p.pid() + "] ");
        p.onExit().thenRun(() -> {
            t.ready.completeExceptionally(exitedEarly(p));
            t.quiesced.completeExceptionally(exitedEarly(p));
        });
        try {
            SocketChannel c;
            try {
                c = await(t.ready, config.bootTimeout(), "the template to report ready (PostWorkerInit)");
            } catch (IllegalStateException e) {
                if (!t.connected) {
                    throw new IllegalStateException(e.getMessage() + ": it never connected to the arbiter's control "
                            + "socket (io.forksafe.arbiter.PreloadWorker.attach, which the worker bootstrap calls "
                            + "before the application's main); see its output above", e);
                }
                throw e;
            }
            long coldStart = (System.nanoTime() - t0) / 1_000_000;
            String out = Files.readSymbolicLink(Path.of("/proc/" + p.pid() + "/fd/1")).toString();
            String err = Files.readSymbolicLink(Path.of("/proc/" + p.pid() + "/fd/2")).toString();
            say.accept("preload: template pid " + p.pid() + " warm after " + coldStart + " ms; asking it to quiesce "
                    + "(PreFork, kind RESTORE) for image " + generation);
            c.write(ByteBuffer.wrap("checkpoint\n".getBytes(StandardCharsets.UTF_8)));
            String answer = await(t.quiesced, config.bootTimeout(), "the template to quiesce (PreFork hooks)");
            if (!answer.equals("quiesced")) {
                throw new IllegalStateException("the template's PreFork hooks failed, so it was not checkpointed: "
                        + answer.replaceFirst("^prefork-failed ", ""));
            }
            say.accept("preload: template pid " + p.pid() + " quiesced; criu dump into image " + generation);
            long dumpMillis = dump(p, images);
            long bytes;
            try (Stream<Path> files = Files.list(images)) {
                bytes = files.filter(Files::isRegularFile).mapToLong(f -> f.toFile().length()).sum();
            }
            Image image = new Image(generation, images, out, err, coldStart, dumpMillis, bytes, false);
            if (key != null) {
                keep(image, key);
            }
            return image;
        } finally {
            if (p.isAlive()) {
                p.destroyForcibly(); // never leave a quiesced template behind, whatever failed
            }
        }
    }

    /**
     * Makes {@code image} the kept one: its metadata, with {@code key}, written last. If an input changed while the
     * template booted (the key computed again now differs), the image serves this run but is not kept: it might hold
     * either version.
     */
    private void keep(Image image, ImageKey key) throws IOException {
        ImageKey now = key.filesUnchanged() ? key : key(); // a stat of each file; digests again only if one changed
        if (!now.equals(key)) {
            say.accept("preload: image " + image.generation + " is not kept in " + dir + ": an input changed while "
                    + "the template booted (" + now.describe(key) + "); it serves this run only");
            return;
        }
        java.util.Properties p = image.metadata();
        key.store(p);
        ImageDir.writeMetadata(image.dir, p);
        imageKey = key.summary();
    }

    /** The JVM options the arbiter adds to the template's, before the user's. */
    private List<String> arbiterJvmOptions() throws IOException {
        List<String> options = new ArrayList<>();
        options.add("-XX:-UsePerfData"); // no shared perf-data file in /tmp: CRIU would dump it and the copies share it
        Path jffi = jffiLibraryDir();
        if (jffi != null) {
            options.add("-Djffi.boot.library.path=" + jffi);
        }
        return options;
    }

    private Process startTemplate() throws IOException {
        List<String> cmd = new ArrayList<>();
        // Its own session: CRIU refuses to dump a process whose session leader is outside its pid namespace (as
        // in containers and CI sandboxes). setsid(1) execs in place (same pid).
        cmd.add(criu.setsid().toString());
        cmd.add(config.javaCommand());
        cmd.addAll(arbiterJvmOptions());
        cmd.addAll(config.jvmOptions());
        if (!config.classpath().isEmpty()) {
            cmd.add("-cp");
            cmd.add(config.classpath());
        }
        // as a spawned worker: the bootstrap attaches PreloadWorker (private socket as fd 0), then runs the app's main
        cmd.add(WorkerBootstrap.class.getName());
        cmd.add(config.mainClass());
        cmd.addAll(config.args());
        ProcessBuilder pb = new ProcessBuilder(cmd);
        pb.environment().remove(SystemdNotify.ENV); // the service's main process is the arbiter (copies inherit this)
        pb.environment().putAll(config.environment());
        String arbiterPid = String.valueOf(ProcessHandle.current().pid());
        pb.environment().put(PreloadProtocol.ENV_CONTROL, controlPath.toString());
        pb.environment().put(PreloadProtocol.ENV_PARENT_PID, arbiterPid);
        pb.environment().put(PreloadProtocol.ENV_LISTENER, handoff.path());
        // fd 0 is a listening socket to serve (the template's private one, then in each copy the arbiter's): server
        // adapters adopt it exactly as in a spawned worker
        pb.environment().put(io.forksafe.spi.ArbiterContract.ENV_ARBITER_PID, arbiterPid);
        // The copies inherit the template's environment, so they see these too.
        pb.environment().put(ControlProtocol.ENV_GRACEFUL_MILLIS, String.valueOf(config.gracefulTimeout().toMillis()));
        pb.environment().put(ControlProtocol.ENV_HEARTBEAT_MILLIS,
                String.valueOf(config.heartbeatInterval().toMillis()));
        // --max-requests (the template counts without a limit; each copy draws its own) and --request-timeout
        pb.environment().putAll(RequestLimits.environment(config));
        // The JDK closes every descriptor above 2 in the child; CRIU refuses external files it cannot restore.
        pb.redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")));
        return pb.start();
    }

    /**
     * jnr's native stub (the template uses jnr-ffi to hand over its socket) as a file in the working directory.
     * Left to itself, jffi extracts it to /tmp and deletes it while mapped: CRIU then dumps it as a "ghost" file that
     * two copies restored at once both try to create ("Can't create ghost regfile: File exists"). The directory is
     * named by the library's digest ({@code native-<sha256 prefix>}): an image refers to the file it mapped, so a
     * kept image's must never be overwritten by another version. Null if the library is not on the class path for
     * this platform (jffi then extracts it as usual).
     */
    private Path jffiLibraryDir() throws IOException {
        String arch = switch (System.getProperty("os.arch")) {
            case "amd64", "x86_64" -> "x86_64";
            case "aarch64" -> "aarch64";
            default -> null;
        };
        String resource = "jni/" + arch + "-Linux/libjffi-1.2.so";
        byte[] bytes;
        try (InputStream in = arch == null ? null : RestoreSource.class.getClassLoader().getResourceAsStream(resource)) {
            if (in == null) {
                return null;
            }
            bytes = in.readAllBytes();
        }
        Path native_ = dir.resolve("native-" + ImageKey.digest(bytes).substring(0, 12));
        Path lib = native_.resolve("libjffi-1.2.so");
        if (!Files.exists(lib)) {
            Files.createDirectories(native_);
            Path tmp = Files.createTempFile(native_, "libjffi", ".tmp");
            Files.write(tmp, bytes);
            Files.move(tmp, lib, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
        }
        return native_;
    }

    /** The ControlServer hands over a connection whose first line was "template <pid>". */
    void serveTemplate(SocketChannel c, BufferedReader in) throws IOException {
        Template t = booting;
        if (t == null) {
            return;
        }
        t.connected = true;
        String line;
        while ((line = in.readLine()) != null) {
            if (line.equals("ready")) {
                t.ready.complete(c);
            } else if (line.equals("quiesced") || line.startsWith("prefork-failed")) {
                t.quiesced.complete(line);
            }
        }
        if (!t.ready.isDone()) {
            // EOF usually means the template is exiting: name its exit status, as onExit would a moment later
            try {
                if (t.process.waitFor(2, TimeUnit.SECONDS)) {
                    t.ready.completeExceptionally(exitedEarly(t.process));
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        t.ready.completeExceptionally(new IllegalStateException("the template closed its control channel before it "
                + "was ready"));
    }

    private long dump(Process template, Path images) throws IOException {
        List<String> outgoing = OutgoingConnections.of(template.pid());
        if (!outgoing.isEmpty()) {
            throw new IllegalStateException("the template still has outgoing TCP connections after its PreFork hooks, "
                    + "to " + String.join(", ", outgoing) + ": close them in a PreFork hook (forksafe-hikari's HikariPoolRecipe, a "
                    + "ForkLocal client), or every copy would restore the same connection; see docs/preload.md");
        }
        long t0 = System.nanoTime();
        // --tcp-close/--skip-in-flight: connections that clients opened to the template during the checkpoint are
        // not cloned; they are closed. Outgoing connections were refused above.
        int rc = run(List.of(criu.binary().toString(), "dump", "-t", String.valueOf(template.pid()), "-D",
                images.toString(), "--shell-job", "--tcp-close", "--skip-in-flight", "-o", "dump.log"));
        long millis = (System.nanoTime() - t0) / 1_000_000;
        if (rc != 0) {
            throw new IllegalStateException("criu dump of the template failed (exit " + rc + "): "
                    + criuErrors(images.resolve("dump.log")) + ". If it names a socket or TCP connection, close it in "
                    + "a PreFork hook (pools, clients); see docs/preload.md");
        }
        try {
            template.waitFor(10, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        return millis;
    }

    @Override
    public Spawner.Child start(int slot, long generation, Map<String, String> env) throws IOException {
        Image image = current;
        Path work = Files.createDirectories(dir.resolve("restore-" + slot + "-" + generation));
        // --kill-child: if unshare dies (SIGKILL from the supervisor), criu, pid 1 of the namespace, dies with it,
        // and with it the copy. --inherit-fd: the image's stdout and stderr pipes become criu's fd 1 and 2, the
        // fresh pipes the supervisor reads this copy's output from.
        List<String> cmd = List.of(criu.unshare().toString(), "-p", "-f", "--kill-child", "--mount-proc",
                criu.binary().toString(), "restore", "-D", image.dir.toString(), "-W", work.toString(), "--shell-job",
                "--tcp-close", "--inherit-fd", "fd[1]:" + image.stdoutPipe, "--inherit-fd", "fd[2]:" + image.stderrPipe,
                "-o", "restore.log");
        Spawner.Child child = Spawner.spawn(cmd, System.getenv(), devNull);
        synchronized (lock) {
            restoreDirs.put(child.pid(), work);
        }
        return child;
    }

    /** The image generation new copies are restored from. */
    int imageGeneration() {
        Image i = current;
        return i == null ? -1 : i.generation;
    }

    /**
     * The host pid of the JVM restored under {@code unsharePid} (unshare, then criu restore as pid 1 of the
     * namespace, then the copy), if the restore got that far.
     */
    static long copyPid(long unsharePid) throws IOException {
        return onlyChild(onlyChild(unsharePid));
    }

    /** The pid namespace that {@code unsharePid} created for its copy, as the copy names it ("4026532..."). */
    static String namespaceOf(long unsharePid) throws IOException {
        return PreloadProtocol.pidNamespace("/proc/" + unsharePid + "/ns/pid_for_children");
    }

    private static long onlyChild(long pid) throws IOException {
        String children = Files.readString(Path.of("/proc/" + pid + "/task/" + pid + "/children")).strip();
        if (children.isEmpty()) {
            throw new IOException("process " + pid + " has no child");
        }
        return Long.parseLong(children.split("\\s+")[0]);
    }

    @Override
    public String ended(long pid, boolean reachedArbiter) {
        Path work;
        synchronized (lock) {
            work = restoreDirs.remove(pid);
        }
        if (work == null) {
            return null;
        }
        String errors = reachedArbiter ? "" : criuErrors(work.resolve("restore.log"));
        boolean criuFailed = !reachedArbiter && criuReportedError(work.resolve("restore.log"));
        Thread clean = new Thread(() -> ImageDir.deleteTree(work), "forksafe-arbiter-restore-cleanup");
        clean.setDaemon(true); // CRIU's files of one restore: not worth delaying the supervisor for
        clean.start();
        if (errors.isEmpty()) {
            return null;
        }
        Image image = current;
        try {
            if (criuFailed && image != null && image.reused
                    && Files.deleteIfExists(image.dir.resolve(ImageDir.METADATA))) {
                // a kept image that this run cannot restore (a file it refers to is gone, another kernel): the next
                // start makes a new one instead of failing the same way
                errors += "; the kept image " + image.dir + " is dropped (its " + ImageDir.METADATA + " removed): "
                        + "the next start checkpoints a new template";
            }
        } catch (IOException e) {
            errors += "; the kept image " + image.dir + " could not be dropped (" + e.getMessage() + "): remove it";
        }
        return "the restore failed; criu restore log: " + errors;
    }

    /**
     * The restore image as the arbiter's status shows it ({@code preload}); null figures before the first image.
     *
     * @param imageDir    the {@code --image-dir}, or null
     * @param imageSource with {@code --image-dir}: {@code kept image reused}, or {@code new image: <why>} (the input
     *                    that changed, none kept yet, a reload); null without it
     * @param imageKey    with {@code --image-dir}: the kept image's key, {@code sha256 <12 hex> of <n> inputs}
     */
    public record Status(String criu, Integer imageGeneration, Long templateColdStartMillis, Long dumpMillis,
                         Long imageBytes, boolean reloading, int listenerHandedOut, String imageDir,
                         String imageSource, String imageKey) {
    }

    @Override
    public Supervisor.SourceStatus status() {
        Image i = current;
        return new Supervisor.SourceStatus(new Status(criu == null ? null : criu.version(),
                i == null ? null : i.generation, i == null ? null : i.coldStartMillis, i == null ? null : i.dumpMillis,
                i == null ? null : i.bytes, reloading(), handoff == null ? 0 : handoff.handedOut(),
                home == null ? null : home.path().toString(), imageSource, imageKey), null);
    }

    @Override
    public void close() {
        Template t = booting;
        if (t != null && t.process.isAlive()) {
            t.process.destroyForcibly();
        }
        if (handoff != null) {
            handoff.close();
        }
        if (devNull >= 0) {
            Libc.get().close(devNull);
            devNull = -1;
        }
        if (home != null) {
            home.close(); // the image stays for the next run
        } else if (dir != null && config.workDir() == null) {
            ImageDir.deleteTree(dir); // a --work-dir is kept, with its image and CRIU's logs
        }
    }

    private void deleteLater(Image old) {
        if (old != null) {
            // copies of the old image may still be restoring; its files are small next to the time a roll takes
            Thread t = new Thread(() -> {
                try {
                    Thread.sleep(config.bootTimeout().toMillis());
                } catch (InterruptedException e) {
                    return;
                }
                ImageDir.deleteTree(old.dir);
            }, "forksafe-arbiter-image-cleanup");
            t.setDaemon(true);
            t.start();
        }
    }

    private static IllegalStateException exitedEarly(Process t) {
        return new IllegalStateException("the template (pid " + t.pid() + ") exited with status " + t.exitValue()
                + " before it was ready; see its output above");
    }

    private static boolean criuReportedError(Path log) {
        try {
            return Files.readString(log).contains("Error (");
        } catch (IOException e) {
            return false;
        }
    }

    static String criuErrors(Path log) {
        try {
            List<String> lines = Files.readAllLines(log);
            List<String> errors = lines.stream().filter(l -> l.contains("Error") || l.contains("err")).toList();
            List<String> tail = (errors.isEmpty() ? lines : errors);
            return String.join(" | ", tail.subList(Math.max(0, tail.size() - 3), tail.size())).strip();
        } catch (IOException e) {
            return "(no log)";
        }
    }

    private static int run(List<String> cmd) throws IOException {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
        try {
            if (!p.waitFor(60, TimeUnit.SECONDS)) {
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
            throw new IllegalStateException("timed out after " + timeout.toMillis() + " ms waiting for " + what);
        } catch (ExecutionException e) {
            throw new IllegalStateException(Objects.requireNonNullElse(e.getCause().getMessage(), e.getCause().toString()),
                    e.getCause());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while waiting for " + what);
        }
    }

    private static void pump(InputStream in, Consumer<String> out, String prefix) {
        Thread t = new Thread(() -> {
            try (BufferedReader r = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8))) {
                String l;
                while ((l = r.readLine()) != null) {
                    out.accept(prefix + l);
                }
            } catch (IOException ignored) {
                // the template ended
            }
        }, "forksafe-arbiter-template-output");
        t.setDaemon(true);
        t.start();
    }
}
