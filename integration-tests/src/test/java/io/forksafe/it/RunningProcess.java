package io.forksafe.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import java.util.stream.Collectors;

/**
 * A real process started by a test, with its output (stdout and stderr merged) captured line by line, bounded waits
 * on that output, signals, and a clean-up that ends it and every process it started.
 */
final class RunningProcess implements AutoCloseable {

    static final Duration WAIT = Duration.ofSeconds(40);

    final Process process;
    private final List<String> lines = Collections.synchronizedList(new ArrayList<>());
    private final List<Long> alsoKill = Collections.synchronizedList(new ArrayList<>());

    private RunningProcess(Process process) {
        this.process = process;
        Thread reader = new Thread(() -> {
            try (BufferedReader in = new BufferedReader(new InputStreamReader(process.getInputStream(),
                    StandardCharsets.UTF_8))) {
                String l;
                while ((l = in.readLine()) != null) {
                    lines.add(l);
                }
            } catch (IOException ignored) {
                // ended
            }
        }, "output-of-" + process.pid());
        reader.setDaemon(true);
        reader.start();
    }

    static RunningProcess start(List<String> command) throws IOException {
        return new RunningProcess(new ProcessBuilder(command).redirectErrorStream(true).start());
    }

    long pid() {
        return process.pid();
    }

    String output() {
        synchronized (lines) {
            return String.join("\n", lines);
        }
    }

    /** The first line that matches, waiting at most {@link #WAIT}. */
    String awaitLine(Predicate<String> p) throws InterruptedException {
        long deadline = System.nanoTime() + WAIT.toNanos();
        while (System.nanoTime() < deadline) {
            synchronized (lines) {
                for (String l : lines) {
                    if (p.test(l)) {
                        return l;
                    }
                }
            }
            Thread.sleep(20);
        }
        throw new AssertionError("no matching line within " + WAIT + "; output:\n" + output());
    }

    long countLines(Predicate<String> p) {
        synchronized (lines) {
            return lines.stream().filter(p).count();
        }
    }

    /** Sends SIG{@code signal} with jnr-posix (no dependency on a kill binary). */
    void signal(String signal) {
        kill(process.pid(), signal);
    }

    static void kill(long pid, String signal) {
        int rc = jnr.posix.POSIXFactory.getNativePOSIX().kill(pid,
                jnr.constants.platform.Signal.valueOf("SIG" + signal).intValue());
        assertThat(rc).as("kill -%s %d", signal, pid).isZero();
    }

    /** Waits for the exit (bounded) and returns the exit code. */
    int awaitExit(Duration timeout) throws InterruptedException {
        assertThat(process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS))
                .as("exited within %s; output:\n%s", timeout, output()).isTrue();
        return process.exitValue();
    }

    /** Also kill this pid at clean-up (a worker that may outlive its parent in a failed test). */
    void alsoKill(long pid) {
        alsoKill.add(pid);
    }

    @Override
    public void close() throws InterruptedException {
        List<ProcessHandle> family = process.descendants().collect(Collectors.toList());
        if (process.isAlive()) {
            process.destroy();
            if (!process.waitFor(20, TimeUnit.SECONDS)) {
                process.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
            }
        }
        family.forEach(ProcessHandle::destroyForcibly);
        alsoKill.forEach(p -> ProcessHandle.of(p).ifPresent(ProcessHandle::destroyForcibly));
    }
}
