package io.forksafe.spi;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.forksafe.ContainerInfo;
import io.forksafe.WorkerInfo;
import io.forksafe.WorkerKind;

import org.junit.jupiter.api.Test;

class SlotAllocatorTest {

    @Test
    void reusesTheLowestFreeSlotWithANewGeneration() {
        SlotAllocator slots = new SlotAllocator(1);
        SlotAllocator.Lease a = slots.acquire();
        SlotAllocator.Lease b = slots.acquire();
        SlotAllocator.Lease c = slots.acquire();
        assertThat(a).isEqualTo(new SlotAllocator.Lease(1, 0));
        assertThat(b).isEqualTo(new SlotAllocator.Lease(2, 0));
        assertThat(c).isEqualTo(new SlotAllocator.Lease(3, 0));
        slots.release(b);
        slots.release(b);
        assertThat(slots.inUse()).isEqualTo(2);
        assertThat(slots.acquire()).isEqualTo(new SlotAllocator.Lease(2, 1));
        assertThat(slots.acquire()).isEqualTo(new SlotAllocator.Lease(4, 0));
    }

    @Test
    void rejectsNegativeFirstSlot() {
        assertThatThrownBy(() -> new SlotAllocator(-1)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("firstSlot");
    }

    @Test
    void workerInfoValidatesItsFields() {
        assertThatThrownBy(() -> new WorkerInfo(-1, "x", WorkerKind.THREAD, 1, 1, 0))
                .hasMessageContaining("slot must be >= 0");
        assertThatThrownBy(() -> ContainerInfo.of(" ", "1")).hasMessageContaining("must not be blank");
        assertThat(ContainerInfo.of("jetty", "12.1.14")).hasToString("jetty 12.1.14");
        assertThat(ContainerInfo.of("jetty", null)).hasToString("jetty");
    }
}
