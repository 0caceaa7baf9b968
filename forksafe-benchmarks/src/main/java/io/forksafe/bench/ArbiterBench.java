package io.forksafe.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Rows 5 to 7 and AppCDS: real arbiter processes running {@code io.forksafe.demo.JettyWorkerApp} on 127.0.0.1,
 * against one plain JVM of the same app, in alternating rounds.
 * <ul>
 *   <li>5: arbiter start until 2 workers are ready and a request is answered, against a plain JVM start until its
 *       first answer;</li>
 *   <li>6: SIGKILL of one of 2 workers until the arbiter reports its replacement ready;</li>
 *   <li>7: requests per second through the shared socket with 2 workers against 1 worker;</li>
 *   <li>AppCDS: start to 2 ready workers and the average worker PSS ({@code /proc/<pid>/smaps_rollup}) with a
 *       dynamic archive ({@code --cds-archive}, recorded once at the beginning) against without.</li>
 * </ul>
 * Every process is stopped (SIGTERM, then SIGKILL after 30 s) before the next starts; every wait has a deadline.
 *
 * <pre>{@code
 * java -cp <bench cp>:<demo cp> io.forksafe.bench.ArbiterBench --rounds 3 --load-seconds 3 \
 *     --app-classpath <demo cp> --out target/bench/arbiter.txt
 * }</pre>
 */
public final class ArbiterBench {

    static final String APP = "io.forksafe.demo.JettyWorkerApp";
    static final List<String> JVM = List.of("-XX:+UseSerialGC", "-Xshare:auto");
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Pattern LISTENING = Pattern.compile("listening on 127\\.0\\.0\\.1:(\\d+)");
    private static final Pattern STATUS = Pattern.compile("status http://127\\.0\\.0\\.1:(\\d+)/");
    private static final long BOOT_MILLIS = 60_000;

    private final String java = ProcessHandle.current().info().command().orElse("java");
    private final String appClasspath;
    private final Path workDir;

    private ArbiterBench(String appClasspath, Path workDir) {
        this.appClasspath = appClasspath;
        this.workDir = workDir;
    }

    public static void main(String[] args) throws Exception {
        int rounds = 3;
        double loadSeconds = 3;
        String cp = null;
        Path out = null;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--rounds" -> rounds = Integer.parseInt(args[++i]);
                case "--load-seconds" -> loadSeconds = Double.parseDouble(args[++i]);
                case "--app-classpath" -> cp = args[++i];
                case "--out" -> out = Path.of(args[++i]);
                default -> throw new IllegalArgumentException("unknown option " + args[i]
                        + ": use --rounds N --load-seconds S --app-classpath CP --out FILE");
            }
        }
        if (cp == null) {
            throw new IllegalArgumentException("--app-classpath is required: integration-tests/target/classes plus "
                    + "the contents of integration-tests/target/demo-classpath.txt");
        }
        if (rounds < 1 || rounds > 20 || loadSeconds <= 0 || loadSeconds > 30) {
            throw new IllegalArgumentException("need 1 <= rounds <= 20 and 0 < load-seconds <= 30");
        }
        Path dir = Files.createTempDirectory("forksafe-bench-arbiter-");
        try {
            new ArbiterBench(cp, dir).run(rounds, loadSeconds, out);
        } finally {
            // the AppCDS archive (about 10 MB) is this run's only: do not leave it in /tmp
            try (var files = Files.walk(dir)) {
                files.sorted(Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
            }
        }
    }

    private void run(int rounds, double loadSeconds, Path out) throws Exception {
        Path archive = workDir.resolve("workers.jsa");
        recordArchive(archive);
        List<Double> plainStart = new ArrayList<>();
        List<Double> plainPss = new ArrayList<>();
        List<Double> start2 = new ArrayList<>();
        List<Double> pssOff = new ArrayList<>();
        List<Double> start2Cds = new ArrayList<>();
        List<Double> pssOn = new ArrayList<>();
        List<Double> kill = new ArrayList<>();
        List<Double> rps2 = new ArrayList<>();
        List<Double> rps1 = new ArrayList<>();
        for (int round = 1; round <= rounds; round++) {
            // a plain JVM of the same app
            int port = freePort();
            long t0 = System.nanoTime();
            try (Proc plain = Proc.start(command(List.of(APP, "--port", String.valueOf(port))))) {
                awaitServing(port, t0);
                plainStart.add(ms(t0));
                load(port, 1);
                plainPss.add((double) pssKb(plain.process.pid()));
            }
            // arbiter, 2 workers, no archive: start, PSS, kill -9, throughput
            boolean cdsFirst = round % 2 == 0;
            for (int k = 0; k < 2; k++) {
                boolean cds = (k == 0) == cdsFirst;
                t0 = System.nanoTime();
                try (Proc arbiter = arbiter(2, cds ? archive : null)) {
                    List<Long> pids = awaitReady(arbiter, 2, List.of(), t0);
                    awaitServing(arbiter.port, t0);
                    (cds ? start2Cds : start2).add(ms(t0));
                    load(arbiter.port, 1);
                    double pss = pids.stream().mapToLong(ArbiterBench::pssKb).average().orElse(Double.NaN);
                    (cds ? pssOn : pssOff).add(pss);
                    if (!cds) {
                        rps2.add(rps(arbiter.port, loadSeconds));
                        // No wait: a slot's first death is respawned at once however long its worker was ready
                        // (Supervisor: the backoff starts at the second quick death in a row), and each arbiter here
                        // sees one kill.
                        long victim = pids.get(round % 2);
                        long k0 = System.nanoTime();
                        ProcessHandle.of(victim).ifPresent(ProcessHandle::destroyForcibly);
                        awaitReady(arbiter, 2, List.of(victim), k0);
                        kill.add(ms(k0));
                    }
                }
            }
            try (Proc arbiter = arbiter(1, null)) {
                awaitReady(arbiter, 1, List.of(), System.nanoTime());
                rps1.add(rps(arbiter.port, loadSeconds));
            }
            System.err.printf(Locale.ROOT, "arbiter round %d: plain %.0f ms, 2 workers %.0f ms (AppCDS %.0f ms), "
                            + "kill -9 -> replacement %.0f ms, %.0f vs %.0f req/s, PSS plain %.0f kB, worker %.0f kB "
                            + "(AppCDS %.0f kB)%n", round, last(plainStart), last(start2), last(start2Cds), last(kill),
                    last(rps2), last(rps1), last(plainPss), last(pssOff), last(pssOn));
        }
        List<String> lines = new ArrayList<>();
        lines.add(kv("plain.start.ms", median(plainStart)));
        lines.add(kv("plain.pss.kb", median(plainPss)));
        lines.add(kv("arbiter.start2.ms", median(start2)));
        lines.add(kv("arbiter.kill9.ms", median(kill)));
        lines.add(kv("arbiter.rps.2workers", median(rps2)));
        lines.add(kv("arbiter.rps.1worker", median(rps1)));
        lines.add(kv("cds.off.start.ms", median(start2)));
        lines.add(kv("cds.on.start.ms", median(start2Cds)));
        lines.add(kv("cds.off.pss.kb", median(pssOff)));
        lines.add(kv("cds.on.pss.kb", median(pssOn)));
        lines.add("arbiter.rounds=" + rounds);
        lines.add("cds.archive.kb=" + Files.size(archive) / 1024);
        if (out != null) {
            Files.createDirectories(out.toAbsolutePath().getParent());
            Files.write(out, lines);
        }
        lines.forEach(System.out::println);
    }

    /** One arbiter with one worker records the archive: it serves a little, then stops gracefully. */
    private void recordArchive(Path archive) throws Exception {
        long t0 = System.nanoTime();
        try (Proc arbiter = arbiter(1, archive)) {
            awaitReady(arbiter, 1, List.of(), t0);
            load(arbiter.port, 1);
            arbiter.process.destroy(); // SIGTERM: graceful stop; the worker writes the archive as it exits
            if (!arbiter.process.waitFor(60, TimeUnit.SECONDS)) {
                throw new IllegalStateException("arbiter did not stop within 60 s:\n" + arbiter.output());
            }
            if (!Files.isRegularFile(archive)) {
                throw new IllegalStateException("no AppCDS archive at " + archive + " after the recording run:\n"
                        + arbiter.output());
            }
        }
        System.err.printf(Locale.ROOT, "AppCDS archive recorded: %d KiB in %.0f ms%n", Files.size(archive) / 1024,
                ms(t0));
    }

    private Proc arbiter(int workers, Path archive) throws Exception {
        List<String> args = new ArrayList<>(List.of("io.forksafe.arbiter.ArbiterMain", "--workers",
                String.valueOf(workers), "--bind", "127.0.0.1:0", "--status-port", "0",
                "--jvm-opts", String.join(" ", JVM), "--classpath", appClasspath));
        if (archive != null) {
            args.add("--cds-archive");
            args.add(archive.toString());
        }
        args.add("--");
        args.add(APP);
        Proc p = Proc.start(command(args));
        String line = p.awaitLine(l -> LISTENING.matcher(l).find() || l.startsWith("forksafe arbiter:"), 30_000);
        Matcher m = LISTENING.matcher(line);
        Matcher s = STATUS.matcher(line);
        if (!m.find() || !s.find()) {
            p.close();
            throw new IllegalStateException("arbiter did not start: " + line + "\n" + p.output());
        }
        p.port = Integer.parseInt(m.group(1));
        p.statusPort = Integer.parseInt(s.group(1));
        return p;
    }

    private List<String> command(List<String> args) {
        List<String> cmd = new ArrayList<>();
        cmd.add(java);
        cmd.addAll(JVM);
        cmd.add("-cp");
        cmd.add(appClasspath);
        cmd.addAll(args);
        return cmd;
    }

    /** Waits until {@code n} current workers are ready, none of them in {@code notPids}; returns their pids. */
    private static List<Long> awaitReady(Proc arbiter, int n, List<Long> notPids, long t0) throws Exception {
        long deadline = t0 + TimeUnit.MILLISECONDS.toNanos(BOOT_MILLIS);
        while (System.nanoTime() < deadline) {
            List<Long> pids = new ArrayList<>();
            try {
                JsonNode ws = JSON.readTree(Http.get(arbiter.statusPort, "/")).path("details").path("arbiter")
                        .path("workers");
                for (JsonNode w : ws) {
                    if (w.path("role").asText().equals("current") && w.path("state").asText().equals("ready")
                            && !notPids.contains(w.path("pid").asLong())) {
                        pids.add(w.path("pid").asLong());
                    }
                }
            } catch (IOException e) {
                // status port not answering yet
            }
            if (pids.size() == n) {
                arbiter.readyAtNanos = System.nanoTime();
                return pids;
            }
            Thread.sleep(10);
        }
        throw new IllegalStateException(n + " workers not ready within " + BOOT_MILLIS + " ms:\n" + arbiter.output());
    }

    private static void awaitServing(int port, long t0) throws Exception {
        long deadline = t0 + TimeUnit.MILLISECONDS.toNanos(BOOT_MILLIS);
        while (System.nanoTime() < deadline) {
            try {
                if (Http.get(port, "/").startsWith("hello")) {
                    return;
                }
            } catch (IOException e) {
                // not listening yet
            }
            Thread.sleep(10);
        }
        throw new IllegalStateException("nothing served on 127.0.0.1:" + port + " within " + BOOT_MILLIS + " ms");
    }

    private static void load(int port, double seconds) throws InterruptedException {
        HttpThroughput.load(port, seconds, 4);
    }

    private static double rps(int port, double seconds) throws InterruptedException {
        load(port, 1); // warm-up
        return HttpThroughput.load(port, seconds, 8) / seconds;
    }

    /** Proportional set size of {@code pid} in kB, from {@code /proc/<pid>/smaps_rollup}. */
    static long pssKb(long pid) {
        try {
            for (String l : Files.readAllLines(Path.of("/proc/" + pid + "/smaps_rollup"))) {
                if (l.startsWith("Pss:")) {
                    return Long.parseLong(l.replaceAll("[^0-9]", ""));
                }
            }
        } catch (IOException e) {
            throw new IllegalStateException("cannot read /proc/" + pid + "/smaps_rollup (Linux 4.14+ needed): " + e);
        }
        throw new IllegalStateException("no Pss line in /proc/" + pid + "/smaps_rollup");
    }

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket()) {
            s.bind(new InetSocketAddress("127.0.0.1", 0));
            return s.getLocalPort();
        }
    }


    private static double ms(long t0) {
        return (System.nanoTime() - t0) / 1e6;
    }

    private static double last(List<Double> v) {
        return v.isEmpty() ? Double.NaN : v.get(v.size() - 1);
    }

    private static double median(List<Double> v) {
        double[] a = v.stream().mapToDouble(Double::doubleValue).toArray();
        return HttpThroughput.median(a);
    }

    private static String kv(String k, double v) {
        return String.format(Locale.ROOT, "%s=%.1f", k, v);
    }

    /** A child process with its merged output collected; closing stops it and everything it started. */
    static final class Proc implements AutoCloseable {
        final Process process;
        final List<String> lines = Collections.synchronizedList(new ArrayList<>());
        /** When each line of {@link #lines} was read ({@code System.nanoTime()}), same index; guarded by lines. */
        final List<Long> times = new ArrayList<>();
        int port;
        int statusPort;
        long readyAtNanos;

        private Proc(Process process) {
            this.process = process;
            Thread reader = new Thread(() -> {
                try (BufferedReader in = new BufferedReader(new InputStreamReader(process.getInputStream(),
                        StandardCharsets.UTF_8))) {
                    String l;
                    while ((l = in.readLine()) != null) {
                        long now = System.nanoTime();
                        synchronized (lines) {
                            if (lines.size() < 20_000) {
                                lines.add(l);
                                times.add(now);
                            }
                        }
                    }
                } catch (IOException ignored) {
                    // ended
                }
            }, "proc-output");
            reader.setDaemon(true);
            reader.start();
        }

        static Proc start(List<String> cmd) throws IOException {
            return new Proc(new ProcessBuilder(cmd).redirectErrorStream(true).start());
        }

        String awaitLine(java.util.function.Predicate<String> p, long timeoutMillis) throws InterruptedException {
            long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(timeoutMillis);
            while (System.nanoTime() < deadline) {
                synchronized (lines) {
                    for (String l : lines) {
                        if (p.test(l)) {
                            return l;
                        }
                    }
                }
                if (!process.isAlive()) {
                    break;
                }
                Thread.sleep(10);
            }
            return "no matching line within " + timeoutMillis + " ms";
        }

        /**
         * When the {@code nth} (1-based) line matching {@code p} read at or after {@code afterNanos} was read
         * ({@code System.nanoTime()}), or -1 if there is no such line yet.
         */
        long lineTime(java.util.function.Predicate<String> p, long afterNanos, int nth) {
            synchronized (lines) {
                int seen = 0;
                for (int i = 0; i < lines.size(); i++) {
                    if (times.get(i) >= afterNanos && p.test(lines.get(i)) && ++seen == nth) {
                        return times.get(i);
                    }
                }
            }
            return -1;
        }

        String output() {
            synchronized (lines) {
                return String.join("\n", lines.subList(Math.max(0, lines.size() - 60), lines.size()));
            }
        }

        @Override
        public void close() throws InterruptedException {
            List<ProcessHandle> family = process.descendants().toList();
            if (process.isAlive()) {
                process.destroy();
                if (!process.waitFor(30, TimeUnit.SECONDS)) {
                    process.destroyForcibly();
                    process.waitFor(5, TimeUnit.SECONDS);
                }
            }
            for (ProcessHandle h : family) {
                if (h.isAlive()) {
                    h.destroyForcibly();
                }
            }
        }
    }

    /** A GET over a fresh connection to 127.0.0.1; returns the body. */
    static final class Http {
        static String get(int port, String path) throws IOException {
            try (Socket s = new Socket()) {
                s.connect(new InetSocketAddress("127.0.0.1", port), 1000);
                s.setSoTimeout(5_000);
                s.getOutputStream().write(("GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
                        .getBytes(StandardCharsets.US_ASCII));
                String r = new String(s.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
                int end = r.indexOf("\r\n\r\n");
                if (!r.startsWith("HTTP/1.1 200") || end < 0) {
                    throw new IOException("not a 200 response: " + r.lines().findFirst().orElse(""));
                }
                return r.substring(end + 4);
            }
        }

        private Http() {
        }
    }

}
