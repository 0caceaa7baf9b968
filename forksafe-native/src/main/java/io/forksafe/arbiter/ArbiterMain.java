package io.forksafe.arbiter;

import io.forksafe.arbiter.internal.ArbiterOption;
import io.forksafe.arbiter.internal.Daemon;

import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.net.BindException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Map;

/**
 * The arbiter's command line, for both modes (spawned workers, and {@code --preload}: restored copies): one parser,
 * one options table ({@link ArbiterOption}) that also renders {@code --help} and docs/arbiter.md. It builds an
 * {@link ArbiterConfig} and runs {@link Arbiter#create(ArbiterConfig)}, as a library user would.
 *
 * <pre>{@code
 * java -cp app.jar io.forksafe.arbiter.ArbiterMain --workers 2 --bind 127.0.0.1:8080 --status-port 9090 \
 *      -- com.example.AppMain args...
 * java -cp app.jar io.forksafe.arbiter.ArbiterMain --daemon --log-file app.log --pidfile app.pid \
 *      --bind 8080 -- com.example.AppMain     # returns 0 once it serves
 * }</pre>
 *
 * Exit codes: 0 after a stop, 2 for a usage error, an address in use or a machine that cannot run {@code --preload},
 * 3 when a worker failed to boot, 1 otherwise.
 */
public final class ArbiterMain {

    /** Usage error or address in use. */
    public static final int EXIT_USAGE = 2;

    /** The --help text, rendered from the options table. */
    static final String USAGE = ArbiterOption.usage();

    private ArbiterMain() {
    }

    public static void main(String[] args) {
        io.forksafe.arbiter.internal.Libc.preload(); // overlaps with parsing, the registry and its providers
        System.exit(run(args, System.out, System.err));
    }

    /** Runs the command line until the arbiter stops; returns the exit code. */
    static int run(String[] args, PrintStream out, PrintStream err) {
        ArbiterConfig config;
        boolean daemon;
        try {
            config = parse(args);
            daemon = given(args, ArbiterOption.DAEMON);
            if (daemon) {
                Daemon.check(config);
            }
        } catch (HelpRequested h) {
            out.print(USAGE);
            return 0;
        } catch (IllegalArgumentException e) {
            err.println("forksafe arbiter: " + e.getMessage());
            err.println("Run with --help for usage.");
            return EXIT_USAGE;
        }
        if (daemon && !Daemon.isDetached()) {
            return Daemon.launch(args, config, out, err);
        }
        Arbiter arbiter = Arbiter.create(config);
        try {
            arbiter.start();
        } catch (BindException | PreloadUnavailableException e) {
            err.println("forksafe arbiter: " + e.getMessage());
            return EXIT_USAGE;
        } catch (WorkerBootException e) {
            err.println("forksafe arbiter: worker boot error: " + e.getMessage());
            return ArbiterWorker.BOOT_ERROR_EXIT_CODE;
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

    /** Whether {@code option} is among the options (before {@code --}). */
    private static boolean given(String[] args, ArbiterOption option) {
        int end = Arrays.asList(args).indexOf("--");
        for (int k = 0; k < (end < 0 ? args.length : end); k++) {
            if (ArbiterOption.byName(args[k]).filter(o -> o == option).isPresent()) {
                return true;
            }
        }
        return false;
    }

    private static final class HelpRequested extends RuntimeException {
        private static final long serialVersionUID = 1L;

        HelpRequested() {
            super(null, null, false, false);
        }
    }

    /**
     * Parses the command line into a configuration, with the one options table ({@link ArbiterOption}) for both
     * modes.
     *
     * @throws IllegalArgumentException naming the bad flag or value and the fix
     */
    static ArbiterConfig parse(String[] args) {
        if (given(args, ArbiterOption.HELP)) {
            throw new HelpRequested();
        }
        ArbiterConfig.Builder b = ArbiterConfig.builder();
        if (Daemon.isDetached()) {
            // stdout and stderr are the log file already: the arbiter's lines go there once, through its log sink
            PrintStream none = new PrintStream(OutputStream.nullOutputStream());
            b.console(none, none);
        }
        int i = 0;
        while (i < args.length) {
            String a = args[i];
            if (a.equals("--")) {
                i++;
                break;
            }
            if (!a.startsWith("-") || a.equals("-")) {
                throw new IllegalArgumentException("unexpected argument '" + a
                        + "': put the worker's main class after --, e.g. -- com.example.AppMain");
            }
            String name = a;
            String value = null;
            int eq = a.indexOf('=');
            if (a.startsWith("--") && eq > 0) {
                name = a.substring(0, eq);
                value = a.substring(eq + 1);
            }
            String typed = name;
            ArbiterOption option = ArbiterOption.byName(name)
                    .orElseThrow(() -> new IllegalArgumentException(ArbiterOption.unknown(typed)));
            i++;
            if (!option.takesValue()) {
                if (value != null) {
                    throw new IllegalArgumentException(name + " takes no value, got '" + value + "': write " + name);
                }
            } else if (value == null) {
                if (i >= args.length || args[i].equals("--")) {
                    throw new IllegalArgumentException(name + " needs a value: " + option.kind().forms());
                }
                value = args[i++];
            }
            option.apply(b, name, value);
        }
        if (i >= args.length) {
            throw new IllegalArgumentException("no worker main class: end the options with -- com.example.AppMain "
                    + "[args...]");
        }
        b.app(args[i], new ArrayList<>(Arrays.asList(args).subList(i + 1, args.length)));
        return b.build();
    }
}
