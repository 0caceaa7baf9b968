package io.forksafe.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Side-by-side anchors (issue 16): the arbiter against gunicorn and a plain JVM, on this machine, in one run, with the
 * same app shape (a hello handler that names the pid that served it, 2 workers, 127.0.0.1). Every figure is the median
 * of several rounds and is written as {@code key=value} lines for {@link Report}; a variant this build or machine cannot
 * run is written as {@code key.na=reason} and never as a figure.
 * <ul>
 *   <li><b>kill</b>: SIGKILL of one serving worker, then a client polls with a new TCP connection per request (1 ms
 *       apart) until a pid that was not serving before the kill answers. gunicorn 20.1 (sync workers, {@code
 *       bench/gunicorn_hello.py}), arbiter spawn, spawn + {@code --standby 1}, {@code --preload}, preload + standby.
 *       One kill per arbiter start (a slot's first quick death is respawned at once; a second one within 5 s of
 *       readiness would wait for the backoff), so the spawn and preload starts are also the start rounds.</li>
 *   <li><b>start</b>: launch until every worker is ready in the arbiter's status and a request is answered; one plain
 *       JVM (launch until its first answer), spawn, preload, preload from a kept image ({@code --image-dir}, its
 *       first run, which makes the image, not counted).</li>
 *   <li><b>pss</b>: per-worker PSS ({@code /proc/PID/smaps_rollup}) at 4 workers: spawn, spawn + AppCDS, preload (the
 *       restored copies' host pids, as the status reports them).</li>
 *   <li><b>rps</b>: requests per second of a 1-worker and a 2-worker arbiter, running side by side, loaded in
 *       alternating slices by {@code wrk} (else this JVM), each first warmed up until its rate stops rising; with 2 or
 *       more CPUs the servers are pinned to all CPUs but the last and the client to the last ({@code taskset}).</li>
 * </ul>
 * Where a slow stage decides a figure, the stages are written too (times at which the bench read each log line).
 *
 * <pre>{@code
 * java -cp <bench cp>:<demo cp> io.forksafe.bench.AnchorBench --rounds 3 --load-seconds 2 \
 *     --app-classpath <demo cp> --gunicorn-app bench/gunicorn_hello.py --out target/bench/anchors.txt
 * }</pre>
 */
public final class AnchorBench {

    static final String APP = "io.forksafe.demo.JettyWorkerApp";
    /**
     * The JVM options of every JVM of the kill, start and PSS figures: the plain anchor, the arbiter and its workers
     * (C1 only, as in issue 16's spawn figure: a start-up setting).
     */
    static final List<String> JVM = List.of("-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1", "-Xshare:auto");
    /** The throughput figure's: full tiered compilation (C2), as row 7's. */
    static final List<String> JVM_THROUGHPUT = List.of("-XX:+UseSerialGC", "-Xshare:auto");
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Pattern PID = Pattern.compile("pid[ =](\\d+)");
    private static final Pattern LISTENING = Pattern.compile("listening on 127\\.0\\.0\\.1:(\\d+)");
    private static final Pattern STATUS = Pattern.compile("status http://127\\.0\\.0\\.1:(\\d+)/");
    private static final Pattern GUNICORN_LISTENING = Pattern.compile("Listening at: http://127\\.0\\.0\\.1:(\\d+)");
    private static final Pattern RPS = Pattern.compile("Requests/sec:\\s+([0-9.]+)");
    private static final long DEADLINE_MILLIS = 60_000;

    /** An arbiter variant. */
    private record Mode(String key, String label, boolean preload, int standby, boolean keptImage) {
    }

    private static final Mode SPAWN = new Mode("spawn", "spawn", false, 0, false);
    private static final Mode SPAWN_STANDBY = new Mode("spawn-standby", "spawn + standby", false, 1, false);
    private static final Mode PRELOAD = new Mode("preload", "preload", true, 0, false);
    private static final Mode PRELOAD_STANDBY = new Mode("preload-standby", "preload + standby", true, 1, false);
    private static final Mode IMAGE = new Mode("image", "preload from a kept image", true, 0, true);

    private final String java = ProcessHandle.current().info().command().orElse("java");
    private final String appClasspath;
    private final Path workDir;
    private final Path gunicornApp;
    private final int rounds;
    private final double loadSeconds;
    private final Map<String, String> out = new LinkedHashMap<>();
    private List<String> jvm = JVM;

    private AnchorBench(String appClasspath, Path workDir, Path gunicornApp, int rounds, double loadSeconds) {
        this.appClasspath = appClasspath;
        this.workDir = workDir;
        this.gunicornApp = gunicornApp;
        this.rounds = rounds;
        this.loadSeconds = loadSeconds;
    }

    public static void main(String[] args) throws Exception {
        int rounds = 3;
        double loadSeconds = 2;
        String cp = null;
        Path out = null;
        Path gunicornApp = Path.of("bench/gunicorn_hello.py");
        Set<String> parts = new HashSet<>(List.of("kill", "start", "pss", "rps"));
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--rounds" -> rounds = Integer.parseInt(args[++i]);
                case "--load-seconds" -> loadSeconds = Double.parseDouble(args[++i]);
                case "--app-classpath" -> cp = args[++i];
                case "--gunicorn-app" -> gunicornApp = Path.of(args[++i]);
                case "--parts" -> parts = new HashSet<>(List.of(args[++i].split(",")));
                case "--out" -> out = Path.of(args[++i]);
                default -> throw new IllegalArgumentException("unknown option " + args[i] + ": use --rounds N "
                        + "--load-seconds S --app-classpath CP --gunicorn-app FILE --parts kill,start,pss,rps --out FILE");
            }
        }
        if (cp == null) {
            throw new IllegalArgumentException("--app-classpath is required: the integration-tests jar plus the "
                    + "contents of integration-tests/target/demo-classpath.txt, as absolute paths");
        }
        if (rounds < 1 || rounds > 20 || loadSeconds <= 0 || loadSeconds > 30) {
            throw new IllegalArgumentException("need 1 <= rounds <= 20 and 0 < load-seconds <= 30");
        }
        Path dir = Files.createTempDirectory("forksafe-bench-anchors-"); // 0700
        AnchorBench b = new AnchorBench(cp, dir, gunicornApp.toAbsolutePath(), rounds, loadSeconds);
        try {
            for (String part : List.of("kill", "start", "pss", "rps")) {
                if (parts.contains(part)) {
                    long t0 = System.nanoTime();
                    switch (part) {
                        case "kill" -> b.kill();
                        case "start" -> b.start();
                        case "pss" -> b.pss();
                        default -> b.rps();
                    }
                    System.err.printf(Locale.ROOT, "anchor part %s took %.0f s%n", part, ms(t0) / 1000);
                }
            }
        } finally {
            List<String> lines = new ArrayList<>();
            b.out.forEach((k, v) -> lines.add(k + "=" + v));
            if (out != null) {
                Files.createDirectories(out.toAbsolutePath().getParent());
                Files.write(out, lines);
            }
            lines.forEach(System.out::println);
            deleteTree(dir);
        }
    }

    // ------------------------------------------------------------------ kill -9 -> first response from a new pid

    private void kill() throws Exception {
        killGunicorn();
        // spawn and preload: each start is also a start round (start -> all serving)
        for (Mode m : List.of(SPAWN, SPAWN_STANDBY, PRELOAD, PRELOAD_STANDBY)) {
            guarded("kill." + m.key, m.standby == 0 ? "start." + m.key : null, () -> killArbiter(m));
        }
    }

    private void killGunicorn() throws Exception {
        Path gunicorn = Path.of("/usr/bin/gunicorn");
        if (!Files.isExecutable(gunicorn)) {
            na("kill.gunicorn", "gunicorn not installed (.ci/bench-tools.sh installs Debian's gunicorn)");
            return;
        }
        List<Double> kills = new ArrayList<>();
        long t0 = System.nanoTime();
        try (ArbiterBench.Proc g = ArbiterBench.Proc.start(List.of(gunicorn.toString(), "--workers", "2", "--bind",
                "127.0.0.1:0", "--log-level", "info", "--chdir", gunicornApp.getParent().toString(),
                gunicornApp.getFileName().toString().replaceFirst("\\.py$", "") + ":app"))) {
            String line = g.awaitLine(l -> GUNICORN_LISTENING.matcher(l).find(), 30_000);
            Matcher m = GUNICORN_LISTENING.matcher(line);
            if (!m.find()) {
                na("kill.gunicorn", "gunicorn did not start: " + line + " " + g.output().replace('\n', ' '));
                return;
            }
            int port = Integer.parseInt(m.group(1));
            out.put("kill.gunicorn.version", g.awaitLine(l -> l.contains("Starting gunicorn"), 1000)
                    .replaceFirst(".*Starting gunicorn ", ""));
            for (int round = 1; round <= rounds; round++) {
                Set<Long> serving = awaitChildren(g.process.toHandle(), 2, t0);
                awaitPids(port, serving, t0); // both workers booted and answering
                long victim = serving.stream().min(Long::compare).orElseThrow(); // the oldest worker
                long k0 = System.nanoTime();
                ProcessHandle.of(victim).ifPresent(ProcessHandle::destroyForcibly);
                pollNewPid(port, serving, k0);
                kills.add(ms(k0));
                System.err.printf(Locale.ROOT, "anchor kill gunicorn round %d: %.1f ms%n", round, last(kills));
                t0 = System.nanoTime();
            }
        }
        figure("kill.gunicorn", kills);
    }

    private void killArbiter(Mode mode) throws Exception {
        if (mode.preload && criuMissing("kill." + mode.key)) {
            if (mode == PRELOAD) {
                na("start.preload", out.get("kill.preload.na"));
            }
            return;
        }
        List<Double> kills = new ArrayList<>();
        List<Double> starts = new ArrayList<>();
        Map<String, List<Double>> stages = new LinkedHashMap<>();
        for (int round = 1; round <= rounds; round++) {
            long t0 = System.nanoTime();
            Launch l = launch(mode, 2, null, null);
            if (l.na != null) {
                na("kill." + mode.key, l.na);
                if (mode.standby == 0) {
                    na("start." + mode.key, l.na);
                }
                return;
            }
            try (ArbiterBench.Proc p = l.proc) {
                List<Long> serving = awaitWorkers(p, 2, mode.standby, t0);
                awaitAnswer(p.port, t0);
                if (mode.standby == 0) {
                    starts.add(ms(t0));
                    startStages(p, mode, t0, stages);
                }
                long victim = serving.get(round % serving.size());
                long k0 = System.nanoTime();
                ProcessHandle.of(victim).ifPresent(ProcessHandle::destroyForcibly);
                pollNewPid(p.port, new HashSet<>(serving), k0);
                kills.add(ms(k0));
                // where the time went, from the arbiter's log lines after the kill
                stage(stages, "kill." + mode.key + ".noticed",
                        p.lineTime(s -> s.contains("pid " + victim) && s.contains(" exited with "), k0, 1), k0);
                stage(stages, "kill." + mode.key + ".replacing",
                        p.lineTime(s -> s.contains("spawned worker-") || s.contains("restoring worker-")
                                || s.contains("promoted standby-"), k0, 1), k0);
                stage(stages, "kill." + mode.key + ".ready", p.lineTime(s -> s.contains(" ready in "), k0, 1), k0);
                System.err.printf(Locale.ROOT, "anchor kill %s round %d: %.1f ms%s%n", mode.label, round, last(kills),
                        mode.standby == 0 ? String.format(Locale.ROOT, " (start -> 2 serving %.0f ms)", last(starts))
                                : "");
            }
        }
        figure("kill." + mode.key, kills);
        if (mode.standby == 0) {
            figure("start." + mode.key, starts);
        }
        stages.forEach((k, v) -> out.put(k + ".ms", fmt(median(v))));
    }

    /** The stages of a start, each the time at which the last of the workers passed it (ms from launch). */
    private void startStages(ArbiterBench.Proc p, Mode mode, long t0, Map<String, List<Double>> stages)
            throws IOException {
        String k = "start." + mode.key + ".";
        stage(stages, k + "arbiterListening", p.lineTime(s -> LISTENING.matcher(s).find(), t0, 1), t0);
        if (!mode.preload) {
            stage(stages, k + "spawned", p.lineTime(s -> s.contains("spawned worker-"), t0, 2), t0);
            // the first line a worker JVM prints comes from forksafe's registry, created in the worker's main
            stage(stages, k + "workerMain", p.lineTime(s -> s.startsWith("[worker-") && s.contains("ForkRegistry"),
                    t0, 2), t0);
            // the app's printer subscribes in the app's main and gets the worker's PostFork replayed at once
            stage(stages, k + "appPostFork",
                    p.lineTime(s -> s.matches("\\[worker-\\d+ pid \\d+\\] event PostFork worker=worker-.*"), t0, 2), t0);
            stage(stages, k + "serverStarted", p.lineTime(s -> s.contains("JettyWorkerApp listening on"), t0, 2), t0);
        } else {
            JsonNode pre = status(p).path("preload");
            stage(stages, k + "templateColdStart", pre.path("templateColdStartMillis").asDouble(-1));
            stage(stages, k + "dump", pre.path("dumpMillis").asDouble(-1));
            stage(stages, k + "restoring", p.lineTime(s -> s.contains("restoring worker-"), t0, 2), t0);
        }
        stage(stages, k + "ready", p.lineTime(s -> s.contains(" ready in "), t0, 2), t0);
    }

    private static void stage(Map<String, List<Double>> stages, String key, long atNanos, long t0) {
        if (atNanos > 0) {
            stage(stages, key, (atNanos - t0) / 1e6);
        }
    }

    private static void stage(Map<String, List<Double>> stages, String key, double ms) {
        if (ms >= 0) {
            stages.computeIfAbsent(key, x -> new ArrayList<>()).add(ms);
        }
    }

    /** Polls with a new connection per request, 1 ms apart, until a pid not in {@code before} answers. */
    private static long pollNewPid(int port, Set<Long> before, long k0) throws Exception {
        long deadline = k0 + TimeUnit.MILLISECONDS.toNanos(DEADLINE_MILLIS);
        while (System.nanoTime() < deadline) {
            try {
                Matcher m = PID.matcher(ArbiterBench.Http.get(port, "/"));
                if (m.find() && !before.contains(Long.parseLong(m.group(1)))) {
                    return Long.parseLong(m.group(1));
                }
            } catch (IOException e) {
                // the killed worker's connection, reset: poll on
            }
            Thread.sleep(1);
        }
        throw new IllegalStateException("no new pid answered on 127.0.0.1:" + port + " within " + DEADLINE_MILLIS
                + " ms of the kill (serving before: " + before + ")");
    }

    /** Waits until the children of {@code parent} number {@code n}; returns their pids. */
    private static Set<Long> awaitChildren(ProcessHandle parent, int n, long t0) throws InterruptedException {
        long deadline = t0 + TimeUnit.MILLISECONDS.toNanos(DEADLINE_MILLIS);
        while (System.nanoTime() < deadline) {
            Set<Long> pids = new HashSet<>();
            parent.children().filter(ProcessHandle::isAlive).forEach(h -> pids.add(h.pid()));
            if (pids.size() == n) {
                return pids;
            }
            Thread.sleep(5);
        }
        throw new IllegalStateException(parent.pid() + " did not have " + n + " children within " + DEADLINE_MILLIS
                + " ms");
    }

    /** Polls with new connections until every pid of {@code pids} has answered. */
    private static void awaitPids(int port, Set<Long> pids, long t0) throws InterruptedException {
        long deadline = t0 + TimeUnit.MILLISECONDS.toNanos(DEADLINE_MILLIS);
        Set<Long> seen = new HashSet<>();
        while (System.nanoTime() < deadline) {
            try {
                Matcher m = PID.matcher(ArbiterBench.Http.get(port, "/"));
                if (m.find()) {
                    seen.add(Long.parseLong(m.group(1)));
                }
                if (seen.containsAll(pids)) {
                    return;
                }
            } catch (IOException e) {
                // not answering yet
            }
            Thread.sleep(2);
        }
        throw new IllegalStateException("not every one of " + pids + " answered on 127.0.0.1:" + port + " within "
                + DEADLINE_MILLIS + " ms (seen " + seen + ")");
    }

    // ------------------------------------------------------------------ start -> all workers serving

    private void start() throws Exception {
        List<Double> plain = new ArrayList<>();
        for (int round = 1; round <= rounds; round++) {
            int port = freePort();
            long t0 = System.nanoTime();
            try (ArbiterBench.Proc p = ArbiterBench.Proc.start(command(null,
                    List.of(APP, "--port", String.valueOf(port))))) {
                awaitAnswer(port, t0);
                plain.add(ms(t0));
            }
            System.err.printf(Locale.ROOT, "anchor start plain JVM round %d: %.0f ms%n", round, last(plain));
        }
        figure("start.plain", plain);
        if (!out.containsKey("start.spawn.ms") && !out.containsKey("start.spawn.na")) {
            guarded("start.spawn", null, () -> startOnly(SPAWN)); // when the kill part did not run
        }
        if (!out.containsKey("start.preload.ms") && !out.containsKey("start.preload.na")) {
            guarded("start.preload", null, () -> startOnly(PRELOAD));
        }
        guarded("start.image", null, () -> startOnly(IMAGE));
    }

    /** A part of the bench that may fail on this machine or build. */
    @FunctionalInterface
    private interface Part {
        void run() throws Exception;
    }

    /**
     * Runs {@code part}; if it fails (an arbiter that exits, CRIU that cannot restore, a status that never shows the
     * standby), the row says so, with the first line of the reason, instead of ending the whole run; the full reason
     * goes to the log.
     */
    private void guarded(String key, String alsoKey, Part part) throws Exception {
        try {
            part.run();
        } catch (IllegalStateException e) {
            e.printStackTrace();
            String first = String.valueOf(e.getMessage()).lines().findFirst().orElse("").replace('|', '/');
            String why = "failed: " + (first.length() > 160 ? first.substring(0, 160) + "…" : first);
            for (String k : alsoKey == null ? List.of(key) : List.of(key, alsoKey)) {
                if (!out.containsKey(k + ".ms") && !out.containsKey(k + ".kb")) {
                    na(k, why);
                }
            }
        }
    }

    private void startOnly(Mode mode) throws Exception {
        if (mode.preload && criuMissing("start." + mode.key)) {
            return;
        }
        Path imageDir = mode.keptImage ? workDir.resolve("image") : null;
        if (mode.keptImage) {
            // the first run makes the image; it is not a round
            long t0 = System.nanoTime();
            Launch l = launch(mode, 2, null, imageDir);
            if (l.na != null) {
                na("start." + mode.key, l.na);
                return;
            }
            try (ArbiterBench.Proc p = l.proc) {
                awaitWorkers(p, 2, 0, t0);
                awaitAnswer(p.port, t0);
                System.err.printf(Locale.ROOT, "anchor start %s: the run that makes the image %.0f ms%n", mode.label,
                        ms(t0));
            }
        }
        List<Double> starts = new ArrayList<>();
        Map<String, List<Double>> stages = new LinkedHashMap<>();
        for (int round = 1; round <= rounds; round++) {
            long t0 = System.nanoTime();
            Launch l = launch(mode, 2, null, imageDir);
            if (l.na != null) {
                na("start." + mode.key, l.na);
                return;
            }
            try (ArbiterBench.Proc p = l.proc) {
                awaitWorkers(p, 2, 0, t0);
                awaitAnswer(p.port, t0);
                starts.add(ms(t0));
                startStages(p, mode, t0, stages);
            }
            System.err.printf(Locale.ROOT, "anchor start %s round %d: %.0f ms%n", mode.label, round, last(starts));
        }
        figure("start." + mode.key, starts);
        stages.forEach((k, v) -> out.put(k + ".ms", fmt(median(v))));
    }

    // ------------------------------------------------------------------ per-worker PSS at 4 workers

    private void pss() throws Exception {
        Path archive = workDir.resolve("workers.jsa");
        recordArchive(archive);
        // PSS hardly moves between starts (4 workers per start are 4 samples): one start per variant in --quick
        int pssRounds = rounds >= 5 ? 2 : 1;
        for (String variant : List.of("spawn", "cds", "preload")) {
            guarded("pss." + variant, null, () -> pssVariant(variant, archive, pssRounds));
        }
    }

    /** Per-worker PSS of one variant: spawn, cds (spawn + AppCDS) or preload. */
    private void pssVariant(String variant, Path archive, int pssRounds) throws Exception {
        Mode mode = variant.equals("preload") ? PRELOAD : SPAWN;
        if (mode.preload && criuMissing("pss.preload")) {
            return;
        }
        List<Double> kb = new ArrayList<>();
        for (int round = 1; round <= pssRounds; round++) {
            long t0 = System.nanoTime();
            Launch l = launch(mode, 4, null, null, variant.equals("cds") ? archive : null);
            if (l.na != null) {
                na("pss." + variant, l.na);
                break;
            }
            try (ArbiterBench.Proc p = l.proc) {
                List<Long> pids = awaitWorkers(p, 4, 0, t0);
                awaitAnswer(p.port, t0);
                HttpThroughput.load(p.port, 1, 4); // every worker served a little, as in ArbiterBench
                for (long pid : pids) {
                    kb.add((double) ArbiterBench.pssKb(pid));
                }
            }
            System.err.printf(Locale.ROOT, "anchor PSS %s round %d: %s kB%n", variant, round,
                    kb.subList(kb.size() - 4, kb.size()));
        }
        if (!kb.isEmpty()) {
            figure("pss." + variant, kb);
            out.put("pss." + variant + ".kb", out.remove("pss." + variant + ".ms"));
            out.put("pss." + variant + ".starts", String.valueOf(kb.size() / 4));
        }
    }

    /** One arbiter with one worker records the AppCDS archive: it serves a little, then stops gracefully. */
    private void recordArchive(Path archive) throws Exception {
        long t0 = System.nanoTime();
        Launch l = launch(SPAWN, 1, null, null, archive);
        if (l.na != null) {
            throw new IllegalStateException("the AppCDS recording arbiter did not start: " + l.na);
        }
        try (ArbiterBench.Proc p = l.proc) {
            awaitWorkers(p, 1, 0, t0);
            HttpThroughput.load(p.port, 1, 4);
            p.process.destroy();
            if (!p.process.waitFor(60, TimeUnit.SECONDS) || !Files.isRegularFile(archive)) {
                throw new IllegalStateException("no AppCDS archive at " + archive + ":\n" + p.output());
            }
        }
        System.err.printf(Locale.ROOT, "anchor AppCDS archive recorded: %d KiB in %.0f ms%n",
                Files.size(archive) / 1024, ms(t0));
    }

    // ------------------------------------------------------------------ throughput, 2 workers against 1

    private void rps() throws Exception {
        int cpus = Runtime.getRuntime().availableProcessors();
        boolean taskset = cpus >= 2 && Files.isExecutable(Path.of("/usr/bin/taskset"));
        String serverCpus = taskset ? (cpus == 2 ? "0" : "0-" + (cpus - 2)) : null;
        String clientCpu = taskset ? String.valueOf(cpus - 1) : null;
        boolean wrk = Files.isExecutable(Path.of("/usr/bin/wrk"));
        out.put("rps.client", (wrk ? "wrk -t1 -c8" : "this JVM, 8 connections")
                + (taskset ? ", pinned to CPU " + clientCpu + "; arbiter and workers to CPU " + serverCpus
                : wrk ? ", not pinned (one CPU)" : ", not pinned"));
        if (!wrk && taskset) {
            out.put("rps.client", out.get("rps.client") + " (the server side only: wrk is not installed)");
        }
        jvm = JVM_THROUGHPUT;
        long t0 = System.nanoTime();
        Launch one = launch(SPAWN, 1, serverCpus, null);
        Launch two = launch(SPAWN, 2, serverCpus, null);
        jvm = JVM;
        try (ArbiterBench.Proc p1 = one.proc; ArbiterBench.Proc p2 = two.proc) {
            if (one.na != null || two.na != null) {
                throw new IllegalStateException("arbiter did not start: " + one.na + " " + two.na);
            }
            awaitWorkers(p1, 1, 0, t0);
            awaitWorkers(p2, 2, 0, t0);
            warmUp("1 worker", p1.port, wrk, clientCpu);
            warmUp("2 workers", p2.port, wrk, clientCpu);
            List<Double> r1 = new ArrayList<>();
            List<Double> r2 = new ArrayList<>();
            for (int round = 1; round <= rounds; round++) {
                boolean twoFirst = round % 2 == 0;
                for (int k = 0; k < 2; k++) {
                    boolean isTwo = (k == 0) == twoFirst;
                    (isTwo ? r2 : r1).add(load((isTwo ? p2 : p1).port, loadSeconds, wrk, clientCpu));
                }
                System.err.printf(Locale.ROOT, "anchor throughput round %d: 2 workers %.0f, 1 worker %.0f req/s%n",
                        round, last(r2), last(r1));
            }
            figure("rps.1", r1);
            figure("rps.2", r2);
        }
    }

    /**
     * Loads in 1 s slices until the rate is steady (the last three slices within 10 % of each other), at most
     * {@code max(10, 5 × load-seconds)} slices. With the servers on one CPU, C2 compiles
     * while they serve, and two workers each see half the requests: a fixed 2 s warm-up left the 2-worker arbiter at
     * half its rate (2 workers 4.2k → 5.0k → 8.6k → 9.4k req/s in successive rounds of one run).
     */
    private void warmUp(String what, int port, boolean wrk, String cpu) throws Exception {
        int max = (int) Math.max(10, Math.round(5 * loadSeconds));
        List<Double> rates = new ArrayList<>();
        for (int i = 0; i < max; i++) {
            rates.add(load(port, 1, wrk, cpu));
            if (rates.size() >= 3) {
                List<Double> last3 = rates.subList(rates.size() - 3, rates.size());
                double lo = last3.stream().mapToDouble(Double::doubleValue).min().orElse(0);
                double hi = last3.stream().mapToDouble(Double::doubleValue).max().orElse(0);
                if (hi <= 1.1 * lo) {
                    break; // three slices within 10 % of each other: warm (a slow ramp is not)
                }
            }
        }
        System.err.printf(Locale.ROOT, "anchor throughput warm-up, %s: %s req/s%n", what,
                rates.stream().map(r -> String.format(Locale.ROOT, "%.0f", r)).toList());
    }

    /** Requests per second over {@code seconds} of keep-alive load on 8 connections. */
    private double load(int port, double seconds, boolean wrk, String cpu) throws Exception {
        if (!wrk) {
            return HttpThroughput.load(port, seconds, 8) / seconds;
        }
        List<String> cmd = new ArrayList<>();
        if (cpu != null) {
            cmd.addAll(List.of("taskset", "-c", cpu));
        }
        long whole = Math.max(1, Math.round(seconds)); // wrk takes whole seconds
        cmd.addAll(List.of("/usr/bin/wrk", "-t1", "-c8", "-d" + whole + "s", "--timeout", "2s",
                "http://127.0.0.1:" + port + "/"));
        Path log = workDir.resolve("wrk.txt");
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile()).start();
        if (!p.waitFor(whole + 30, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new IllegalStateException("wrk did not end within " + (whole + 30) + " s: " + Files.readString(log));
        }
        String text = Files.readString(log);
        Matcher m = RPS.matcher(text);
        if (!m.find()) {
            throw new IllegalStateException("no Requests/sec in wrk's output: " + text);
        }
        if (text.contains("Socket errors") || text.contains("Non-2xx")) {
            System.err.println("anchor throughput: wrk reported errors: " + text.replace('\n', ' '));
        }
        return Double.parseDouble(m.group(1));
    }

    // ------------------------------------------------------------------ arbiter processes

    /** A started arbiter, or why this variant cannot run here. */
    private record Launch(ArbiterBench.Proc proc, String na) {
    }

    private Launch launch(Mode mode, int workers, String cpus, Path imageDir) throws Exception {
        return launch(mode, workers, cpus, imageDir, null);
    }

    private Launch launch(Mode mode, int workers, String cpus, Path imageDir, Path cdsArchive) throws Exception {
        List<String> args = new ArrayList<>(List.of("io.forksafe.arbiter.ArbiterMain", "--workers",
                String.valueOf(workers), "--bind", "127.0.0.1:0", "--status-port", "0", "--jvm-opts",
                String.join(" ", jvm), "--classpath", appClasspath));
        if (mode.preload) {
            args.add("--preload");
        }
        if (mode.standby > 0) {
            args.addAll(List.of("--standby", String.valueOf(mode.standby)));
        }
        if (imageDir != null) {
            args.addAll(List.of("--image-dir", imageDir.toString()));
        }
        if (cdsArchive != null) {
            args.addAll(List.of("--cds-archive", cdsArchive.toString()));
        }
        args.add("--");
        args.add(APP);
        ArbiterBench.Proc p = ArbiterBench.Proc.start(command(cpus, args));
        String line = p.awaitLine(l -> LISTENING.matcher(l).find() || l.startsWith("forksafe arbiter:"), 60_000);
        Matcher m = LISTENING.matcher(line);
        Matcher s = STATUS.matcher(line);
        if (!m.find() || !s.find()) {
            p.process.waitFor(5, TimeUnit.SECONDS);
            String all = p.output();
            p.close();
            boolean exit2 = !p.process.isAlive() && p.process.exitValue() == 2;
            for (String option : List.of("--standby", "--image-dir")) {
                if (exit2 && all.contains("unknown option " + option)) {
                    return new Launch(null, "n/a (no " + option + " in this build)");
                }
            }
            throw new IllegalStateException("arbiter (" + mode.label + ") did not start: " + line + "\n" + all);
        }
        p.port = Integer.parseInt(m.group(1));
        p.statusPort = Integer.parseInt(s.group(1));
        return new Launch(p, null);
    }

    private List<String> command(String cpus, List<String> args) {
        List<String> cmd = new ArrayList<>();
        if (cpus != null) {
            cmd.addAll(List.of("taskset", "-c", cpus));
        }
        cmd.add(java);
        cmd.addAll(jvm);
        cmd.add("-cp");
        cmd.add(appClasspath);
        cmd.addAll(args);
        return cmd;
    }

    /** The arbiter's own status section. */
    private static JsonNode status(ArbiterBench.Proc arbiter) throws IOException {
        return JSON.readTree(ArbiterBench.Http.get(arbiter.statusPort, "/")).path("details").path("arbiter");
    }

    /**
     * Waits until {@code n} workers of role "current" are ready (and {@code standby} booted standbys: role and state
     * "standby");
     * returns the current ones' pids in slot order.
     */
    private static List<Long> awaitWorkers(ArbiterBench.Proc arbiter, int n, int standby, long t0) throws Exception {
        long deadline = t0 + TimeUnit.MILLISECONDS.toNanos(DEADLINE_MILLIS);
        String last = "";
        while (System.nanoTime() < deadline) {
            try {
                JsonNode ws = status(arbiter).path("workers");
                last = ws.toString();
                List<JsonNode> current = new ArrayList<>();
                int standbys = 0;
                for (JsonNode w : ws) {
                    String role = w.path("role").asText();
                    String state = w.path("state").asText();
                    if (role.equals("current") && state.equals("ready")) {
                        current.add(w);
                    } else if (role.equals("standby") && state.equals("standby")) {
                        standbys++; // booted, waiting for its promotion
                    }
                }
                if (current.size() == n && standbys >= standby) {
                    arbiter.readyAtNanos = System.nanoTime();
                    current.sort(Comparator.comparingInt(w -> w.path("slot").asInt()));
                    return current.stream().map(w -> w.path("pid").asLong()).toList();
                }
            } catch (IOException e) {
                // status port not answering yet
            }
            if (!arbiter.process.isAlive()) {
                break;
            }
            Thread.sleep(5);
        }
        throw new IllegalStateException(n + " current" + (standby > 0 ? " and " + standby + " standby" : "")
                + " workers not ready within " + DEADLINE_MILLIS + " ms; last status " + last + "\n"
                + arbiter.output());
    }

    private static void awaitAnswer(int port, long t0) throws Exception {
        long deadline = t0 + TimeUnit.MILLISECONDS.toNanos(DEADLINE_MILLIS);
        while (System.nanoTime() < deadline) {
            try {
                if (ArbiterBench.Http.get(port, "/").startsWith("hello")) {
                    return;
                }
            } catch (IOException e) {
                // not listening yet
            }
            Thread.sleep(2);
        }
        throw new IllegalStateException("nothing served on 127.0.0.1:" + port + " within " + DEADLINE_MILLIS + " ms");
    }

    private boolean criuMissing(String key) {
        Path criu = Path.of("/usr/local/sbin/criu");
        if (!Files.isExecutable(criu) && !Files.isExecutable(Path.of("/usr/sbin/criu"))) {
            na(key, "n/a (CRIU not installed: .ci/criu.sh builds it)");
            return true;
        }
        return false;
    }

    // ------------------------------------------------------------------ output

    private void na(String key, String reason) {
        out.put(key + ".na", reason.startsWith("n/a") ? reason : "n/a (" + reason + ")");
        System.err.println("anchor " + key + ": " + out.get(key + ".na"));
    }

    private void figure(String key, List<Double> v) {
        out.put(key + ".ms", fmt(median(v)));
        out.put(key + ".min", fmt(v.stream().mapToDouble(Double::doubleValue).min().orElse(Double.NaN)));
        out.put(key + ".max", fmt(v.stream().mapToDouble(Double::doubleValue).max().orElse(Double.NaN)));
        out.put(key + ".rounds", String.valueOf(v.size()));
        if (key.startsWith("rps.")) {
            out.put(key + ".rps", out.remove(key + ".ms"));
        }
    }

    private static String fmt(double v) {
        return String.format(Locale.ROOT, "%.1f", v);
    }

    private static double median(List<Double> v) {
        return HttpThroughput.median(v.stream().mapToDouble(Double::doubleValue).toArray());
    }

    private static double last(List<Double> v) {
        return v.isEmpty() ? Double.NaN : v.get(v.size() - 1);
    }

    private static double ms(long t0) {
        return (System.nanoTime() - t0) / 1e6;
    }

    private static int freePort() throws IOException {
        try (java.net.ServerSocket s = new java.net.ServerSocket()) {
            s.bind(new java.net.InetSocketAddress("127.0.0.1", 0));
            return s.getLocalPort();
        }
    }

    private static void deleteTree(Path dir) {
        try (var walk = Files.walk(dir)) {
            walk.sorted(Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
        } catch (IOException e) {
            System.err.println("anchor: could not remove " + dir + ": " + e);
        }
    }
}
