package io.forksafe.arbiter;

import io.forksafe.ForkEvent;
import io.forksafe.ForkRegistry;
import io.forksafe.Forksafe;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CountDownLatch;

/**
 * The command line of the preload mode: boots the application once as a template, checkpoints it with CRIU when it
 * is warm, and keeps {@code --workers} restored copies running until SIGTERM/SIGINT.
 *
 * <pre>{@code
 * java -cp <app class path> io.forksafe.arbiter.PreloadMain --workers 2 -- io.forksafe.demo.JettyPreloadApp --port 8080
 * }</pre>
 *
 * <p>Exit codes: 0 stopped; 2 a bad flag, or this machine cannot run the preload mode (the message names the missing
 * piece); 1 the template or a copy failed to start.
 */
public final class PreloadMain {

    private PreloadMain() {
    }

    static final String USAGE = """
            usage: java -cp <app class path> io.forksafe.arbiter.PreloadMain [options] -- <main class> [args...]
              --workers N          restored copies to keep running (default 2)
              --bind HOST:PORT     passed to the app as FORKSAFE_PRELOAD_BIND (PreloadWorker.bindAddress());
                                   the app listens there itself, with SO_REUSEPORT
              --java PATH          java binary of the template (default: this JVM's)
              --classpath CP       class path of the template (default: this JVM's)
              --jvm-opt OPT        a JVM option of the template (repeatable; -XX:-UsePerfData is always added)
              --jvm-opts "A B"     JVM options of the template, separated by spaces
              --work-dir DIR       keep the image and CRIU logs in DIR (default: a private temp dir, removed at exit)
              --boot-timeout D     template boot and each restore may take this long (default 60s; 500ms, 30s, 2m)
              --status-port PORT   serve the preloader's forksafe status JSON on 127.0.0.1:PORT (0 = any free
                                   port, printed); details.preload lists the copies; ?format=text for text
              --print-events       print the preloader's events
              --help               this text
            The application must attach io.forksafe.arbiter.PreloadWorker and listen with SO_REUSEPORT; see
            docs/preload.md. Needs Linux, root (or CAP_SYS_ADMIN + CAP_CHECKPOINT_RESTORE), CRIU >= 4.2 and unshare.""";

    public static void main(String[] args) {
        System.exit(run(args));
    }

    /** Runs the preload mode until the JVM is asked to stop; returns the exit code. */
    static int run(String[] args) {
        Preloader.Builder b = Preloader.builder();
        int workers = 2;
        Integer statusPort = null;
        boolean printEvents = false;
        List<String> jvm = new ArrayList<>();
        int i = 0;
        try {
            for (; i < args.length && !args[i].equals("--"); i++) {
                switch (args[i]) {
                    case "--workers" -> {
                        workers = Integer.parseInt(value(args, ++i, "--workers"));
                        if (workers < 1) {
                            throw new IllegalArgumentException("--workers must be >= 1, got " + workers);
                        }
                    }
                    case "--bind" -> b.bind(value(args, ++i, "--bind"));
                    case "--java" -> b.java(value(args, ++i, "--java"));
                    case "--classpath", "-cp" -> b.classpath(value(args, ++i, "--classpath"));
                    case "--jvm-opt" -> jvm.add(value(args, ++i, "--jvm-opt"));
                    case "--jvm-opts" -> jvm.addAll(Arrays.stream(value(args, ++i, "--jvm-opts").trim().split("\\s+"))
                            .filter(s -> !s.isEmpty()).toList());
                    case "--work-dir" -> b.workDir(Path.of(value(args, ++i, "--work-dir")));
                    case "--boot-timeout" -> b.bootTimeout(duration(value(args, ++i, "--boot-timeout")));
                    case "--print-events" -> printEvents = true;
                    case "--status-port" -> {
                        statusPort = Integer.parseInt(value(args, ++i, "--status-port"));
                        if (statusPort < 0 || statusPort > 65535) {
                            throw new IllegalArgumentException("--status-port must be 0..65535, got " + statusPort);
                        }
                    }
                    case "--help", "-h" -> {
                        System.out.println(USAGE);
                        return 0;
                    }
                    default -> throw new IllegalArgumentException("unknown option '" + args[i] + "'");
                }
            }
            if (i + 1 >= args.length) {
                throw new IllegalArgumentException("no application: put the main class after '--'");
            }
            b.mainClass(args[i + 1]).args(Arrays.copyOfRange(args, i + 2, args.length)).jvmOptions(jvm);
        } catch (IllegalArgumentException e) {
            System.err.println("forksafe preload: " + e.getMessage() + "\n" + USAGE);
            return 2;
        }
        ForkRegistry registry = Forksafe.registry();
        if (printEvents) {
            registry.subscribe(ForkEvent.class, "forksafe.preload.printer", 0, e -> System.err.println(
                    "[preload pid " + ProcessHandle.current().pid() + "] event " + e.type().displayName() + " "
                            + e.worker().name() + " generation " + e.worker().generation() + " pid "
                            + e.worker().pid()));
        }
        Preloader preloader = b.registry(registry).build();
        CountDownLatch stopped = new CountDownLatch(1);
        Thread hook = new Thread(() -> {
            System.err.println("[preload pid " + ProcessHandle.current().pid() + "] stopping the copies");
            try {
                preloader.close();
            } catch (RuntimeException e) {
                System.err.println("forksafe preload: stopping failed: " + e);
            } finally {
                stopped.countDown();
            }
        }, "forksafe-preload-stop");
        Runtime.getRuntime().addShutdownHook(hook);
        com.sun.net.httpserver.HttpServer status = null;
        try {
            if (statusPort != null) {
                status = statusServer(registry, statusPort);
                System.err.println("[preload pid " + ProcessHandle.current().pid() + "] status on http://127.0.0.1:"
                        + status.getAddress().getPort() + "/");
            }
            preloader.start();
            System.err.println("[preload pid " + ProcessHandle.current().pid() + "] template checkpointed: "
                    + preloader.figures());
            preloader.keep(workers);
            System.err.println("[preload pid " + ProcessHandle.current().pid() + "] serving: " + preloader.copies());
        } catch (PreloadUnavailableException e) {
            System.err.println(e.getMessage());
            return 2;
        } catch (java.io.IOException e) {
            System.err.println("forksafe preload: --status-port " + statusPort + ": " + e.getMessage());
            return 2;
        } catch (RuntimeException e) {
            System.err.println("forksafe preload: " + e.getMessage());
            return 1;
        }
        try {
            stopped.await();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        return 0;
    }

    /**
     * The status on 127.0.0.1 through {@link io.forksafe.StatusEndpoint#loopbackOnly}. The JDK's HttpServer is safe
     * here: the preloader starts processes with {@code ProcessBuilder}, which closes every descriptor above 2 in the
     * child, so no status connection leaks into the template or a restore.
     */
    static com.sun.net.httpserver.HttpServer statusServer(ForkRegistry registry, int port) throws java.io.IOException {
        io.forksafe.StatusEndpoint endpoint = io.forksafe.StatusEndpoint.loopbackOnly(registry);
        com.sun.net.httpserver.HttpServer server = com.sun.net.httpserver.HttpServer.create(
                new java.net.InetSocketAddress(java.net.InetAddress.getLoopbackAddress(), port), 16);
        server.createContext("/", exchange -> {
            String query = exchange.getRequestURI().getQuery();
            String format = query != null && query.contains("format=text") ? "text" : "json";
            io.forksafe.StatusEndpoint.Response r = endpoint.respond(exchange.getRemoteAddress().getAddress(), format);
            byte[] body = r.body().getBytes(java.nio.charset.StandardCharsets.UTF_8);
            exchange.getResponseHeaders().set("Content-Type", r.contentType());
            exchange.sendResponseHeaders(r.status(), body.length);
            try (var out = exchange.getResponseBody()) {
                out.write(body);
            }
        });
        server.start();
        return server;
    }

    private static String value(String[] args, int i, String option) {
        if (i >= args.length || args[i].equals("--")) {
            throw new IllegalArgumentException(option + " needs a value");
        }
        return args[i];
    }

    static Duration duration(String s) {
        try {
            if (s.endsWith("ms")) {
                return Duration.ofMillis(Long.parseLong(s.substring(0, s.length() - 2)));
            } else if (s.endsWith("s")) {
                return Duration.ofSeconds(Long.parseLong(s.substring(0, s.length() - 1)));
            } else if (s.endsWith("m")) {
                return Duration.ofMinutes(Long.parseLong(s.substring(0, s.length() - 1)));
            }
            return Duration.ofSeconds(Long.parseLong(s));
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("not a duration: '" + s + "' (write 30, 30s, 500ms or 2m)");
        }
    }
}
