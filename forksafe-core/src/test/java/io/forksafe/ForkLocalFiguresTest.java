package io.forksafe;

import static io.forksafe.TestWorkers.TEST_HOST;
import static org.assertj.core.api.Assertions.assertThat;

import io.forksafe.spi.HostContext;

import java.util.concurrent.atomic.AtomicInteger;

import org.junit.jupiter.api.Test;

/** A ForkLocal's figures as its status and toString show them: presence, epoch, created and closed counts. */
class ForkLocalFiguresTest {

    @Test
    void eachCopiedProcessAndTheCloseStartANewEpoch() {
        ForkRegistry registry = new ForkRegistry("fork-local-figures");
        AtomicInteger made = new AtomicInteger();
        ForkLocal<String> local = ForkLocal.of(registry, "conn", () -> "v" + made.incrementAndGet());
        assertThat(local.name()).isEqualTo("conn");
        assertThat(local.isPresent()).isFalse();
        assertThat(local.toString()).isEqualTo("ForkLocal[conn, epoch 0]");
        assertThat(local.get()).isEqualTo("v1");
        assertThat(local.get()).isEqualTo("v1");
        assertThat(local.isPresent()).isTrue();
        assertThat(local.toString()).isEqualTo("ForkLocal[conn, present, epoch 0]");

        HostContext.of(registry).postFork(TestWorkers.thread(1, 0), TEST_HOST);
        assertThat(local.isPresent()).as("a thread copies nothing").isTrue();
        HostContext.of(registry).postFork(TestWorkers.process(1), TEST_HOST);
        assertThat(local.isPresent()).isFalse();
        assertThat(local.toString()).isEqualTo("ForkLocal[conn, epoch 1]");
        assertThat(local.get()).isEqualTo("v2");
        assertThat(local.createdCount()).isEqualTo(2);
        assertThat(local.closedCount()).isEqualTo(1);

        local.close();
        assertThat(local.toString()).isEqualTo("ForkLocal[conn, epoch 2]");
        assertThat(local.closedCount()).isEqualTo(2);
        local.close();
        assertThat(local.toString()).isEqualTo("ForkLocal[conn, epoch 2]");
    }
}
