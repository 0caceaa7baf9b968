package io.forksafe.arbiter.internal;

import jnr.ffi.Pointer;

import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;


/**
 * Starts worker JVMs with {@code posix_spawnp} (never {@code fork} without {@code exec}: a forked JVM hangs).
 *
 * <p>The child gets exactly: the listening socket as fd 0 (so {@link System#inheritedChannel()} returns it), a pipe
 * for stdout as fd 1 and one for stderr as fd 2. Everything else the arbiter has open is marked close-on-exec just
 * before each spawn (by walking {@code /proc/self/fd}), because the JDK opens most descriptors without
 * {@code O_CLOEXEC} and {@code posix_spawnp} would otherwise hand them all to the worker. Spawning is serialized so
 * that no other spawn can inherit a pipe meant for one worker.
 */
public final class Spawner {

    private static final int FD_CLOEXEC = 1;
    private static final int F_DUPFD = 0;
    private static final int F_GETFD = 1;
    private static final int F_SETFD = 2;
    /** glibc's POSIX_SPAWN_SETPGROUP (Linux). */
    private static final short POSIX_SPAWN_SETPGROUP = 0x02;
    /** glibc's POSIX_SPAWN_SETSID (Linux, glibc 2.26 and later). */
    private static final short POSIX_SPAWN_SETSID = 0x80;
    /** Room for glibc's posix_spawn_file_actions_t (80 bytes on LP64) and posix_spawnattr_t (336), with margin. */
    private static final int SPAWN_STRUCT_BYTES = 1024;
    private static final Object LOCK = new Object();

    /** A started child: its pid and the read ends of its stdout and stderr pipes. */
    public record Child(long pid, int stdoutFd, int stderrFd) {
    }

    private Spawner() {
    }

    /**
     * Spawns {@code argv} with {@code env}, {@code listenFd} as fd 0 and fresh pipes as fd 1 and 2.
     *
     * @throws IOException if a pipe cannot be created or {@code posix_spawnp} fails (for example the java binary
     *                     does not exist)
     */
    public static Child spawn(List<String> argv, Map<String, String> env, int listenFd) throws IOException {
        Libc.C c = Libc.get();
        synchronized (LOCK) {
            int[] out = pipe(c);
            int[] err;
            try {
                err = pipe(c);
            } catch (IOException e) {
                c.close(out[0]);
                c.close(out[1]);
                throw e;
            }
            try {
                // Each worker gets its own process group, so a terminal's Ctrl-C or a group-wide signal reaches
                // only the arbiter, which then stops the workers gracefully and in order.
                long pid = spawnLocked(c, argv, env, new int[] {listenFd, out[1], err[1]}, POSIX_SPAWN_SETPGROUP);
                return new Child(pid, out[0], err[0]);
            } catch (IOException e) {
                c.close(out[0]);
                c.close(err[0]);
                throw e;
            } finally {
                c.close(out[1]);
                c.close(err[1]);
            }
        }
    }

    /**
     * Spawns {@code argv} with {@code env} in a new session ({@code POSIX_SPAWN_SETSID}: no controlling terminal, its
     * own process group), with {@code stdio[0..2]} as its fd 0, 1 and 2. This is how {@code --daemon} detaches: the
     * JVM cannot fork, so it starts a second arbiter JVM detached from the caller's terminal.
     *
     * @return the child's pid
     * @throws IOException if {@code posix_spawnp} fails
     */
    public static long spawnDetached(List<String> argv, Map<String, String> env, int[] stdio) throws IOException {
        Libc.C c = Libc.get();
        synchronized (LOCK) {
            return spawnLocked(c, argv, env, stdio, POSIX_SPAWN_SETSID);
        }
    }

    /** posix_spawnp with {@code stdio} as fd 0..2, every other descriptor closed on exec; holds {@link #LOCK}. */
    private static long spawnLocked(Libc.C c, List<String> argv, Map<String, String> env, int[] stdio, short flags)
            throws IOException {
        List<Integer> temporary = new ArrayList<>();
        Pointer actions = Libc.allocate(SPAWN_STRUCT_BYTES);
        Pointer attributes = Libc.allocate(SPAWN_STRUCT_BYTES);
        try {
            markAllCloseOnExec(c);
            int[] sources = new int[stdio.length];
            for (int fd = 0; fd < stdio.length; fd++) {
                sources[fd] = above2(c, stdio[fd], temporary);
            }
            c.posix_spawn_file_actions_init(actions);
            for (int fd = 0; fd < stdio.length; fd++) {
                c.posix_spawn_file_actions_adddup2(actions, sources[fd], fd);
            }
            c.posix_spawnattr_init(attributes);
            c.posix_spawnattr_setflags(attributes, flags);
            if ((flags & POSIX_SPAWN_SETPGROUP) != 0) {
                c.posix_spawnattr_setpgroup(attributes, 0);
            }
            String[] envp = new String[env.size()];
            int i = 0;
            for (Map.Entry<String, String> e : env.entrySet()) {
                envp[i++] = e.getKey() + "=" + e.getValue();
            }
            int[] pid = new int[1];
            int rc = c.posix_spawnp(pid, argv.get(0), actions, attributes, argv.toArray(new String[0]), envp);
            if (rc != 0 || pid[0] <= 0) {
                throw new IOException("posix_spawnp failed for " + argv.get(0) + ": " + c.strerror(rc)
                        + "; check that the java binary exists and is executable (set it with --java)");
            }
            return pid[0];
        } finally {
            c.posix_spawn_file_actions_destroy(actions);
            c.posix_spawnattr_destroy(attributes);
            temporary.forEach(c::close);
        }
    }

    private static int[] pipe(Libc.C c) throws IOException {
        int[] fds = new int[2];
        if (c.pipe(fds) != 0) {
            throw new IOException("pipe() failed: " + Libc.lastError()
                    + "; raise the open-file limit (ulimit -n) if the arbiter runs many workers");
        }
        closeOnExec(c, fds[0]);
        closeOnExec(c, fds[1]);
        return fds;
    }

    /** A descriptor that cannot collide with the targets 0..2 (only happens if the arbiter's stdio was closed). */
    private static int above2(Libc.C c, int fd, List<Integer> temporary) throws IOException {
        if (fd > 2) {
            return fd;
        }
        int copy = c.fcntl(fd, F_DUPFD, 3);
        if (copy < 0) {
            throw new IOException("fcntl(F_DUPFD) failed: " + Libc.lastError());
        }
        closeOnExec(c, copy);
        temporary.add(copy);
        return copy;
    }

    static void closeOnExec(Libc.C c, int fd) {
        int flags = c.fcntl(fd, F_GETFD, 0);
        if (flags >= 0 && (flags & FD_CLOEXEC) == 0) {
            c.fcntl(fd, F_SETFD, flags | FD_CLOEXEC);
        }
    }

    /** Marks every descriptor above 2 close-on-exec, so workers inherit only what the spawn actions give them. */
    static void markAllCloseOnExec(Libc.C c) {
        Path dir = Path.of("/proc/self/fd");
        if (!Files.isDirectory(dir)) {
            dir = Path.of("/dev/fd");
        }
        List<Integer> fds = new ArrayList<>();
        try (DirectoryStream<Path> entries = Files.newDirectoryStream(dir)) {
            for (Path p : entries) {
                try {
                    fds.add(Integer.parseInt(p.getFileName().toString()));
                } catch (NumberFormatException ignored) {
                    // not a descriptor
                }
            }
        } catch (IOException e) {
            return; // cannot list: the spawn still works, workers may inherit stray descriptors
        }
        for (int fd : fds) {
            if (fd > 2) {
                closeOnExec(c, fd);
            }
        }
    }

    /**
     * Runs {@code open} (which creates descriptors, e.g. a non-blocking accept) while no spawn can run, then marks
     * everything close-on-exec. The arbiter's own sockets (control and status connections) are created this way, so
     * no worker ever inherits another worker's control connection or a status client's socket.
     */
    public static <T> T openSealed(java.util.concurrent.Callable<T> open) throws IOException {
        synchronized (LOCK) {
            try {
                return open.call();
            } catch (IOException | RuntimeException e) {
                throw e;
            } catch (Exception e) {
                throw new IOException(e);
            } finally {
                markAllCloseOnExec(Libc.get());
            }
        }
    }

    /** Descriptors this process has open (for tests and the status), or -1 when unknown. */
    public static int openDescriptorCount() {
        try (var s = Files.list(Path.of("/proc/self/fd"))) {
            return (int) s.count() - 1;
        } catch (IOException | RuntimeException e) {
            return -1;
        }
    }
}
