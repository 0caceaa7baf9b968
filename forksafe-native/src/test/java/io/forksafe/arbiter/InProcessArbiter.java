package io.forksafe.arbiter;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;

import io.forksafe.ForkRegistry;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.function.Consumer;
import java.util.function.Predicate;

/**
 * An {@link Arbiter} running in the test JVM, its console captured: bounded waits on its worker table, its status
 * JSON, and a stop that must finish. The preload tests of forksafe-native and integration-tests share it.
 */
public final class InProcessArbiter implements AutoCloseable {

    /** Worker JVM options that keep the tests fast. */
    public static final List<String> FAST_JVM = List.of("-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1", "-Xshare:auto");

    public final Arbiter arbiter;
    private final ByteArrayOutputStream console = new ByteArrayOutputStream();

    /** An arbiter from {@code config}, which this sets up to print to the captured console. */
    public InProcessArbiter(ArbiterConfig.Builder config, ForkRegistry registry) {
        PrintStream out = new PrintStream(console, true, StandardCharsets.UTF_8);
        this.arbiter = Arbiter.create(config.console(out, out).build(), registry);
    }

    /**
     * A preload-mode configuration with the tests' defaults: 2 workers on 127.0.0.1:{@code port}, fast JVM options,
     * 60 s boot timeout, 5 s graceful timeout, a status port; {@code customize} changes the rest.
     */
    public static ArbiterConfig.Builder preload(int port, String mainClass, List<String> args,
                                                Consumer<ArbiterConfig.Builder> customize) {
        ArbiterConfig.Builder b = ArbiterConfig.builder()
                .preload(true)
                .workers(2)
                .bind("127.0.0.1:" + port)
                .app(mainClass, args)
                .jvmOptions(FAST_JVM)
                .bootTimeout(Duration.ofSeconds(60))
                .gracefulTimeout(Duration.ofSeconds(5))
                .statusPort(0);
        customize.accept(b);
        return b;
    }

    public InProcessArbiter start() throws IOException {
        arbiter.start();
        return this;
    }

    public String output() {
        return console.toString(StandardCharsets.UTF_8);
    }

    /** The worker table once it matches {@code p}, waiting at most 60 s (fails with the output otherwise). */
    public List<Arbiter.WorkerStatus> await(Predicate<List<Arbiter.WorkerStatus>> p, String what) throws Exception {
        long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
        List<Arbiter.WorkerStatus> ws = arbiter.workers();
        while (!p.test(ws) && System.nanoTime() < deadline) {
            Thread.sleep(20);
            ws = arbiter.workers();
        }
        assertThat(p.test(ws)).as("%s: workers %s; output:%n%s", what, ws, output()).isTrue();
        return ws;
    }

    public List<Arbiter.WorkerStatus> awaitReady(int n) throws Exception {
        return await(ws -> ready(ws, n), n + " ready workers");
    }

    public static boolean ready(List<Arbiter.WorkerStatus> ws, int n) {
        return ws.size() == n && ws.stream().allMatch(w -> w.state().equals("ready"));
    }

    public JsonNode status() throws IOException {
        return ArbiterRun.parse(TestHttp.body(arbiter.statusAddress().getPort(), "/"));
    }

    public JsonNode arbiterStatus() throws IOException {
        return status().path("details").path("arbiter");
    }

    @Override
    public void close() throws Exception {
        arbiter.stop();
        assertThat(arbiter.join(Duration.ofSeconds(30))).as("stopped; output:%n%s", output()).isTrue();
    }
}
