package io.forksafe.bench;

import io.forksafe.ForkEvent;
import io.forksafe.ForkRegistry;
import io.forksafe.jetty.ForksafeJetty;

import java.util.concurrent.TimeUnit;
import org.eclipse.jetty.util.thread.QueuedThreadPool;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;
import org.openjdk.jmh.infra.Blackhole;

/**
 * What forksafe adds to one Jetty worker thread's life: create (Jetty's {@code newThread}), start, run an empty task,
 * end, with a plain {@link QueuedThreadPool} against the forksafe pool (PreFork, PostFork and WorkerExit published to
 * {@code subscribers} empty hooks). Thread creation itself dominates; the difference is forksafe's cost per thread.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(1)
public class JettyThreadBenchmark {

    @Param({"0", "1"})
    public int subscribers;

    private QueuedThreadPool plain;
    private QueuedThreadPool hooked;

    @Setup
    public void setUp(Blackhole bh) {
        plain = new QueuedThreadPool();
        ForkRegistry registry = new ForkRegistry("bench-jetty");
        for (int i = 0; i < subscribers; i++) {
            registry.subscribe(ForkEvent.class, "bench-" + i, 0, bh::consume);
        }
        hooked = ForksafeJetty.threadPool(registry);
    }

    @Benchmark
    public void plainJettyThread() throws InterruptedException {
        Thread t = plain.newThread(() -> { });
        t.start();
        t.join();
    }

    @Benchmark
    public void forksafeJettyThread() throws InterruptedException {
        Thread t = hooked.newThread(() -> { });
        t.start();
        t.join();
    }
}
