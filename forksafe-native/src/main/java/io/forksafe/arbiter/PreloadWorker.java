package io.forksafe.arbiter;

import io.forksafe.spi.HostContext;
import io.forksafe.ContainerInfo;
import io.forksafe.ForkHookException;
import io.forksafe.ForkRegistry;
import io.forksafe.PostWorkerInit;
import io.forksafe.WorkerInfo;
import io.forksafe.WorkerKind;
import io.forksafe.arbiter.internal.ControlProtocol;
import io.forksafe.arbiter.internal.ListenerSwap;
import io.forksafe.arbiter.internal.PreloadProtocol;
import io.forksafe.arbiter.internal.SocketHandoff;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.Channels;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The template side of the preload mode: a worker JVM that the {@link Arbiter} in preload mode
 * ({@link ArbiterConfig.Builder#preload(boolean)}, {@code ArbiterMain --preload}) checkpoints once and restores as
 * many copies as it needs (CRIU). Every copy starts as an exact clone of the template: same heap, same random-generator
 * state, same "unique" IDs, same pooled connections. The events below make the copies correct:
 *
 * <ol>
 *   <li>at {@link #attach} (the worker bootstrap calls it before the application's {@code main}): a private listening
 *       socket on 127.0.0.1 becomes fd 0, which server adapters serve as they serve the arbiter's in a spawned worker
 *       (the template takes no live traffic); then {@code PostFork} for the template itself (kind PROCESS, slot 0,
 *       name "template");</li>
 *   <li>when the app publishes {@code PostWorkerInit} for this process (or calls {@link #ready()} after
 *       {@link #deferReadiness()}), the template reports "ready";</li>
 *   <li>asked to checkpoint: {@code PreFork} (kind RESTORE) so that hooks quiesce: server adapters stop accepting,
 *       hooks close pools and client connections and stop background work. Then the private socket is given up (no
 *       listening socket goes into the image), the template closes its control connection and waits;</li>
 *   <li>in each restored copy: the arbiter's own listening socket takes the private one's place (one accept queue
 *       for every copy), then {@code PostFork} (kind RESTORE, the copy's own slot, a new generation, its real host
 *       pid, the arbiter's pid as parent; server adapters resume accepting last), then {@code PostWorkerInit}; from
 *       then on the copy is supervised like a spawned worker (heartbeats, readiness, boot errors, graceful stop:
 *       {@link ArbiterWorker});</li>
 *   <li>at JVM shutdown: {@code WorkerExit} ("jvm shutdown"), unless an adapter already published it.</li>
 * </ol>
 *
 * <p>No request may be served between the restore and the end of the copy's {@code PostFork} hooks, or it would see
 * the template's state, and no thread may be inside {@code accept()} at the checkpoint. forksafe-jetty and
 * forksafe-undertow see to both. An accept loop of the application's own calls {@link #awaitServing(Duration)} before
 * each {@code accept()}: it returns at once in normal operation and blocks from the checkpoint until the copy's hooks
 * ran.
 *
 * <pre>{@code
 * ForkRegistry registry = Forksafe.registry();
 * PreloadWorker preload = PreloadWorker.isTemplate()
 *         ? PreloadWorker.attach(registry, container).deferReadiness() : null;   // already attached: the same one
 * ... start the server on the inherited socket and warm it up, then:
 * if (preload != null) preload.ready();   // the template is warm: the checkpoint may follow
 * }</pre>
 */
public final class PreloadWorker {

    /** The template attached to a registry: state the registry owns (HostContext.state), not a static map. */
    private static final class Attachment {
        PreloadWorker worker;
    }

    private final ForkRegistry registry;

    private final HostContext host;
    private final ContainerInfo container;
    private final String controlPath;
    /**
     * The arbiter's pid: the one that booted the template, then in a copy the one that restored it (from its
     * identity line: a copy of a kept image, {@code --image-dir}, is restored by another arbiter run than the one
     * whose pid its environment holds).
     */
    private volatile long parentPid;
    private final Object gate = new Object();
    private final Object sendLock = new Object();
    private final AtomicLong restores = new AtomicLong();
    private volatile WorkerInfo worker;
    private volatile SocketChannel control;
    private volatile boolean serving = true;
    private volatile boolean readySent;
    private volatile boolean readinessDeferred;
    private volatile boolean exitPublished;
    private volatile boolean adapterOwnsExit;
    private volatile String lastError;
    private volatile long restoreToPostForkMillis = -1;
    /** The template's private listening socket (fd 0), and every descriptor of it: swapped at each restore. */
    private volatile java.net.InetSocketAddress privateListener;
    private volatile List<Integer> listenerFds = List.of();
    private volatile boolean listenerNonBlocking;
    private volatile String listener = "none";

    private PreloadWorker(ForkRegistry registry, ContainerInfo container, String controlPath, long parentPid) {
        this.registry = registry;
        this.host = HostContext.of(this.registry);
        this.container = container;
        this.controlPath = controlPath;
        this.parentPid = parentPid;
    }

    /** Whether this JVM was started by the arbiter in preload mode as its template. */
    public static boolean isTemplate() {
        return System.getenv(PreloadProtocol.ENV_CONTROL) != null;
    }

    /**
     * Makes this JVM the arbiter's template in {@code registry}: identifies it (slot 0, "template"), publishes
     * {@code PostFork} for it and connects the control channel. Idempotent per registry.
     *
     * @throws IllegalStateException if this JVM was not started by the arbiter in preload mode
     */
    public static PreloadWorker attach(ForkRegistry registry, ContainerInfo container) {
        Objects.requireNonNull(registry, "registry must not be null");
        Objects.requireNonNull(container, "container must not be null");
        String control = System.getenv(PreloadProtocol.ENV_CONTROL);
        if (control == null || control.isBlank()) {
            throw new IllegalStateException("not a preload template: " + PreloadProtocol.ENV_CONTROL + " is not set; "
                    + "start the application through the arbiter's preload mode (ArbiterMain --preload, "
                    + "ArbiterConfig.builder().preload(true))");
        }
        PreloadWorker w;
        Attachment attached = HostContext.of(registry).state(Attachment.class, Attachment::new);
        synchronized (attached) {
            w = attached.worker;
            if (w != null) {
                return w;
            }
            long parent;
            try {
                parent = Long.parseLong(System.getenv().getOrDefault(PreloadProtocol.ENV_PARENT_PID, "-1").strip());
            } catch (NumberFormatException e) {
                throw new IllegalStateException("malformed " + PreloadProtocol.ENV_PARENT_PID + ": must be the "
                        + "arbiter's pid", e);
            }
            w = new PreloadWorker(registry, container, control, parent);
            attached.worker = w;
        }
        w.start();
        return w;
    }

    private void start() {
        worker = new WorkerInfo(0, "template", WorkerKind.PROCESS, ProcessHandle.current().pid(), parentPid, 0);
        if (System.getenv(PreloadProtocol.ENV_LISTENER) != null) {
            try {
                privateListener = SocketHandoff.installPrivateListener();
                listener = "private " + privateListener.getHostString() + ":" + privateListener.getPort()
                        + " (template: no live traffic)";
            } catch (IOException | RuntimeException e) {
                lastError = "cannot open the template's private listening socket: " + e.getMessage();
                host.reportError("preload", lastError);
            }
        }
        host.identifyProcess(worker);
        // --max-requests, --request-timeout: the adapters install their counting wrapper when their server starts,
        // before the checkpoint, so tracking is on now, with no limit; each copy restarts the count from 0 with its
        // own jitter draw, made after its restore (ArbiterWorker.superviseRestoredCopy). The template draws nothing.
        io.forksafe.arbiter.internal.RequestLimits.fromEnvironment(System::getenv, 0)
                .enableInTemplate(io.forksafe.spi.RequestTracker.of(registry));
        host.statusDetail("preload", this::statusDetail);
        registry.subscribe(PostWorkerInit.class, "forksafe.preload.readiness", Integer.MAX_VALUE, e -> {
            if (e.worker().equals(worker) && !e.container().equals(container)) {
                adapterOwnsExit = true; // it may publish WorkerExit when its server stops
            }
            if (e.worker().equals(worker) && !(readinessDeferred && !isRestoredCopy())) {
                sendReady();
            }
        });
        registry.subscribe(io.forksafe.WorkerExit.class, "forksafe.preload.exit", Integer.MAX_VALUE, e -> {
            if (e.worker().equals(worker)) {
                exitPublished = true;
            }
        });
        // WorkerExit at JVM shutdown, once. When another component published PostWorkerInit (a server adapter such
        // as Jetty's), it usually publishes WorkerExit as its server stops, in its own shutdown hook, which runs
        // concurrently with this one: give it 2 s before publishing here.
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            long waitUntil = System.nanoTime() + (adapterOwnsExit ? 2_000_000_000L : 0);
            while (!exitPublished && System.nanoTime() < waitUntil) {
                try {
                    Thread.sleep(10);
                } catch (InterruptedException e) {
                    break;
                }
            }
            if (!exitPublished) {
                exitPublished = true;
                try {
                    host.workerExit(worker, container, "jvm shutdown");
                } catch (RuntimeException e) {
                    System.err.println("forksafe preload: a WorkerExit hook failed: " + e.getMessage());
                }
            }
        }, "forksafe-preload-exit"));
        host.postFork(worker, container);
        try {
            control = SocketChannel.open(UnixDomainSocketAddress.of(controlPath));
            send("template " + worker.pid());
        } catch (IOException e) {
            lastError = "cannot reach the arbiter's control socket " + controlPath + ": " + e;
            host.reportError("preload", lastError);
            return;
        }
        Thread t = new Thread(this::templateLoop, "forksafe-preload-control");
        t.setDaemon(true);
        t.start();
    }

    /**
     * Blocks while the process is being checkpointed or a restored copy's {@code PostFork} hooks run; returns at
     * once otherwise. Call it before handling a request.
     *
     * @return false if {@code timeout} passed first
     */
    public boolean awaitServing(Duration timeout) throws InterruptedException {
        if (serving) {
            return true;
        }
        long deadline = System.nanoTime() + timeout.toNanos();
        synchronized (gate) {
            while (!serving) {
                long left = deadline - System.nanoTime();
                if (left <= 0) {
                    return false;
                }
                gate.wait(Math.max(1, left / 1_000_000));
            }
        }
        return true;
    }

    /**
     * The template reports "ready" only when {@link #ready()} is called, not at {@code PostWorkerInit}: for apps that
     * warm themselves up (requests to their own server, caches) after the server started. Copies still report ready
     * at their {@code PostWorkerInit}.
     */
    public PreloadWorker deferReadiness() {
        readinessDeferred = true;
        return this;
    }

    /** Whether this template told the arbiter it is ready (a copy always has). */
    public boolean isReadySent() {
        return readySent;
    }

    /** Tells the arbiter that the template is warm: it may now be checkpointed. */
    public void ready() {
        sendReady();
    }

    /** This process as a worker: the template (slot 0) before the checkpoint, the copy after a restore. */
    public WorkerInfo worker() {
        return worker;
    }

    /** Whether this process is a restored copy. */
    public boolean isRestoredCopy() {
        return worker.kind() == WorkerKind.RESTORE;
    }

    private void templateLoop() {
        try {
            BufferedReader in = new BufferedReader(new InputStreamReader(Channels.newInputStream(control),
                    StandardCharsets.UTF_8));
            String line;
            while ((line = in.readLine()) != null) {
                if (line.equals("checkpoint")) {
                    checkpointAndWait();
                    return;
                }
            }
            // The arbiter went away before asking for a checkpoint: nothing more to do here.
        } catch (IOException e) {
            lastError = "control channel: " + e;
        }
    }

    private void checkpointAndWait() throws IOException {
        setServing(false);
        WorkerInfo quiescing = new WorkerInfo(0, "template", WorkerKind.RESTORE, worker.pid(), parentPid, 0);
        String ns = PreloadProtocol.pidNamespace("/proc/self/ns/pid");
        try {
            host.preFork(quiescing, container);
        } catch (ForkHookException e) {
            send("prefork-failed " + describe(e));
            setServing(true);
            return;
        }
        String handoff = releaseListener();
        if (handoff != null) {
            send("prefork-failed " + handoff);
            setServing(true);
            return;
        }
        send("quiesced");
        SocketChannel c = control;
        control = null;
        c.close();
        // CRIU dumps (and stops) this process now. Each restored copy continues here, in its own pid namespace.
        long polls = 0;
        while (ns.equals(PreloadProtocol.pidNamespace("/proc/self/ns/pid"))) {
            if (++polls % 200 == 0 && !ProcessHandle.of(parentPid).map(ProcessHandle::isAlive).orElse(false)) {
                // The arbiter died before (or while) dumping us: nobody will restore or stop this template.
                System.err.println("forksafe preload: the arbiter (pid " + parentPid + ") is gone before the "
                        + "checkpoint; the template exits");
                Runtime.getRuntime().halt(1);
            }
            try {
                Thread.sleep(1);
            } catch (InterruptedException e) {
                return;
            }
        }
        long restoredAt = System.nanoTime();
        restores.incrementAndGet();
        afterRestore(restoredAt);
    }

    private void afterRestore(long restoredAt) {
        WorkerInfo copy;
        SocketChannel c;
        String standby;
        try {
            String ns = PreloadProtocol.pidNamespace("/proc/self/ns/pid");
            c = SocketChannel.open(UnixDomainSocketAddress.of(controlPath));
            c.write(java.nio.ByteBuffer.wrap(("restored " + ns + "\n").getBytes(StandardCharsets.UTF_8)));
            String line = readLine(c);
            if (line == null || !line.startsWith("identity ")) {
                throw new IOException("expected 'identity ...' from the arbiter, got " + line);
            }
            String[] f = line.split(" ");
            int slot = Integer.parseInt(f[1]);
            // "identity SLOT GENERATION PID ARBITER_PID [standby-N]": a standby has slot 0 until its promotion
            standby = f.length > 5 ? f[5] : null;
            copy = new WorkerInfo(slot, standby != null ? standby : "worker-" + slot, WorkerKind.RESTORE,
                    Long.parseLong(f[3]), Long.parseLong(f[4]), Long.parseLong(f[2]));
        } catch (IOException | RuntimeException e) {
            System.err.println("forksafe preload: a restored copy cannot learn its identity (" + e + "); exiting");
            Runtime.getRuntime().halt(PreloadProtocol.BOOT_ERROR_EXIT);
            return;
        }
        parentPid = copy.parentPid();
        worker = copy;
        readySent = true; // from now on the arbiter-side supervision reports readiness, on this connection
        // heartbeats, readiness, events and reports, exactly as a spawned worker (identifies the process too)
        // a standby takes the arbiter's socket at its promotion, not now: until then it accepts nothing
        ArbiterWorker supervised = ArbiterWorker.superviseRestoredCopy(registry, copy, c,
                standby != null ? this::takeArbiterListener : null);
        String taken = standby != null ? null : takeArbiterListener();
        if (taken != null) {
            supervised.bootError(taken);
            System.err.println("forksafe preload: restored " + copy.name() + " has no socket to serve: " + taken);
            Runtime.getRuntime().halt(PreloadProtocol.BOOT_ERROR_EXIT);
            return;
        }
        try {
            host.postFork(copy, container);
        } catch (ForkHookException e) {
            supervised.bootError(describe(e)); // the errors and the failing PostFork hook reach the arbiter
            System.err.println("forksafe preload: PostFork failed in restored " + copy.name() + ": " + describe(e));
            Runtime.getRuntime().halt(PreloadProtocol.BOOT_ERROR_EXIT);
            return;
        }
        restoreToPostForkMillis = (System.nanoTime() - restoredAt) / 1_000_000;
        // the arbiter's socket is in place and the adapters resumed accepting (last PostFork hooks): serve. A standby
        // does this at its promotion, as the copy it then becomes (worker-SLOT, a new generation)
        io.forksafe.spi.ServingGate.of(registry).whenServing("preload", () -> {
            WorkerInfo serving = registry.processWorker();
            worker = serving;
            setServing(true);
            try {
                host.postWorkerInit(serving, container);
            } catch (ForkHookException e) {
                // not a boot error: the copy serves; the failure is in its status and reaches the arbiter's
                System.err.println("forksafe preload: a PostWorkerInit hook failed in restored " + serving.name()
                        + ": " + describe(e));
            }
        });
    }

    /**
     * After the PreFork hooks: wakes any thread still blocked in accept() on the private socket (a paused accept loop
     * then parks), and puts /dev/null on every descriptor of that socket, so that the image holds no listening
     * socket. Returns why it cannot, or null.
     */
    private String releaseListener() {
        java.net.InetSocketAddress own = privateListener;
        if (own == null) {
            return null;
        }
        try {
            List<Integer> fds = SocketHandoff.sameSocket(0);
            String busy = ListenerSwap.quiesce(own, fds, "the checkpoint");
            if (busy != null) {
                return busy;
            }
            listenerNonBlocking = SocketHandoff.nonBlocking(0);
            SocketHandoff.release(fds);
            listenerFds = List.copyOf(fds);
            return null;
        } catch (IOException e) {
            return "cannot release the template's listening socket: " + e.getMessage();
        }
    }

    /** In a restored copy: receives the arbiter's listening socket and puts it where the template's was. */
    private String takeArbiterListener() {
        List<Integer> fds = listenerFds;
        if (fds.isEmpty()) {
            return null;
        }
        String path = System.getenv(PreloadProtocol.ENV_LISTENER);
        String failed = ListenerSwap.take(path, fds, listenerNonBlocking); // the mode the server set on the template's
        if (failed == null) {
            listener = "the arbiter's (one accept queue for every copy) on fds " + fds;
        }
        return failed;
    }

    /** One line, read byte by byte so that nothing after it is consumed from the channel. */
    private static String readLine(SocketChannel c) throws IOException {
        java.io.ByteArrayOutputStream line = new java.io.ByteArrayOutputStream();
        java.nio.ByteBuffer one = java.nio.ByteBuffer.allocate(1);
        while (true) {
            one.clear();
            if (c.read(one) < 0) {
                return line.size() == 0 ? null : line.toString(StandardCharsets.UTF_8);
            }
            byte b = one.get(0);
            if (b == '\n') {
                return line.toString(StandardCharsets.UTF_8);
            }
            line.write(b);
        }
    }

    /** The aggregate's message with each hook failure, for one line on the control channel. */
    private static String describe(ForkHookException e) {
        StringBuilder b = new StringBuilder(e.getMessage());
        for (Throwable t : e.failures()) {
            b.append("; ").append(t.getClass().getSimpleName()).append(": ").append(t.getMessage());
        }
        return b.toString();
    }

    private void setServing(boolean value) {
        synchronized (gate) {
            serving = value;
            gate.notifyAll();
        }
    }

    private synchronized void sendReady() {
        if (!readySent) {
            readySent = true;
            send("ready");
        }
    }

    private void send(String line) {
        SocketChannel c = control;
        String failure = c == null ? null : ControlProtocol.trySend(c, sendLock, line);
        if (failure != null) {
            lastError = failure;
        }
    }

    /**
     * The {@code preload} status section of a template or a restored copy, rendered as JSON, text and JMX.
     *
     * @param role     {@code template} before the checkpoint, {@code copy} in a restored copy
     * @param listener the socket it serves: the template's private one, or the arbiter's
     */
    public record Status(String role, int slot, long generation, long pid, long arbiterPid, long restores,
                         long restoreToPostForkMillis, boolean serving, String listener, String lastError) {
    }

    private Status statusDetail() {
        WorkerInfo w = worker;
        return new Status(w.kind() == WorkerKind.RESTORE ? "copy" : "template", w.slot(), w.generation(), w.pid(),
                parentPid, restores.get(), restoreToPostForkMillis, serving, listener, lastError);
    }


    @Override
    public String toString() {
        return "PreloadWorker[" + worker + "]";
    }
}
