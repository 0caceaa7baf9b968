package io.forksafe.arbiter.internal;

import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import jnr.constants.platform.Fcntl;
import jnr.posix.POSIX;
import jnr.posix.SpawnAttribute;
import jnr.posix.SpawnFileAction;

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
        POSIX posix = NativePosix.get();
        synchronized (LOCK) {
            int[] out = pipe(posix);
            int[] err;
            try {
                err = pipe(posix);
            } catch (IOException e) {
                posix.close(out[0]);
                posix.close(out[1]);
                throw e;
            }
            List<Integer> temporary = new ArrayList<>();
            try {
                markAllCloseOnExec(posix);
                int src0 = above2(posix, listenFd, temporary);
                int src1 = above2(posix, out[1], temporary);
                int src2 = above2(posix, err[1], temporary);
                List<SpawnFileAction> actions = List.of(
                        SpawnFileAction.dup(src0, 0), SpawnFileAction.dup(src1, 1), SpawnFileAction.dup(src2, 2));
                List<String> envp = new ArrayList<>(env.size());
                env.forEach((k, v) -> envp.add(k + "=" + v));
                // Each worker gets its own process group, so a terminal's Ctrl-C or a group-wide signal reaches
                // only the arbiter, which then stops the workers gracefully and in order.
                List<SpawnAttribute> attributes = List.of(
                        SpawnAttribute.flags((short) SpawnAttribute.SETPGROUP), SpawnAttribute.pgroup(0));
                long pid = posix.posix_spawnp(argv.get(0), actions, attributes, argv, envp);
                if (pid <= 0) {
                    posix.close(out[0]);
                    posix.close(err[0]);
                    throw new IOException("posix_spawnp failed for " + argv.get(0)
                            + ": check that the java binary exists and is executable (set it with --java)");
                }
                return new Child(pid, out[0], err[0]);
            } finally {
                posix.close(out[1]);
                posix.close(err[1]);
                temporary.forEach(posix::close);
            }
        }
    }

    private static int[] pipe(POSIX posix) throws IOException {
        int[] fds = new int[2];
        if (posix.pipe(fds) != 0) {
            throw new IOException("pipe() failed: " + NativePosix.lastError()
                    + "; raise the open-file limit (ulimit -n) if the arbiter runs many workers");
        }
        closeOnExec(posix, fds[0]);
        closeOnExec(posix, fds[1]);
        return fds;
    }

    /** A descriptor that cannot collide with the targets 0..2 (only happens if the arbiter's stdio was closed). */
    private static int above2(POSIX posix, int fd, List<Integer> temporary) throws IOException {
        if (fd > 2) {
            return fd;
        }
        int copy = posix.fcntlInt(fd, Fcntl.F_DUPFD, 3);
        if (copy < 0) {
            throw new IOException("fcntl(F_DUPFD) failed: " + NativePosix.lastError());
        }
        closeOnExec(posix, copy);
        temporary.add(copy);
        return copy;
    }

    static void closeOnExec(POSIX posix, int fd) {
        int flags = posix.fcntl(fd, Fcntl.F_GETFD);
        if (flags >= 0 && (flags & FD_CLOEXEC) == 0) {
            posix.fcntlInt(fd, Fcntl.F_SETFD, flags | FD_CLOEXEC);
        }
    }

    /** Marks every descriptor above 2 close-on-exec, so workers inherit only what the spawn actions give them. */
    static void markAllCloseOnExec(POSIX posix) {
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
                closeOnExec(posix, fd);
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
                markAllCloseOnExec(NativePosix.get());
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
