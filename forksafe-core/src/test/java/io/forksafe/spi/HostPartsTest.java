package io.forksafe.spi;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.forksafe.ForkRegistry;

import org.junit.jupiter.api.Test;

/** Small host-side rules: the next free status-section name and the first slot. */
class HostPartsTest {

    @Test
    void aSecondServerOfTheSameHostGetsTheNextFreeSectionName() {
        ForkRegistry registry = new ForkRegistry("parts");
        HostContext host = HostContext.of(registry);
        assertThat(HostContext.freeDetailKey(registry, "jetty")).isEqualTo("jetty");
        host.statusDetail("jetty", () -> "a");
        assertThat(HostContext.freeDetailKey(registry, "jetty")).isEqualTo("jetty-2");
        host.statusDetail("jetty-2", () -> "b");
        host.statusDetail("jetty-4", () -> "d");
        assertThat(HostContext.freeDetailKey(registry, "jetty")).isEqualTo("jetty-3");
        host.statusDetail("jetty-3", () -> "c");
        assertThat(HostContext.freeDetailKey(registry, "jetty")).isEqualTo("jetty-5");
    }

    @Test
    void slotsMayStartAtZero() {
        SlotAllocator slots = new SlotAllocator(0);
        assertThat(slots.acquire()).isEqualTo(new SlotAllocator.Lease(0, 0));
        slots.release(-1);
        assertThat(slots.inUse()).isEqualTo(1);
        slots.release(0);
        assertThat(slots.inUse()).isZero();
        assertThatThrownBy(() -> new SlotAllocator(-1))
                .hasMessage("firstSlot must be >= 0, got -1");
    }
}
