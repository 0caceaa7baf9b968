package io.forksafe.arbiter;

import java.io.IOException;
import java.io.PrintStream;
import java.net.BindException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The arbiter's command line: gunicorn for JVM workers.
 *
 * <pre>{@code
 * java -cp app.jar io.forksafe.arbiter.ArbiterMain --workers 2 --bind 127.0.0.1:8080 --status-port 9090 \
 *      -- com.example.AppMain args...
 * }</pre>
 *
 * Exit codes: 0 after a stop, 2 for a usage error or an address in use, 3 when a worker failed to boot, 1 otherwise.
 */
public final class ArbiterMain {

    /** Usage error or address in use. */
    public static final int EXIT_USAGE = 2;

    static final String USAGE = """
            Usage: java -cp <app class path> io.forksafe.arbiter.ArbiterMain [options] -- <main class> [args...]

            Runs <main class> in N worker JVMs that share one listening socket (passed as fd 0, see
            System.inheritedChannel(); forksafe-jetty and forksafe-undertow adopt it), and supervises them.

            Options:
              --workers N              worker JVMs to run (default 1)
              --bind HOST:PORT         address to listen on, e.g. 127.0.0.1:8080 or [::1]:8080 (required)
              --backlog N              listen backlog (default 2048)
              --timeout DUR            a ready worker silent this long is aborted and replaced (default 30s)
              --boot-timeout DUR       a worker not ready this long after spawning is replaced (default 60s)
              --graceful-timeout DUR   stopping workers may finish in-flight requests this long (default 30s)
              --abort-grace DUR        between SIGQUIT (thread dump) and SIGKILL of a hung worker (default 500ms)
              --max-backoff DUR        longest respawn delay for a crashing slot (default 10s)
              --status-port PORT       serve the forksafe status JSON on 127.0.0.1:PORT (0 = any free port)
              --status-file PATH       write the status JSON to PATH every second
              --pidfile PATH           write the arbiter's pid to PATH
              --log-file PATH          also write all output to PATH, rotated by size
              --log-max-size SIZE      rotate the log file at SIZE bytes (k/m/g suffixes; default 10m)
              --log-max-files N        rotated log files to keep (default 5)
              --java PATH              java binary for workers (default: this JVM's)
              --jvm-opts "OPTS"        replace the workers' JVM options (default: this JVM's), space-separated
              --jvm-opt OPT            add one JVM option for workers (repeatable)
              --classpath CP           workers' class path (default: this JVM's)
              --env NAME=VALUE         extra environment variable for workers (repeatable)
              --cds-archive PATH       workers share a JDK AppCDS archive at PATH: while it is missing, one
                                       worker records it when it exits (stop, SIGHUP); later workers map it
              --print-events           print every forksafe event: the arbiter's and each worker's
              --preload                boot one worker, checkpoint it with CRIU once it is ready and restore
                                       one copy per slot (and again to replace a dead one); needs root, CRIU
                                       >= 4.2 and an app listening on --bind with SO_REUSEPORT (docs/preload.md)
              --help                   show this help

            Durations: 30, 30s, 500ms, 2m. Signals: TERM/INT graceful stop, HUP rolling restart,
            TTIN one worker more, TTOU one worker fewer. Exit codes: 0 stopped, 2 usage error or address
            in use, 3 a worker failed to boot (e.g. a PostFork hook threw), 1 other failure.
            """;

    private ArbiterMain() {
    }

    public static void main(String[] args) {
        System.exit(run(args, System.out, System.err));
    }

    /** Runs the command line until the arbiter stops; returns the exit code. */
    static int run(String[] args, PrintStream out, PrintStream err) {
        ArbiterConfig config;
        try {
            config = parse(args);
        } catch (HelpRequested h) {
            out.print(USAGE);
            return 0;
        } catch (IllegalArgumentException e) {
            err.println("forksafe arbiter: " + e.getMessage());
            err.println("Run with --help for usage.");
            return EXIT_USAGE;
        }
        if (config.preload() && config.bind().getPort() == 0) {
            err.println("forksafe arbiter: --preload needs a fixed port in --bind (every restored copy listens on the "
                    + "template's port), e.g. --bind 127.0.0.1:8080");
            return EXIT_USAGE;
        }
        Arbiter arbiter = Arbiter.create(config);
        try {
            arbiter.start();
        } catch (BindException | PreloadUnavailableException e) {
            err.println("forksafe arbiter: " + e.getMessage());
            return EXIT_USAGE;
        } catch (IOException | RuntimeException e) {
            err.println("forksafe arbiter: cannot start: " + e.getMessage());
            return 1;
        }
        Map<String, String> signals = arbiter.installSignalHandlers();
        signals.forEach((sig, how) -> {
            if (!how.equals("handled")) {
                err.println("forksafe arbiter: SIG" + sig + " " + how);
            }
        });
        try {
            return arbiter.join();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            arbiter.stop();
            return 1;
        }
    }

    private static final class HelpRequested extends RuntimeException {
        private static final long serialVersionUID = 1L;

        HelpRequested() {
            super(null, null, false, false);
        }
    }

    /**
     * Parses the command line into a configuration.
     *
     * @throws IllegalArgumentException naming the bad flag or value and the fix
     */
    static ArbiterConfig parse(String[] args) {
        ArbiterConfig.Builder b = ArbiterConfig.builder();
        boolean bound = false;
        Path logFile = null;
        long logMax = 10L * 1024 * 1024;
        int logFiles = 5;
        boolean preload = false;
        List<String> given = new ArrayList<>();
        int i = 0;
        while (i < args.length) {
            String a = args[i];
            if (a.equals("--")) {
                i++;
                break;
            }
            if (a.equals("--help") || a.equals("-h")) {
                throw new HelpRequested();
            }
            if (!a.startsWith("--")) {
                throw new IllegalArgumentException("unexpected argument '" + a
                        + "': put the worker's main class after --, e.g. -- com.example.AppMain");
            }
            String name = a;
            String value = null;
            int eq = a.indexOf('=');
            if (eq > 0) {
                name = a.substring(0, eq);
                value = a.substring(eq + 1);
            }
            if (name.equals("--print-events")) {
                b.printEvents(true);
                i++;
                continue;
            }
            if (name.equals("--preload")) {
                b.preload(true);
                preload = true;
                i++;
                continue;
            }
            given.add(name);
            if (value == null) {
                if (i + 1 >= args.length) {
                    throw new IllegalArgumentException(name + " needs a value");
                }
                value = args[++i];
            }
            i++;
            switch (name) {
                case "--workers" -> b.workers(integer(name, value));
                case "--bind" -> {
                    b.bind(value);
                    bound = true;
                }
                case "--backlog" -> b.backlog(integer(name, value));
                case "--timeout" -> b.timeout(duration(name, value));
                case "--boot-timeout" -> b.bootTimeout(duration(name, value));
                case "--graceful-timeout" -> b.gracefulTimeout(duration(name, value));
                case "--abort-grace" -> b.abortGrace(duration(name, value));
                case "--max-backoff" -> b.maxBackoff(duration(name, value));
                case "--status-port" -> b.statusPort(integer(name, value));
                case "--status-file" -> b.statusFile(Path.of(value));
                case "--pidfile" -> b.pidfile(Path.of(value));
                case "--log-file" -> logFile = Path.of(value);
                case "--log-max-size" -> logMax = size(name, value);
                case "--log-max-files" -> logFiles = integer(name, value);
                case "--java" -> b.javaCommand(value);
                case "--jvm-opts" -> b.jvmOptions(value.isBlank() ? List.of() : Arrays.asList(value.trim().split("\\s+")));
                case "--jvm-opt" -> b.addJvmOption(value);
                case "--classpath", "--cp" -> b.classpath(value);
                case "--cds-archive" -> b.cdsArchive(Path.of(value));
                case "--env" -> {
                    int e = value.indexOf('=');
                    if (e <= 0) {
                        throw new IllegalArgumentException("--env needs NAME=VALUE, got '" + value + "'");
                    }
                    b.environment(value.substring(0, e), value.substring(e + 1));
                }
                default -> throw new IllegalArgumentException("unknown option " + name);
            }
        }
        if (i >= args.length) {
            throw new IllegalArgumentException("no worker main class: end the options with -- com.example.AppMain [args...]");
        }
        if (!bound) {
            throw new IllegalArgumentException("--bind is required, e.g. --bind 127.0.0.1:8080");
        }
        if (preload && given.contains("--backlog")) {
            throw new IllegalArgumentException("--backlog does not apply with --preload (each restored copy brings "
                    + "back the template's own listening socket); remove it");
        }
        b.app(args[i], new ArrayList<>(Arrays.asList(args).subList(i + 1, args.length)));
        if (logFile != null) {
            b.logFile(logFile, logMax, logFiles);
        }
        return b.build();
    }

    private static int integer(String flag, String v) {
        try {
            return Integer.parseInt(v.strip());
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(flag + " needs a whole number, got '" + v + "'");
        }
    }

    static Duration duration(String flag, String v) {
        String s = v.strip().toLowerCase(Locale.ROOT);
        try {
            if (s.endsWith("ms")) {
                return Duration.ofMillis(Long.parseLong(s.substring(0, s.length() - 2)));
            }
            if (s.endsWith("s")) {
                return Duration.ofMillis(Math.round(Double.parseDouble(s.substring(0, s.length() - 1)) * 1000));
            }
            if (s.endsWith("m")) {
                return Duration.ofSeconds(Long.parseLong(s.substring(0, s.length() - 1)) * 60);
            }
            return Duration.ofMillis(Math.round(Double.parseDouble(s) * 1000));
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(flag + " needs a duration such as 30, 30s, 500ms or 2m, got '" + v + "'");
        }
    }

    static long size(String flag, String v) {
        String s = v.strip().toLowerCase(Locale.ROOT);
        long mult = 1;
        if (s.endsWith("k") || s.endsWith("m") || s.endsWith("g")) {
            mult = switch (s.charAt(s.length() - 1)) {
                case 'k' -> 1024L;
                case 'm' -> 1024L * 1024;
                default -> 1024L * 1024 * 1024;
            };
            s = s.substring(0, s.length() - 1);
        }
        try {
            return Long.parseLong(s) * mult;
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(flag + " needs a size such as 1048576, 512k or 10m, got '" + v + "'");
        }
    }
}
