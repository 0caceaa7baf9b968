package io.forksafe.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.junit.jupiter.api.Test;

/**
 * The jshell session of docs/arbiter.md, replayed in real {@code jshell} (of the JDK running the tests) through its
 * stdin, on the demo class path: every command of the block, and every result line compared with what jshell
 * printed, dates, pids, ports, thread names and jshell's {@code $N} names aside. The arbiter's and its workers' own lines
 * ({@code [arbiter pid N] ...}, {@code [worker-1 pid N] ...}) print in between as they happen, so they are left out
 * of the comparison (and of the docs).
 */
class ArbiterJshellSessionTest {

    static final String MARKER = "<!-- jshell-session: replayed by ArbiterJshellSessionTest -->";
    private static final String PROMPT = "jshell> ";
    private static final String CONTINUATION = "   ...> ";
    private static final Duration STEP = Duration.ofSeconds(90);
    private static final Pattern WORKER_PID = Pattern.compile("WorkerStatus\\[slot=\\d+, pid=(\\d+)");

    /** One command (its lines as typed) and the lines the docs show after it. */
    record Step(List<String> command, List<String> expected) {
    }

    @Test
    void theDocsJshellSessionPrintsWhatTheDocsShow() throws Exception {
        Path doc = Path.of("").toAbsolutePath().getParent().resolve("docs").resolve("arbiter.md");
        List<Step> steps = session(Files.readAllLines(doc));
        assertThat(steps).as("the session in " + doc).hasSizeGreaterThan(5);

        Path jshell = Path.of(System.getProperty("java.home"), "bin", "jshell");
        Process p = new ProcessBuilder(jshell.toString(), "--class-path", ProcessSupport.demoClasspath(),
                "-R-XX:TieredStopAtLevel=1", "-R-XX:+UseSerialGC").redirectErrorStream(true).start();
        Output out = new Output(p.getInputStream());
        List<String> transcript = new ArrayList<>();
        List<Long> workerPids = new ArrayList<>();
        try (OutputStream in = p.getOutputStream()) {
            out.awaitPrompt(STEP); // the welcome banner
            List<String> mismatches = new ArrayList<>();
            for (Step step : steps) {
                for (String line : step.command()) {
                    in.write((line + "\n").getBytes(StandardCharsets.UTF_8));
                }
                in.flush();
                boolean exit = step.command().get(0).equals("/exit");
                String printed = exit ? out.awaitEnd(STEP) : out.awaitPrompt(STEP);
                List<String> actual = results(printed);
                transcript.add(PROMPT + String.join("\n" + CONTINUATION, step.command()));
                transcript.addAll(actual);
                transcript.add("");
                actual.forEach(l -> {
                    Matcher m = WORKER_PID.matcher(l);
                    while (m.find()) {
                        workerPids.add(Long.parseLong(m.group(1)));
                    }
                });
                if (!normalize(actual).equals(normalize(step.expected()))) {
                    mismatches.add(step.command().get(0) + "\n  docs:    " + step.expected() + "\n  printed: " + actual);
                }
            }
            if (!mismatches.isEmpty()) {
                Path printed = Path.of("target", "arbiter-jshell-session.txt");
                Files.write(printed, transcript);
                assertThat(mismatches).as("the session as printed is in " + printed.toAbsolutePath()
                        + "; the whole output:\n" + out.text()).isEmpty();
            }
            assertThat(p.waitFor(30, TimeUnit.SECONDS)).as("jshell exits after /exit").isTrue();
        } finally {
            p.destroyForcibly();
        }
        // stop() and join() ended every worker (before and after the reload) with the arbiter
        assertThat(workerPids).as("workers listed by the session").hasSizeGreaterThanOrEqualTo(4);
        for (long pid : workerPids) {
            assertThat(ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false)).as("worker %d gone", pid)
                    .isFalse();
        }
    }

    @Test
    void exitingJshellWithoutStopEndsTheWorkers() throws Exception {
        Path jshell = Path.of(System.getProperty("java.home"), "bin", "jshell");
        Process p = new ProcessBuilder(jshell.toString(), "--class-path", ProcessSupport.demoClasspath(),
                "-R-XX:TieredStopAtLevel=1", "-R-XX:+UseSerialGC").redirectErrorStream(true).start();
        Output out = new Output(p.getInputStream());
        List<Long> workerPids = new ArrayList<>();
        try (OutputStream in = p.getOutputStream()) {
            out.awaitPrompt(STEP);
            in.write(("var arbiter = io.forksafe.arbiter.Arbiter.create(io.forksafe.arbiter.ArbiterConfig.builder()"
                    + ".workers(2).bind(\"127.0.0.1:0\").app(\"io.forksafe.demo.JettyWorkerApp\").build())\n"
                    + "arbiter.start().awaitServing(java.time.Duration.ofSeconds(60))\n"
                    + "arbiter.workers()\n").getBytes(StandardCharsets.UTF_8));
            in.flush();
            out.awaitPrompt(STEP);
            assertThat(results(out.awaitPrompt(STEP))).anyMatch(l -> l.endsWith("==> true"));
            Matcher m = WORKER_PID.matcher(String.join("\n", results(out.awaitPrompt(STEP))));
            while (m.find()) {
                workerPids.add(Long.parseLong(m.group(1)));
            }
            assertThat(workerPids).hasSize(2);
            in.write("/exit\n".getBytes(StandardCharsets.UTF_8));
            in.flush();
            out.awaitEnd(STEP);
            assertThat(p.waitFor(30, TimeUnit.SECONDS)).isTrue();
        } finally {
            p.destroyForcibly();
        }
        for (long pid : workerPids) {
            java.util.Optional<ProcessHandle> h = ProcessHandle.of(pid);
            if (h.isPresent()) {
                h.get().onExit().get(30, TimeUnit.SECONDS); // fails with a TimeoutException if it stays
            }
        }
    }

    /** The commands and result lines of the block that follows {@link #MARKER}. */
    static List<Step> session(List<String> markdown) {
        int i = markdown.indexOf(MARKER);
        assertThat(i).as("the marker " + MARKER).isNotNegative();
        assertThat(markdown.get(i + 1)).startsWith("```");
        List<Step> steps = new ArrayList<>();
        for (int k = i + 2; !markdown.get(k).startsWith("```"); k++) {
            String line = markdown.get(k);
            if (line.startsWith(PROMPT)) {
                List<String> command = new ArrayList<>(List.of(line.substring(PROMPT.length())));
                while (markdown.get(k + 1).startsWith(CONTINUATION)) {
                    command.add(markdown.get(++k).substring(CONTINUATION.length()));
                }
                steps.add(new Step(command, new ArrayList<>()));
            } else if (!line.isBlank()) {
                assertThat(steps).as("a result line before the first command: " + line).isNotEmpty();
                steps.get(steps.size() - 1).expected().add(line);
            }
        }
        return steps;
    }

    /** What jshell printed for one command: without prompts, blank lines and the processes' own lines. */
    static List<String> results(String printed) {
        List<String> lines = new ArrayList<>();
        for (String l : printed.replace(" \b", "").replace(CONTINUATION, "").split("\n", -1)) {
            String t = l.stripTrailing();
            if (t.isBlank() || t.startsWith("[arbiter pid ") || t.startsWith("[worker-")) {
                continue;
            }
            lines.add(t);
        }
        return lines;
    }

    /** Dates, pids, ports, thread numbers and jshell's temporary names differ from run to run. */
    static List<String> normalize(List<String> lines) {
        return lines.stream().map(l -> l.replaceAll("^\\w{3} \\d+, \\d{4} \\d+:\\d\\d:\\d\\d [AP]M ", "DATE ")
                .replaceAll("pid([= ])\\d+", "pid$1N")
                .replaceAll("heartbeatAgeMillis=\\d+", "heartbeatAgeMillis=N")
                .replaceAll("127\\.0\\.0\\.1:\\d+", "127.0.0.1:N")
                .replaceAll("qtp\\d+-\\d+", "qtpN-N")
                .replaceAll("\\$\\d+", "\\$N")).toList();
    }

    /** jshell's merged output, read on a thread; waits are bounded. */
    private static final class Output {
        private final StringBuilder text = new StringBuilder();
        private int consumed;
        private boolean ended;

        Output(InputStream in) {
            Thread t = new Thread(() -> {
                byte[] buf = new byte[8192];
                try {
                    for (int n = in.read(buf); n >= 0; n = in.read(buf)) {
                        synchronized (this) {
                            text.append(new String(buf, 0, n, StandardCharsets.UTF_8));
                            notifyAll();
                        }
                    }
                } catch (IOException ignored) {
                    // jshell ended
                }
                synchronized (this) {
                    ended = true;
                    notifyAll();
                }
            }, "jshell-output");
            t.setDaemon(true);
            t.start();
        }

        /** The output up to the next prompt (after the last one consumed), the prompt excluded. */
        synchronized String awaitPrompt(Duration timeout) throws InterruptedException {
            long deadline = System.nanoTime() + timeout.toNanos();
            while (true) {
                int at = text.indexOf(PROMPT, consumed);
                if (at >= 0) {
                    String s = text.substring(consumed, at);
                    consumed = at + PROMPT.length();
                    return s;
                }
                long left = deadline - System.nanoTime();
                if (ended || left <= 0) {
                    throw new AssertionError("no jshell prompt within " + timeout + "; output:\n" + text);
                }
                wait(Math.max(1, left / 1_000_000));
            }
        }

        /** The rest of the output, once jshell closed it. */
        synchronized String awaitEnd(Duration timeout) throws InterruptedException {
            long deadline = System.nanoTime() + timeout.toNanos();
            while (!ended) {
                long left = deadline - System.nanoTime();
                if (left <= 0) {
                    throw new AssertionError("jshell did not end within " + timeout + "; output:\n" + text);
                }
                wait(Math.max(1, left / 1_000_000));
            }
            return text.substring(consumed);
        }

        synchronized String text() {
            return text.toString();
        }
    }
}
