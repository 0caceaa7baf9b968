package io.forksafe.spi;

import io.forksafe.ForkRegistry;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class ServingGateTest {

    @Test
    void anOpenGateRunsAtOnce() {
        ServingGate gate = ServingGate.of(new ForkRegistry("open"));
        List<String> ran = new ArrayList<>();
        gate.whenServing("a", () -> ran.add("a"));
        assertThat(ran).containsExactly("a");
        assertThat(gate.held()).isFalse();
        assertThat(gate.waiting()).isEmpty();
    }

    @Test
    void aHeldGateQueuesInOrderTellsTheHostAndRunsAllAtThePromotionEvenIfOneFails() {
        ForkRegistry registry = new ForkRegistry("standby");
        ServingGate gate = ServingGate.of(registry);
        assertThat(ServingGate.of(registry)).isSameAs(gate);
        AtomicInteger waitingCalls = new AtomicInteger();
        gate.onWaiting(waitingCalls::incrementAndGet);
        gate.hold();
        List<String> ran = new ArrayList<>();
        gate.whenServing("jetty", () -> ran.add("jetty"));
        gate.whenServing("broken", () -> {
            throw new IllegalStateException("boom");
        });
        gate.whenServing("arbiter", () -> ran.add("arbiter"));
        assertThat(ran).isEmpty();
        assertThat(gate.held()).isTrue();
        assertThat(gate.waiting()).containsExactly("jetty", "broken", "arbiter");
        assertThat(waitingCalls).hasValue(3);

        assertThat(gate.open()).containsExactly("broken: java.lang.IllegalStateException: boom");
        assertThat(ran).containsExactly("jetty", "arbiter");
        assertThat(gate.held()).isFalse();
        assertThat(gate.waiting()).isEmpty();
        gate.whenServing("late", () -> ran.add("late"));
        assertThat(ran).containsExactly("jetty", "arbiter", "late");
        assertThatThrownBy(gate::hold).isInstanceOf(IllegalStateException.class).hasMessageContaining("promoted");
    }

    @Test
    void gatesBelongToTheirRegistry() {
        assertThat(ServingGate.of(new ForkRegistry("a"))).isNotSameAs(ServingGate.of(new ForkRegistry("b")));
    }
}
