package io.forksafe.uwsgi;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.File;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.HttpURLConnection;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import java.util.stream.Collectors;
import java.util.stream.Stream;

import jnr.posix.POSIXFactory;

import org.junit.jupiter.api.Assumptions;

/**
 * A real uWSGI server (Debian packages, see .ci/uwsgi.sh) running the JWSGI test app from src/test/uwsgi-app on
 * 127.0.0.1 with an ephemeral port. Every process it starts is killed, with its whole tree, by {@link #close()}.
 */
final class UwsgiHost implements AutoCloseable {

    static final String UWSGI_JAR = "/usr/share/java/uwsgi.jar";
    static final String PLUGINS = "jvm_openjdk17,jwsgi_openjdk17";
    static final Duration START_TIMEOUT = Duration.ofSeconds(60);
    private static final ObjectMapper JSON = new ObjectMapper();

    final Process process;
    final int port;
    final Path eventsFile;
    final Path log;
    final List<String> command;
    private final ExecutorService clients = Executors.newFixedThreadPool(3, r -> {
        Thread t = new Thread(r, "uwsgi-test-client");
        t.setDaemon(true);
        return t;
    });

    private UwsgiHost(Process process, int port, Path eventsFile, Path log, List<String> command) {
        this.process = process;
        this.port = port;
        this.eventsFile = eventsFile;
        this.log = log;
        this.command = command;
    }

    /** Skips (with the reason printed) when uWSGI or its JVM plugins are not installed. */
    static String uwsgiBinary() {
        String missing = null;
        String binary = Stream.of(System.getenv().getOrDefault("PATH", "/usr/bin").split(File.pathSeparator))
                .map(d -> Path.of(d, "uwsgi")).filter(Files::isExecutable).map(Path::toString).findFirst()
                .orElse(null);
        if (binary == null) {
            missing = "the uwsgi binary is not on PATH";
        } else if (!Files.isReadable(Path.of(UWSGI_JAR))) {
            missing = UWSGI_JAR + " is missing";
        } else if (!Files.exists(Path.of("/usr/lib/uwsgi/plugins/jvm_openjdk17_plugin.so"))
                || !Files.exists(Path.of("/usr/lib/uwsgi/plugins/jwsgi_openjdk17_plugin.so"))) {
            missing = "the uWSGI JVM/JWSGI plugins for OpenJDK 17 are missing";
        }
        if (missing != null) {
            String reason = "SKIPPED uWSGI integration test: " + missing
                    + " (install: .ci/uwsgi.sh, i.e. apt-get install uwsgi-core uwsgi-plugin-jvm-openjdk-17 "
                    + "uwsgi-plugin-jwsgi-openjdk-17)";
            System.out.println(reason);
            Assumptions.abort(reason);
        }
        return binary;
    }

    /** Compiles the JWSGI test app (not on the surefire class path, so its hook provider stays out of unit tests). */
    static Path compileApp(Path dir) throws IOException {
        Path src = Path.of("src/test/uwsgi-app");
        Path out = Files.createDirectories(dir.resolve("app-classes"));
        List<String> sources;
        try (Stream<Path> s = Files.walk(src)) {
            sources = s.filter(p -> p.toString().endsWith(".java")).map(Path::toString).toList();
        }
        List<String> args = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "javac").toString(),
                "--release", "17", "-d", out.toString(), "-cp", String.join(File.pathSeparator, forksafeClassPath())));
        args.addAll(sources);
        Process javac = new ProcessBuilder(args).redirectErrorStream(true).start();
        String output = new String(javac.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        try {
            if (!javac.waitFor(120, TimeUnit.SECONDS) || javac.exitValue() != 0) {
                javac.destroyForcibly();
                throw new IllegalStateException("javac failed for the uWSGI test app:\n" + output);
            }
        } catch (InterruptedException e) {
            javac.destroyForcibly();
            Thread.currentThread().interrupt();
            throw new IOException("interrupted while compiling the uWSGI test app", e);
        }
        Path services = Files.createDirectories(out.resolve("META-INF/services"));
        Files.copy(src.resolve("META-INF/services/io.forksafe.spi.ForkHookProvider"),
                services.resolve("io.forksafe.spi.ForkHookProvider"));
        return out;
    }

    /** forksafe-native's classes and its runtime dependencies (core, jnr-posix, jnr-ffi, jffi, asm). */
    static List<String> forksafeClassPath() {
        return Arrays.stream(System.getProperty("java.class.path").split(File.pathSeparator))
                .filter(e -> !e.isBlank() && !e.endsWith("test-classes"))
                .filter(e -> {
                    String l = e.toLowerCase(Locale.ROOT);
                    return !(l.contains("junit") || l.contains("assertj") || l.contains("jackson")
                            || l.contains("byte-buddy") || l.contains("opentest4j") || l.contains("apiguardian")
                            || l.contains("surefire"));
                })
                .collect(Collectors.toList());
    }

    static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }

    /** How forksafe starts in each worker JVM. */
    enum Init {
        /** --jvm-class io/forksafe/uwsgi/UwsgiBootstrap (the documented zero-code option). */
        JVM_CLASS,
        /** --jvm-main-class io/forksafe/uwsgi/UwsgiBootstrap. */
        JVM_MAIN_CLASS,
        /** The application calls Forksafe.autoconfigure() in its static initialiser. */
        APPLICATION
    }

    /** Starts uWSGI; {@code master}: add --master. */
    static UwsgiHost start(Path dir, Path appClasses, boolean master, int processes, Init init, String... extra)
            throws IOException {
        String binary = uwsgiBinary();
        int port = freePort();
        Path events = dir.resolve("events-" + port + ".txt");
        Path log = dir.resolve("uwsgi-" + port + ".log");
        List<String> cmd = new ArrayList<>(List.of(binary, "--plugins", PLUGINS,
                "--http-socket", "127.0.0.1:" + port, "--http-socket-modifier1", "8",
                "--jvm-classpath", UWSGI_JAR, "--jvm-classpath", appClasses.toString()));
        for (String e : forksafeClassPath()) {
            cmd.add("--jvm-classpath");
            cmd.add(e);
        }
        cmd.addAll(List.of("--jvm-opt", "-Dforksafe.test.eventsFile=" + events,
                "--jvm-opt", "-Dforksafe.jmx=false", "--jvm-opt", "-Xss1m", "--jvm-opt", "-XX:TieredStopAtLevel=1",
                "--jvm-opt", "-Xshare:auto"));
        switch (init) {
            case JVM_CLASS -> cmd.addAll(List.of("--jvm-class", "io/forksafe/uwsgi/UwsgiBootstrap"));
            case JVM_MAIN_CLASS -> cmd.addAll(List.of("--jvm-main-class", "io/forksafe/uwsgi/UwsgiBootstrap"));
            case APPLICATION -> cmd.addAll(List.of("--jvm-opt", "-Dforksafe.test.autoconfigureInApp=true"));
        }
        cmd.addAll(List.of("--jwsgi", "io/forksafe/uwsgi/testapp/StatusApp:application",
                "--processes", String.valueOf(processes)));
        if (master) {
            cmd.add("--master");
        }
        cmd.addAll(List.of(extra));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile()).start();
        return new UwsgiHost(p, port, events, log, cmd);
    }

    long masterPid() {
        return process.pid();
    }

    /** An HTTP answer. */
    record Answer(int status, String body) {
    }

    /**
     * One GET over a plain socket, never retried (HttpURLConnection silently repeats a GET whose connection was
     * reset, which would run /exit twice). Returns what arrived before the server closed the connection.
     */
    String getOnce(String pathAndQuery) throws IOException {
        try (java.net.Socket s = new java.net.Socket()) {
            s.connect(new java.net.InetSocketAddress(InetAddress.getLoopbackAddress(), port), 5_000);
            s.setSoTimeout(30_000);
            s.getOutputStream().write(("GET " + pathAndQuery + " HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")
                    .getBytes(StandardCharsets.US_ASCII));
            s.getOutputStream().flush();
            return new String(s.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        }
    }

    /** A GET on 127.0.0.1 with bounded connect and read timeouts. */
    Answer get(String pathAndQuery) throws IOException {
        HttpURLConnection c = (HttpURLConnection) URI.create("http://127.0.0.1:" + port + pathAndQuery).toURL()
                .openConnection();
        c.setConnectTimeout(5_000);
        c.setReadTimeout(15_000);
        c.setUseCaches(false);
        try {
            int code = c.getResponseCode();
            byte[] body = (code < 400 ? c.getInputStream() : c.getErrorStream()).readAllBytes();
            return new Answer(code, new String(body, StandardCharsets.UTF_8));
        } finally {
            c.disconnect();
        }
    }

    /**
     * Sends rounds of concurrent slow status requests (a busy worker cannot take the next one, so they spread over
     * the workers) until {@code done} accepts the collected answers or the deadline passes.
     */
    List<JsonNode> pollStatuses(Duration timeout, Predicate<List<JsonNode>> done)
            throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        List<JsonNode> seen = new ArrayList<>();
        while (System.nanoTime() < deadline) {
            if (!process.isAlive()) {
                throw new IllegalStateException("uwsgi exited with " + process.exitValue() + "; log:\n" + logText());
            }
            String logNow = logText();
            if (logNow.contains("NoClassDefFoundError") || logNow.contains("unable to initialize the JVM")) {
                throw new IllegalStateException("uWSGI's JVM could not start the test app; log:\n" + logNow);
            }
            List<Future<Answer>> round = new ArrayList<>();
            for (int i = 0; i < 3; i++) {
                round.add(clients.submit(() -> get("/forksafe?delay=150")));
            }
            for (Future<Answer> f : round) {
                try {
                    Answer r = f.get(20, TimeUnit.SECONDS);
                    if (r.status() == 200 && !r.body().isBlank()) {
                        seen.add(JSON.readTree(r.body()));
                    }
                } catch (Exception e) {
                    // not up yet, or a worker is being replaced: try again
                }
            }
            if (done.test(seen)) {
                return seen;
            }
            Thread.sleep(50);
        }
        throw new AssertionError("condition not met within " + timeout.toSeconds() + " s; answers: " + seen
                + "\nuwsgi log:\n" + logText());
    }

    static void signal(long pid, int signal) {
        int rc = POSIXFactory.getNativePOSIX().kill((int) pid, signal);
        if (rc != 0) {
            throw new IllegalStateException("kill(" + pid + ", " + signal + ") failed: " + rc);
        }
    }

    List<String> eventLines() {
        try {
            return Files.exists(eventsFile) ? Files.readAllLines(eventsFile, StandardCharsets.UTF_8) : List.of();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    String logText() {
        try {
            String s = Files.readString(log, StandardCharsets.UTF_8);
            return s.length() > 20_000 ? s.substring(s.length() - 20_000) : s;
        } catch (IOException e) {
            return "(no log: " + e + ")";
        }
    }

    /** Waits until {@code condition} holds, polling, or fails after {@code timeout}. */
    static void await(Duration timeout, String what, java.util.function.BooleanSupplier condition)
            throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("timed out after " + timeout.toSeconds() + " s waiting for " + what);
            }
            Thread.sleep(20);
        }
    }

    /** Kills uWSGI and every descendant with SIGKILL, waiting a bounded time. */
    @Override
    public void close() {
        clients.shutdownNow();
        List<ProcessHandle> all = new ArrayList<>();
        all.add(process.toHandle());
        process.toHandle().descendants().forEach(all::add);
        for (ProcessHandle h : all) {
            h.destroyForcibly();
        }
        for (ProcessHandle h : all) {
            try {
                h.onExit().get(10, TimeUnit.SECONDS);
            } catch (Exception e) {
                // reported by the caller's assertions if it matters; never hang teardown
            }
        }
    }
}
