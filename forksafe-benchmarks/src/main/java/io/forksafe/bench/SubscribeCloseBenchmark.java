package io.forksafe.bench;

import io.forksafe.ForkRegistry;
import io.forksafe.PostFork;
import io.forksafe.Subscription;

import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Threads;
import org.openjdk.jmh.annotations.Warmup;

/** Row 2: subscribe + close throughput with two threads contending on one registry (10 standing subscribers). */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(1)
@Threads(2)
public class SubscribeCloseBenchmark {

    private ForkRegistry registry;

    @Setup
    public void setUp() {
        registry = new ForkRegistry("bench");
        for (int i = 0; i < 10; i++) {
            registry.subscribe(PostFork.class, "standing-" + i, i, e -> { });
        }
    }

    @Benchmark
    public Subscription subscribeAndClose() {
        Subscription s = registry.subscribe(PostFork.class, "churn", 5, e -> { });
        s.close();
        return s;
    }
}
