package io.forksafe.arbiter.internal;

import jnr.ffi.Memory;
import jnr.ffi.Pointer;
import jnr.ffi.Runtime;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * How the preload mode gives every restored copy the arbiter's one listening socket, so that all copies accept from
 * one queue (as spawned workers do) and a copy that dies loses only what it had accepted. Not API.
 *
 * <ol>
 *   <li>The template serves a private loopback socket as fd 0 ({@link #installPrivateListener}), so it takes no live
 *       traffic and its server adopts fd 0 exactly as a spawned worker adopts the arbiter's socket.</li>
 *   <li>At the checkpoint, after the {@code PreFork} hooks paused every accept loop, {@code /dev/null} is
 *       {@code dup2}ed onto every descriptor of that socket ({@link #release}): fd 0 <em>and</em> the JDK's inherited
 *       channel's own descriptor (the JDK works on a {@code dup(0)}). The image holds no listening socket.</li>
 *   <li>Each restored copy receives the arbiter's socket over a Unix-domain socket ({@code SCM_RIGHTS},
 *       {@link Server} and {@link #fetch}) and {@code dup2}s it onto the same descriptors ({@link #install}): the
 *       server's cached {@code ServerSocketChannel} object now accepts from the arbiter's queue.</li>
 * </ol>
 *
 * <p>Why not CRIU: {@code criu restore --inherit-fd} accepts an inet socket but ignores it (it restores a new socket),
 * and restored {@code SO_REUSEPORT} sockets each have their own accept queue, lost with the copy. Measurements:
 * docs/preload.md, "One accept queue".
 */
public final class SocketHandoff {

    static final int AF_UNIX = 1;
    private static final int SOCK_STREAM = 1;
    static final int SOCK_CLOEXEC = 02000000;
    private static final int O_RDWR = 2;
    private static final int F_GETFL = 3;
    private static final int F_SETFL = 4;
    private static final int O_NONBLOCK = 04000;
    private static final int SOL_SOCKET = 1;
    private static final int SCM_RIGHTS = 1;

    private SocketHandoff() {
    }

    private static Libc.C libc() {
        return Libc.get();
    }

    private static String lastError() {
        return Libc.lastError();
    }

    private static byte[] sockaddrUn(String path) {
        return sockaddrUn(path, "use a shorter --work-dir");
    }

    /**
     * A {@code struct sockaddr_un} for {@code path}; a path starting with {@code @} names an abstract socket (Linux:
     * the {@code @} becomes a NUL byte, and the address has no terminating NUL).
     *
     * @throws IllegalArgumentException if it does not fit in {@code sun_path}, with {@code fix}
     */
    static byte[] sockaddrUn(String path, String fix) {
        boolean abstractName = path.startsWith("@");
        byte[] p = path.getBytes(StandardCharsets.UTF_8);
        if (p.length > 107) {
            throw new IllegalArgumentException("Unix socket path longer than 107 bytes: " + path + "; " + fix);
        }
        if (abstractName) {
            p[0] = 0;
        }
        byte[] a = new byte[2 + p.length + (abstractName ? 0 : 1)];
        ByteBuffer.wrap(a).order(ByteOrder.nativeOrder()).putShort((short) AF_UNIX);
        System.arraycopy(p, 0, a, 2, p.length);
        return a;
    }

    /**
     * A {@code struct msghdr} with one byte of payload and room for one descriptor (LP64 layout: Linux on x86_64 and
     * aarch64): msg_name 0, msg_namelen 8, msg_iov 16, msg_iovlen 24, msg_control 32, msg_controllen 40, msg_flags 48;
     * the control message is a {@code cmsghdr} (cmsg_len 0, cmsg_level 8, cmsg_type 12, data 16), CMSG_SPACE(4) = 24.
     */
    private static final class Msg {
        final Pointer msg;
        final Pointer control;

        Msg(int fd) {
            Runtime rt = Runtime.getRuntime(libc());
            Pointer payload = Memory.allocateDirect(rt, 1);
            payload.putByte(0, (byte) 'F');
            Pointer iov = Memory.allocateDirect(rt, 16);
            iov.putAddress(0, payload.address());
            iov.putLong(8, 1);
            control = Memory.allocateDirect(rt, 24);
            control.putLong(0, 20); // CMSG_LEN(sizeof(int))
            control.putInt(8, SOL_SOCKET);
            control.putInt(12, SCM_RIGHTS);
            control.putInt(16, fd);
            msg = Memory.allocateDirect(rt, 56);
            msg.putAddress(0, 0L);
            msg.putInt(8, 0);
            msg.putAddress(16, iov.address());
            msg.putLong(24, 1);
            msg.putAddress(32, control.address());
            msg.putLong(40, 24);
            msg.putInt(48, 0);
            keep = new Pointer[]{payload, iov};
        }

        @SuppressWarnings("unused") // keeps the payload and the iovec alive as long as the header
        private final Pointer[] keep;
    }

    /** Sends {@code fd} over the connected Unix-domain socket {@code sock}. */
    static void sendFd(int sock, int fd) throws IOException {
        Msg m = new Msg(fd);
        if (libc().sendmsg(sock, m.msg, 0) < 0) {
            throw new IOException("sendmsg(SCM_RIGHTS) failed: " + lastError());
        }
    }

    /** Receives one descriptor sent by {@link #sendFd}; returns its number in this process. */
    static int recvFd(int sock) throws IOException {
        Msg m = new Msg(-1);
        long n = libc().recvmsg(sock, m.msg, 0);
        if (n <= 0) {
            throw new IOException("recvmsg returned " + n + (n < 0 ? ": " + lastError() : " (closed)"));
        }
        if (m.msg.getLong(40) < 20 || m.control.getInt(8) != SOL_SOCKET || m.control.getInt(12) != SCM_RIGHTS) {
            throw new IOException("no descriptor came with the message (no SCM_RIGHTS control message)");
        }
        return m.control.getInt(16);
    }

    /** Connects to the arbiter's {@link Server} at {@code path} and receives its listening socket. */
    public static int fetch(String path) throws IOException {
        Libc.C c = libc();
        int s = c.socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (s < 0) {
            throw new IOException("socket(AF_UNIX) failed: " + lastError());
        }
        try {
            byte[] a = sockaddrUn(path);
            if (c.connect(s, a, a.length) != 0) {
                throw new IOException("connect(" + path + ") failed: " + lastError());
            }
            return recvFd(s);
        } finally {
            c.close(s);
        }
    }

    /**
     * Binds a private listening socket on 127.0.0.1 (ephemeral port) and puts it at fd 0, for a template that
     * takes no live traffic. Must run before anything calls {@link System#inheritedChannel()} (it is cached).
     *
     * @return its address
     */
    public static InetSocketAddress installPrivateListener() throws IOException {
        try (ListenSocket own = ListenSocket.bind(new InetSocketAddress("127.0.0.1", 0), 64)) {
            if (libc().dup2(own.fd(), 0) < 0) {
                throw new IOException("dup2(" + own.fd() + ", 0) failed: " + lastError());
            }
            return own.address(); // closing `own` closes its descriptor only; fd 0 keeps the socket
        }
    }

    /** What {@code /proc/self/fd/<fd>} links to ("socket:[123]"), or null. */
    static String link(int fd) {
        try {
            return Files.readSymbolicLink(Path.of("/proc/self/fd/" + fd)).toString();
        } catch (IOException e) {
            return null;
        }
    }

    /**
     * Every descriptor of this process that refers to the same socket as {@code fd}, in order.
     *
     * @throws IOException if {@code fd} is not a socket
     */
    public static List<Integer> sameSocket(int fd) throws IOException {
        String target = link(fd);
        if (target == null || !target.startsWith("socket:[")) {
            throw new IOException("fd " + fd + " is not a socket: " + target);
        }
        List<Integer> fds = new ArrayList<>();
        try (DirectoryStream<Path> dir = Files.newDirectoryStream(Path.of("/proc/self/fd"))) {
            for (Path p : dir) {
                int n = Integer.parseInt(p.getFileName().toString());
                if (target.equals(link(n))) {
                    fds.add(n);
                }
            }
        }
        Collections.sort(fds);
        return fds;
    }

    /**
     * Whether {@code fd}'s open file is in non-blocking mode. {@code O_NONBLOCK} belongs to the open file, not to the
     * descriptor: the arbiter's socket, received at a restore, is in the mode its last user set, and the server in the
     * copy expects the mode it had set on the template's (XNIO's selector thread would block in {@code accept()}).
     */
    public static boolean nonBlocking(int fd) throws IOException {
        int flags = libc().fcntl(fd, F_GETFL, 0);
        if (flags < 0) {
            throw new IOException("fcntl(" + fd + ", F_GETFL) failed: " + lastError());
        }
        return (flags & O_NONBLOCK) != 0;
    }

    /** Sets {@code fd}'s open file to non-blocking mode or not (see {@link #nonBlocking}). */
    public static void nonBlocking(int fd, boolean on) throws IOException {
        Libc.C c = libc();
        int flags = c.fcntl(fd, F_GETFL, 0);
        if (flags < 0 || c.fcntl(fd, F_SETFL, on ? flags | O_NONBLOCK : flags & ~O_NONBLOCK) < 0) {
            throw new IOException("fcntl(" + fd + ", F_SETFL) failed: " + lastError());
        }
    }

    /** {@code dup2}s /dev/null onto each of {@code fds}: they stay allocated, their numbers are kept. */
    public static void release(List<Integer> fds) throws IOException {
        Libc.C c = libc();
        int nul = c.open("/dev/null", O_RDWR);
        if (nul < 0) {
            throw new IOException("open /dev/null failed: " + lastError());
        }
        try {
            for (int fd : fds) {
                if (c.dup2(nul, fd) < 0) {
                    throw new IOException("dup2(/dev/null, " + fd + ") failed: " + lastError());
                }
            }
        } finally {
            c.close(nul);
        }
    }

    /** {@code dup2}s {@code fd} onto each of {@code fds}, then closes {@code fd} (unless it is one of them). */
    public static void install(int fd, List<Integer> fds) throws IOException {
        Libc.C c = libc();
        for (int target : fds) {
            if (target != fd && c.dup2(fd, target) < 0) {
                throw new IOException("dup2(" + fd + ", " + target + ") failed: " + lastError());
            }
        }
        if (!fds.contains(fd)) {
            c.close(fd);
        }
    }

    /**
     * The threads of this process blocked in {@code accept}/{@code accept4} on one of {@code fds}, from
     * {@code /proc/self/task/<tid>/syscall}, as "name (tid)". Empty where the syscall numbers are unknown
     * (only x86_64 and aarch64 are).
     */
    public static List<String> threadsInAccept(List<Integer> fds) {
        int[] accepts = switch (System.getProperty("os.arch").toLowerCase(Locale.ROOT)) {
            case "amd64", "x86_64" -> new int[]{43, 288};
            case "aarch64" -> new int[]{202, 242};
            default -> new int[0];
        };
        List<String> found = new ArrayList<>();
        try (DirectoryStream<Path> tasks = Files.newDirectoryStream(Path.of("/proc/self/task"))) {
            for (Path task : tasks) {
                String[] f;
                try {
                    f = Files.readString(task.resolve("syscall")).strip().split("\\s+");
                } catch (IOException e) {
                    continue; // the thread ended, or the file is not readable here
                }
                if (f.length < 2 || !f[0].matches("\\d+")) {
                    continue; // "running" or "-1 ..." (not in a system call)
                }
                int nr = Integer.parseInt(f[0]);
                int arg0 = (int) Long.parseUnsignedLong(f[1].replaceFirst("^0x", ""), 16);
                for (int a : accepts) {
                    if (nr == a && fds.contains(arg0)) {
                        String name;
                        try {
                            name = Files.readString(task.resolve("comm")).strip();
                        } catch (IOException e) {
                            name = "?";
                        }
                        found.add(name + " (tid " + task.getFileName() + ")");
                    }
                }
            }
        } catch (IOException e) {
            return List.of();
        }
        return found;
    }

    /**
     * The epoll instances of this process that still watch one of {@code fds} (from {@code /proc/self/fdinfo}), as
     * "epoll fd E". An event loop (XNIO's, Jetty's selector) that paused accepting has removed the socket from its
     * epoll set once its selector thread processed the change; one still watching would, in a restored copy, miss
     * the socket that replaces it.
     */
    public static List<String> epollWatchers(List<Integer> fds) {
        List<String> found = new ArrayList<>();
        try (DirectoryStream<Path> dir = Files.newDirectoryStream(Path.of("/proc/self/fd"))) {
            for (Path p : dir) {
                String name = p.getFileName().toString();
                if (!"anon_inode:[eventpoll]".equals(link(Integer.parseInt(name)))) {
                    continue;
                }
                List<String> lines;
                try {
                    lines = Files.readAllLines(Path.of("/proc/self/fdinfo/" + name));
                } catch (IOException e) {
                    continue; // closed meanwhile
                }
                for (String line : lines) {
                    String[] f = line.strip().split("\\s+");
                    if (f.length > 1 && f[0].equals("tfd:") && fds.contains(Integer.parseInt(f[1]))) {
                        found.add("epoll fd " + name);
                    }
                }
            }
        } catch (IOException | RuntimeException e) {
            return List.of();
        }
        return found;
    }

    /**
     * Opens one connection to {@code address} and closes it, which wakes one thread blocked in accept there; waits
     * (at most 1 s) until the server closed its end, so that no connection is left in a checkpoint image.
     */
    public static void wake(InetSocketAddress address) {
        try (Socket s = new Socket()) {
            s.connect(address, 1000);
            s.shutdownOutput();
            s.setSoTimeout(1000);
            while (s.getInputStream().read() >= 0) {
                // an HTTP server may answer a request it could not parse; read until it closes
            }
        } catch (IOException ignored) {
            // nothing listens any more (nothing to wake), or the server did not close in time (the dump says so)
        }
    }

    /**
     * The arbiter's side: a Unix-domain socket that hands the listening socket to every process that connects (the
     * restored copies). Its path is in the arbiter's private working directory.
     */
    public static final class Server implements AutoCloseable {
        private final String path;
        private final int sock;
        private final AtomicInteger handedOut = new AtomicInteger();
        private volatile boolean closed;

        public Server(Path path, int fd) throws IOException {
            this.path = path.toString();
            Libc.C c = libc();
            sock = c.socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
            byte[] a = sockaddrUn(this.path);
            if (sock < 0 || c.bind(sock, a, a.length) != 0 || c.listen(sock, 64) != 0) {
                String why = lastError();
                if (sock >= 0) {
                    c.close(sock);
                }
                throw new IOException("cannot listen on " + path + ": " + why);
            }
            Thread thread = new Thread(() -> serve(fd), "forksafe-arbiter-socket-handoff");
            thread.setDaemon(true);
            thread.start();
        }

        private void serve(int fd) {
            Libc.C c = libc();
            while (!closed) {
                int client = c.accept(sock, null, null);
                if (client < 0) {
                    if (closed) {
                        return;
                    }
                    try {
                        Thread.sleep(10); // EINTR, or out of descriptors: try again, without spinning
                    } catch (InterruptedException e) {
                        return;
                    }
                    continue;
                }
                try {
                    if (!closed) {
                        sendFd(client, fd);
                        handedOut.incrementAndGet();
                    }
                } catch (IOException e) {
                    System.err.println("forksafe arbiter: could not hand the listening socket to a copy: "
                            + e.getMessage());
                } finally {
                    c.close(client);
                }
            }
        }

        /** How many processes received the socket. */
        public int handedOut() {
            return handedOut.get();
        }

        public String path() {
            return path;
        }

        @Override
        public void close() {
            if (closed) {
                return;
            }
            closed = true;
            try {
                libc().close(fetch(path)); // wakes the blocked accept
            } catch (IOException ignored) {
                // already gone
            }
            libc().close(sock);
            new java.io.File(path).delete();
        }
    }
}
