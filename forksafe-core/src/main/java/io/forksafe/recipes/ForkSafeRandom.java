package io.forksafe.recipes;

import java.nio.ByteBuffer;
import java.util.Objects;
import java.util.Random;

/**
 * A drop-in {@link Random} for values that must differ between copies of the process (retry jitter, sampling,
 * non-secret ids): the first time it is used after a restore (as counted by a {@link CopyCheck}), it reseeds itself
 * from operating-system entropy, so copies restored from one snapshot do not repeat each other's sequences. Thread-safe like {@code Random}. Not for
 * secrets: use {@link java.security.SecureRandom} (and {@link RandomReseed}) for those.
 *
 * <pre>{@code
 * static final CopyCheck CHECK = CopyCheck.install(Forksafe.registry());
 * static final Random JITTER = new ForkSafeRandom(CHECK);
 * }</pre>
 */
public final class ForkSafeRandom extends Random {

    private static final long serialVersionUID = 1L;

    private final transient CopyCheck copies;
    private final transient Object reseedLock = new Object();
    private transient volatile long seededInCopy;
    private transient volatile long reseeds;

    /** A generator seeded from operating-system entropy, reseeded after every copy that {@code copies} counts. */
    public ForkSafeRandom(CopyCheck copies) {
        super(freshSeed());
        this.copies = Objects.requireNonNull(copies, "copies must not be null: pass CopyCheck.install(registry)");
        this.seededInCopy = copies.copies();
    }

    private static long freshSeed() {
        return ByteBuffer.wrap(RandomReseed.osEntropy(Long.BYTES)).getLong();
    }

    @Override
    protected int next(int bits) {
        long now = copies.copies();
        if (now != seededInCopy) {
            synchronized (reseedLock) {
                if (now != seededInCopy) {
                    super.setSeed(freshSeed());
                    reseeds++;
                    seededInCopy = now;
                }
            }
        }
        return super.next(bits);
    }

    /** How many times it reseeded itself after a copy. */
    public long reseeds() {
        return reseeds;
    }
}
