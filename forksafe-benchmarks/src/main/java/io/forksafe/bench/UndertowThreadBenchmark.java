package io.forksafe.bench;

import io.forksafe.ContainerInfo;
import io.forksafe.ForkEvent;
import io.forksafe.ForkRegistry;
import io.forksafe.spi.SlotAllocator;
import io.forksafe.undertow.internal.HookedThreadPool;

import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.jboss.threads.EnhancedQueueExecutor;
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
 * Row 3 (Undertow): one task-pool worker thread's life (the pool creates and starts it for the first task, the task
 * runs, the pool shuts down and the thread ends) in a plain one-thread {@link EnhancedQueueExecutor} (what XNIO uses
 * for a bare Undertow) against the executor forksafe gives XNIO ({@link HookedThreadPool}: PreFork, PostForkParent, PostFork and WorkerExit published to
 * {@code subscribers} hooks). Both wait until the thread has ended.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(1)
public class UndertowThreadBenchmark {

    @Param({"0", "1"})
    public int subscribers;

    private ForkRegistry registry;
    private SlotAllocator slots;
    private ContainerInfo container;

    @Setup
    public void setUp(Blackhole bh) {
        registry = new ForkRegistry("bench-undertow");
        for (int i = 0; i < subscribers; i++) {
            registry.subscribe(ForkEvent.class, "bench-" + i, 0, bh::consume);
        }
        slots = new SlotAllocator(1);
        container = ContainerInfo.of("undertow", "2.3.26.Final");
    }

    @Benchmark
    public void plainExecutorThread() throws InterruptedException {
        AtomicReference<Thread> created = new AtomicReference<>();
        EnhancedQueueExecutor pool = new EnhancedQueueExecutor.Builder()
                .setCorePoolSize(1)
                .setMaximumPoolSize(1)
                .setKeepAliveTime(60, TimeUnit.SECONDS)
                .setRegisterMBean(false)
                .setThreadFactory(r -> {
                    Thread t = new Thread(r, "plain task-1");
                    created.set(t);
                    return t;
                })
                .build();
        pool.execute(() -> { });
        pool.shutdown();
        created.get().join(10_000);
    }

    @Benchmark
    public void forksafeExecutorThread() throws InterruptedException {
        HookedThreadPool pool = new HookedThreadPool("bench", 1, 0, registry, container, slots);
        pool.execute(() -> { });
        if (!pool.shutdownAndJoin(10_000)) {
            throw new IllegalStateException("hooked pool thread did not end within 10 s");
        }
    }
}
