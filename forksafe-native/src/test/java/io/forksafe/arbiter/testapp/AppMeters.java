package io.forksafe.arbiter.testapp;

import io.forksafe.ForkEvent;
import io.forksafe.ForkRegistry;
import io.forksafe.arbiter.ArbiterMetricsBinder;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;

import java.time.Duration;

/**
 * A worker's own Micrometer meters, exported to the arbiter with {@link ArbiterMetricsBinder}: a counter of the
 * forksafe events this worker saw, a gauge of its slot, a timer with one recording of 250 ms, and a counter whose tag
 * value is hostile (quotes, a backslash, a newline).
 */
public final class AppMeters {

    /** The hostile tag value of {@code testapp.tagged}. */
    public static final String HOSTILE_TAG = "a \"quoted\" back\\slash\nnew line";

    private AppMeters() {
    }

    static void bind(ForkRegistry registry, int slot) {
        MeterRegistry meters = new SimpleMeterRegistry();
        Counter events = meters.counter("testapp.events");
        registry.subscribe(ForkEvent.class, "testapp.metrics.events", 0, e -> events.increment());
        events.increment();
        meters.gauge("testapp.slot", slot);
        Timer.builder("testapp.boot").register(meters).record(Duration.ofMillis(250));
        meters.counter("testapp.tagged", "text", HOSTILE_TAG).increment(3);
        new ArbiterMetricsBinder(registry).bindTo(meters);
    }
}
