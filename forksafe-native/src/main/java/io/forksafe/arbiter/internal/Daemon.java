package io.forksafe.arbiter.internal;

import io.forksafe.arbiter.ArbiterConfig;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.TreeMap;

/**
 * {@code --daemon}: the arbiter detaches from the calling shell. A JVM cannot {@code fork()}, so the calling
 * {@code java ... ArbiterMain --daemon ...} starts a second arbiter JVM with the same command line in a new session
 * ({@code posix_spawn} with {@code POSIX_SPAWN_SETSID}: no controlling terminal), stdin from {@code /dev/null} and
 * stdout/stderr appended to {@code --log-file}, then waits until that arbiter writes {@code --pidfile} (it does once
 * every worker is ready) and exits 0; if the daemon exits first, the caller exits with its code and prints the lines
 * it logged. Not API.
 *
 * <pre>{@code
 * Daemon.check(config);                 // --log-file and --pidfile given, or a usage error
 * if (!Daemon.isDetached()) {
 *     return Daemon.launch(args, config, System.out, System.err);   // 0 once it serves
 * }
 * }</pre>
 */
public final class Daemon {

    /** Set on the detached arbiter's command line, so it runs instead of detaching again; workers do not get it. */
    public static final String DETACHED_PROPERTY = "forksafe.arbiter.detached";

    private static final int O_WRONLY = 1;
    private static final int O_APPEND = 02000;
    private static final int WNOHANG = 1;
    private static final long POLL_MILLIS = 25;
    private static final int REASON_LINES = 20;

    private Daemon() {
    }

    /** Whether this arbiter is the detached one a {@code --daemon} caller started. */
    public static boolean isDetached() {
        return Boolean.getBoolean(DETACHED_PROPERTY);
    }

    /**
     * Checks what {@code --daemon} needs.
     *
     * @throws IllegalArgumentException naming the missing option and the fix
     */
    public static void check(ArbiterConfig config) {
        if (config.logFile() == null) {
            throw new IllegalArgumentException("--daemon needs --log-file PATH: a detached arbiter has no terminal, "
                    + "its output and its workers' go to the log file; add e.g. --log-file /var/log/app/arbiter.log");
        }
        if (config.pidfile() == null) {
            throw new IllegalArgumentException("--daemon needs --pidfile PATH: the calling shell returns once the "
                    + "daemon writes it (when it serves), and it names the pid to stop it with; add e.g. "
                    + "--pidfile /run/app/arbiter.pid");
        }
    }

    /**
     * Starts the detached arbiter with {@code args} and waits until it serves or fails.
     *
     * @return 0 once it wrote the pid file; its exit code if it exited first (2: usage error or address in use, 3: a
     *         worker boot error); 1 if it could not be started or did not serve in time
     */
    public static int launch(String[] args, ArbiterConfig config, PrintStream out, PrintStream err) {
        Path log = config.logFile();
        Path pidfile = config.pidfile();
        long logStart;
        long pid;
        Libc.C c = Libc.get();
        try {
            Path parent = log.toAbsolutePath().getParent();
            if (parent != null) {
                Files.createDirectories(parent);
            }
            if (!Files.exists(log)) {
                Files.createFile(log);
            }
            logStart = Files.size(log);
            int devNull = c.open("/dev/null", 0 /* O_RDONLY */);
            if (devNull < 0) {
                throw new IOException("cannot open /dev/null: " + Libc.lastError());
            }
            int logFd = c.open(log.toString(), O_WRONLY | O_APPEND);
            if (logFd < 0) {
                c.close(devNull);
                throw new IOException("cannot open the log file " + log + ": " + Libc.lastError());
            }
            try {
                pid = Spawner.spawnDetached(command(args), new TreeMap<>(System.getenv()),
                        new int[] {devNull, logFd, logFd});
            } finally {
                c.close(devNull);
                c.close(logFd);
            }
        } catch (IOException | RuntimeException e) {
            err.println("forksafe arbiter: cannot start the daemon: " + e.getMessage());
            return 1;
        }
        // the boot timeout bounds each worker's boot; with --preload the template boots before the copies
        Duration limit = config.bootTimeout().multipliedBy(2).plusSeconds(30);
        long deadline = System.nanoTime() + limit.toNanos();
        int[] status = new int[1];
        while (System.nanoTime() < deadline) {
            if (c.waitpid((int) pid, status, WNOHANG) == pid) {
                int code = Supervisor.decode(status[0]);
                err.println("forksafe arbiter: the daemon (pid " + pid + ") exited with code " + code
                        + " before it served; its log " + log + " says:");
                newLines(log, logStart).forEach(l -> err.println("  " + l));
                return code != 0 ? code : 1;
            }
            if (pidOf(pidfile) == pid) {
                out.println("forksafe arbiter: daemon pid " + pid + " serving; pid file " + pidfile + ", log " + log);
                return 0;
            }
            try {
                Thread.sleep(POLL_MILLIS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            }
        }
        err.println("forksafe arbiter: the daemon (pid " + pid + ") is not serving after " + limit.toSeconds()
                + " s and keeps trying; see " + log + ", stop it with kill " + pid);
        return 1;
    }

    /** This JVM's command, for the detached arbiter: same java, JVM options, class path and arguments. */
    private static List<String> command(String[] args) {
        List<String> argv = new ArrayList<>();
        argv.add(ProcessHandle.current().info().command()
                .orElseGet(() -> Path.of(System.getProperty("java.home"), "bin", "java").toString()));
        argv.addAll(java.lang.management.ManagementFactory.getRuntimeMXBean().getInputArguments());
        argv.add("-D" + DETACHED_PROPERTY + "=true");
        argv.add("-cp");
        argv.add(System.getProperty("java.class.path"));
        argv.add(io.forksafe.arbiter.ArbiterMain.class.getName());
        argv.addAll(Arrays.asList(args));
        return argv;
    }

    private static long pidOf(Path pidfile) {
        try {
            return Long.parseLong(Files.readString(pidfile).strip());
        } catch (IOException | NumberFormatException e) {
            return -1; // not written yet, or being written
        }
    }

    /** The last lines the daemon appended to the log: why it stopped. */
    private static List<String> newLines(Path log, long from) {
        try {
            byte[] all = Files.readAllBytes(log);
            int start = (int) Math.min(from, all.length);
            List<String> lines = new String(all, start, all.length - start, StandardCharsets.UTF_8).lines().toList();
            return lines.subList(Math.max(0, lines.size() - REASON_LINES), lines.size());
        } catch (IOException e) {
            return List.of("(cannot read " + log + ": " + e.getMessage() + ")");
        }
    }
}
