package io.forksafe;

import static org.assertj.core.api.Assertions.assertThat;

import io.forksafe.spi.HostContext;

import java.util.concurrent.atomic.AtomicInteger;

import org.junit.jupiter.api.Test;

/** The static entry point delegates to one process-wide registry. */
class ForksafeFacadeTest {

    @Test
    void thereIsOneGlobalRegistryAndEveryCallGoesToIt() {
        ForkRegistry global = Forksafe.registry();
        assertThat(global.name()).isEqualTo("global");
        assertThat(Forksafe.registry()).isSameAs(global);
        assertThat(Forksafe.globalIfCreated()).isSameAs(global);

        AtomicInteger runs = new AtomicInteger();
        try (Subscription s = Forksafe.subscribe(PostWorkerInit.class, 7, e -> runs.incrementAndGet())) {
            assertThat(s.order()).isEqualTo(7);
            assertThat(s.eventType()).isEqualTo(PostWorkerInit.class);
            assertThat(global.subscriptions()).contains(s);
            HostContext.of(global).postWorkerInit(TestWorkers.process(40), TestWorkers.TEST_HOST);
            assertThat(runs).hasValue(1);
        }

        // the global registry outlives this test: a fresh name shows this call, not an earlier one
        String container = "facade-test-" + System.nanoTime();
        Forksafe.markConfigured(container);
        ForksafeStatus status = Forksafe.status();
        assertThat(status.environment()).isEqualTo(container);
        assertThat(status.autoconfigureLog()).contains(container + " mark_configured");
        assertThat(Forksafe.autoconfigure().autoconfigureLog()).contains(container + " mark_configured");
    }
}
