package io.forksafe.arbiter.internal;

import jnr.ffi.LastError;
import jnr.ffi.LibraryLoader;
import jnr.ffi.Pointer;
import jnr.ffi.Runtime;
import jnr.ffi.annotations.Out;

/**
 * The part of libc the arbiter and its workers call, bound through jnr-ffi alone: one interface, loaded once. jnr-posix
 * costs about 0.5 s to load (measured: 520 to 610 ms in a JVM with -XX:+UseSerialGC, against 15 to 45 ms for this
 * binding) and about 34 MB of resident memory in a preload template, so every checkpoint image. Not API.
 *
 * <pre>{@code
 * Libc.C c = Libc.get();
 * if (c.kill(pid, 15) != 0) throw new IOException("kill failed: " + Libc.lastError());
 * }</pre>
 */
public final class Libc {

    /** The libc functions used by the arbiter (spawning, reaping, signals, pipes) and by the socket handoff. */
    public interface C {
        int socket(int domain, int type, int protocol);

        int bind(int fd, byte[] addr, int len);

        int listen(int fd, int backlog);

        int accept(int fd, Pointer addr, Pointer len);

        int connect(int fd, byte[] addr, int len);

        int open(String path, int flags);

        int dup2(int fd, int target);

        int fcntl(int fd, int cmd, int arg);

        int close(int fd);

        long read(int fd, @Out byte[] buf, long count);

        int pipe(@Out int[] fds);

        int kill(int pid, int signal);

        int waitpid(int pid, @Out int[] status, int options);

        long sendmsg(int fd, Pointer msg, int flags);

        long sendto(int fd, byte[] buf, long len, int flags, byte[] addr, int addrlen);

        long recvmsg(int fd, Pointer msg, int flags);

        int posix_spawnp(@Out int[] pid, String file, Pointer fileActions, Pointer attributes, String[] argv,
                         String[] envp);

        int posix_spawn_file_actions_init(Pointer actions);

        int posix_spawn_file_actions_adddup2(Pointer actions, int fd, int target);

        int posix_spawn_file_actions_destroy(Pointer actions);

        int posix_spawnattr_init(Pointer attributes);

        int posix_spawnattr_setflags(Pointer attributes, short flags);

        int posix_spawnattr_setpgroup(Pointer attributes, int pgroup);

        int posix_spawnattr_destroy(Pointer attributes);

        String strerror(int errno);
    }

    /** {@code errno} EINTR (Linux). */
    public static final int EINTR = 4;
    /** {@code errno} ECHILD (Linux). */
    public static final int ECHILD = 10;

    private static volatile C instance;

    private Libc() {
    }

    /**
     * The binding, loaded on first use.
     *
     * @throws IllegalStateException if libc cannot be bound here (jnr-ffi and jffi need Linux or macOS on x86_64 or
     *                               aarch64): the arbiter cannot spawn or reap
     */
    public static C get() {
        C c = instance;
        if (c == null) {
            synchronized (Libc.class) {
                if (instance == null) {
                    try {
                        instance = LibraryLoader.create(C.class).failImmediately().load("c");
                    } catch (RuntimeException | LinkageError e) {
                        throw new IllegalStateException("the forksafe arbiter needs native access to libc through "
                                + "jnr-ffi (posix_spawnp, waitpid, kill), which is unavailable on "
                                + System.getProperty("os.name") + "/" + System.getProperty("os.arch") + " (" + e
                                + "): run it on Linux with jnr-ffi and jffi on the class path", e);
                    }
                }
                c = instance;
            }
        }
        return c;
    }

    /**
     * Starts loading the binding on a daemon thread, so that it overlaps with the arbiter's other start-up work (it
     * takes about 0.5 s: jnr-ffi loads some 300 classes); {@link #get} then waits for it. Failures surface in
     * {@link #get}.
     */
    public static void preload() {
        if (instance != null) {
            return;
        }
        Thread t = new Thread(() -> {
            try {
                get();
            } catch (RuntimeException ignored) {
                // get() reports it to the caller that needs the binding
            }
        }, "forksafe-libc-preload");
        t.setDaemon(true);
        t.start();
    }

    /** The calling thread's last {@code errno}. */
    public static int errno() {
        return LastError.getLastError(Runtime.getRuntime(get()));
    }

    /** The text of the last {@code errno}: "No such process (errno 3)". */
    public static String lastError() {
        int errno = errno();
        return get().strerror(errno) + " (errno " + errno + ")";
    }

    /** Native memory of {@code bytes} zeroed bytes, for the opaque structures posix_spawn takes. */
    static Pointer allocate(int bytes) {
        return jnr.ffi.Memory.allocateDirect(Runtime.getRuntime(get()), bytes, true);
    }
}
