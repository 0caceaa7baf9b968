package io.forksafe.spi;

import java.util.ArrayList;
import java.util.BitSet;
import java.util.List;

/**
 * Hands out stable worker numbers for adapters: the lowest free slot, and a generation that grows every time a slot
 * is filled again. Memory is bounded by the highest number of workers alive at once.
 *
 * <pre>{@code
 * SlotAllocator slots = new SlotAllocator(1);
 * SlotAllocator.Lease lease = slots.acquire();   // slot 1, generation 0
 * slots.release(lease);
 * slots.acquire();                               // slot 1, generation 1
 * }</pre>
 */
public final class SlotAllocator {

    /**
     * A filled slot.
     *
     * @param slot       the worker number
     * @param generation how many times the slot was filled before
     */
    public record Lease(int slot, long generation) {
    }

    private final int firstSlot;
    private final BitSet inUse = new BitSet();
    private final List<Long> generations = new ArrayList<>();

    /** Creates an allocator whose first slot is {@code firstSlot} (0 or 1, typically). */
    public SlotAllocator(int firstSlot) {
        if (firstSlot < 0) {
            throw new IllegalArgumentException("firstSlot must be >= 0, got " + firstSlot);
        }
        this.firstSlot = firstSlot;
    }

    /** Takes the lowest free slot and bumps its generation. */
    public synchronized Lease acquire() {
        int index = inUse.nextClearBit(0);
        inUse.set(index);
        long generation;
        if (index < generations.size()) {
            generation = generations.get(index) + 1;
            generations.set(index, generation);
        } else {
            generation = 0;
            generations.add(0L);
        }
        return new Lease(index + firstSlot, generation);
    }

    /** Frees a slot; releasing a slot twice is harmless. */
    public synchronized void release(Lease lease) {
        release(lease.slot());
    }

    /** Frees a slot by number. */
    public synchronized void release(int slot) {
        int index = slot - firstSlot;
        if (index >= 0) {
            inUse.clear(index);
        }
    }

    /** How many slots are in use. */
    public synchronized int inUse() {
        return inUse.cardinality();
    }
}
