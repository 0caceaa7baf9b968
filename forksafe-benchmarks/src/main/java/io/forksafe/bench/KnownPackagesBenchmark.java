package io.forksafe.bench;

import io.forksafe.ForkLocal;
import io.forksafe.ForkRegistry;
import io.forksafe.recipes.CopyCheck;
import io.forksafe.recipes.ForkSafeRandom;

import java.util.Random;
import java.util.UUID;
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
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * The per-use cost of the known-package helpers on their hot path (no copy happening): {@code ForkLocal.get()}
 * against reading a volatile field, {@code CopyCheck.Captured.get()} against the bare value, and
 * {@code ForkSafeRandom.nextInt()} against {@code java.util.Random.nextInt()}. Run with several threads too
 * ({@code -t 2}): all of them are lock-free once the value exists.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(1)
public class KnownPackagesBenchmark {

    private ForkRegistry registry;
    private ForkLocal<Object> forkLocal;
    private volatile Object plainVolatile;
    private CopyCheck check;
    private CopyCheck.Captured<UUID> captured;
    private UUID bare;
    private Random random;
    private ForkSafeRandom forkSafeRandom;

    @Setup
    public void setUp() {
        registry = new ForkRegistry("bench-known-packages");
        forkLocal = ForkLocal.of(registry, "bench", Object::new);
        forkLocal.get();
        plainVolatile = new Object();
        check = CopyCheck.install(registry);
        bare = UUID.randomUUID();
        captured = check.capture("bench-id", bare);
        random = new Random();
        forkSafeRandom = new ForkSafeRandom(check);
    }

    @TearDown
    public void tearDown() {
        forkLocal.close();
        check.close();
    }

    @Benchmark
    public Object forkLocalGet() {
        return forkLocal.get();
    }

    @Benchmark
    public Object volatileFieldRead() {
        return plainVolatile;
    }

    @Benchmark
    public UUID capturedGet() {
        return captured.get();
    }

    @Benchmark
    public UUID bareValue() {
        return bare;
    }

    @Benchmark
    public int forkSafeRandomNextInt() {
        return forkSafeRandom.nextInt();
    }

    @Benchmark
    public int randomNextInt() {
        return random.nextInt();
    }
}
