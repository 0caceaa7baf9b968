package io.forksafe.bench;

import io.forksafe.spi.HostContext;
import io.forksafe.ContainerInfo;
import io.forksafe.ForkEvent;
import io.forksafe.ForkHook;
import io.forksafe.ForkRegistry;
import io.forksafe.PostWorkerInit;
import io.forksafe.WorkerInfo;

import java.time.Instant;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
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
 * Row 1: publishing one event to N subscribers through the registry, with status bookkeeping on, against a plain
 * loop calling the same N {@link Consumer}s. Each subscriber does {@code work} JMH CPU tokens, so the ratio can be read
 * for empty hooks and for hooks that do a little work, as real ones do.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(1)
public class PublishBenchmark {

    @Param({"1", "10", "100"})
    public int subscribers;

    @Param({"0", "20"})
    public int work;

    private Consumer<ForkEvent>[] consumers;
    private ForkHook<ForkEvent>[] hooks;
    private ForkRegistry registry;
    HostContext host; // what an adapter holds: the registry's host side
    private ForkEvent event;

    @Setup
    @SuppressWarnings("unchecked")
    public void setUp(Blackhole bh) {
        consumers = new Consumer[subscribers];
        hooks = new ForkHook[subscribers];
        registry = new ForkRegistry("bench");
        host = HostContext.of(registry);
        int tokens = work;
        for (int i = 0; i < subscribers; i++) {
            Consumer<ForkEvent> c = e -> {
                bh.consume(e);
                if (tokens > 0) {
                    Blackhole.consumeCPU(tokens);
                }
            };
            consumers[i] = c;
            hooks[i] = c::accept;
            registry.subscribe(PostWorkerInit.class, "hook-" + i, 0, hooks[i]);
        }
        WorkerInfo worker = WorkerInfo.thread(1, "bench-worker", 0);
        event = new PostWorkerInit(worker, ContainerInfo.of("bench", "1"), Map.of(), Instant.now());
    }

    @Benchmark
    public void baselinePlainLoop() {
        ForkEvent e = event;
        for (Consumer<ForkEvent> c : consumers) {
            c.accept(e);
        }
    }

    /**
     * Diagnostic, not a target: the very hook objects forksafe calls (each wraps its Consumer), in a plain loop. The
     * gap between this and {@link #baselinePlainLoop} is the hooks' own indirection; the gap between this and
     * {@link #forksafePublish} is forksafe's ordering, isolation and bookkeeping.
     */
    @Benchmark
    public void sameHooksPlainLoop() throws Exception {
        ForkEvent e = event;
        for (ForkHook<ForkEvent> h : hooks) {
            h.onEvent(e);
        }
    }

    @Benchmark
    public void forksafePublish() {
        host.publish(event);
    }
}
