package io.forksafe.recipes;

import io.forksafe.spi.HostContext;
import io.forksafe.ForkRegistry;
import io.forksafe.PostFork;
import io.forksafe.Subscription;

import java.nio.ByteBuffer;
import java.security.NoSuchAlgorithmException;
import java.security.SecureRandom;
import java.time.Instant;
import java.util.List;
import java.util.Objects;
import java.util.Random;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.IntFunction;

/**
 * Gives long-lived random generators fresh operating-system entropy right after a copy, so that copies of one
 * process or snapshot stop producing the same "random" numbers: the JVM version of PyCrypto's
 * {@code Random.atfork()}. Works for any {@link Random}:
 * <ul>
 *   <li>a {@link SecureRandom} gets {@link SecureRandom#setSeed(byte[]) setSeed}({@value #SEED_BYTES} fresh bytes),
 *       which <em>supplements</em> its state and never replaces it, so reseeding cannot make it weaker;</li>
 *   <li>any other {@code Random} gets {@link Random#setSeed(long) setSeed}(a long from the same strong source):
 *       its sequence restarts from a value no other copy has.</li>
 * </ul>
 * {@link ThreadLocalRandom} cannot be reseeded (its {@code setSeed} throws) and is refused by {@code install}.
 *
 * <p>Runs on {@link PostFork} of processes and restored copies (never for worker threads, which share the process's
 * memory) with a very low order value, so it runs before the application's own PostFork hooks, which may already
 * need random numbers.
 *
 * <pre>{@code
 * static final SecureRandom TOKENS = new SecureRandom();
 * static final Random JITTER = new Random();
 * RandomReseed.install(Forksafe.registry(), TOKENS, JITTER);
 * }</pre>
 */
public final class RandomReseed implements AutoCloseable {

    /** The order value of the PostFork hook: early, before ordinary subscribers. */
    public static final int ORDER = -1_000_000;

    /** Bytes of fresh entropy mixed into each {@link SecureRandom}. */
    public static final int SEED_BYTES = 32;

    private final ForkRegistry registry;
    private final IntFunction<byte[]> entropy;
    private final List<Random> generators = new CopyOnWriteArrayList<>();
    private final Subscription subscription;
    private final AtomicLong reseeds = new AtomicLong();
    private volatile Instant lastReseed;

    private RandomReseed(ForkRegistry registry, IntFunction<byte[]> entropy, Random... generators) {
        this.registry = Objects.requireNonNull(registry, "registry must not be null");
        this.entropy = Objects.requireNonNull(entropy, "entropy must not be null");
        Objects.requireNonNull(generators, "generators must not be null");
        for (Random r : generators) {
            checkReseedable(r);
        }
        for (Random r : generators) {
            this.generators.add(r);
        }
        this.subscription = registry.subscribe(PostFork.class, "RandomReseed", ORDER, this::reseed);
        HostContext.of(registry).statusDetail(subscription.name(), this::statusDetail);
    }

    /**
     * Reseeds {@code generators} after every copy, with entropy from the operating system.
     *
     * @throws IllegalArgumentException if a generator is a {@link ThreadLocalRandom}
     * @throws NullPointerException if {@code registry} or a generator is null
     */
    public static RandomReseed install(ForkRegistry registry, Random... generators) {
        return new RandomReseed(registry, RandomReseed::osEntropy, generators);
    }

    /**
     * Reseeds {@code generators} after every copy with entropy from {@code entropy} (called with the number of bytes
     * wanted). For tests, or to use a hardware source.
     *
     * @throws IllegalArgumentException if a generator is a {@link ThreadLocalRandom}
     * @throws NullPointerException if an argument or a generator is null
     */
    public static RandomReseed install(ForkRegistry registry, IntFunction<byte[]> entropy, Random... generators) {
        return new RandomReseed(registry, entropy, generators);
    }

    /**
     * Fresh bytes from the operating system, read now: {@code NativePRNGNonBlocking} ({@code /dev/urandom}) where
     * it exists, otherwise {@link SecureRandom#getSeed(int)}.
     */
    public static byte[] osEntropy(int bytes) {
        try {
            return SecureRandom.getInstance("NativePRNGNonBlocking").generateSeed(bytes);
        } catch (NoSuchAlgorithmException e) {
            return SecureRandom.getSeed(bytes);
        }
    }

    /**
     * Adds another generator to reseed; returns this.
     *
     * @throws IllegalArgumentException if {@code generator} is a {@link ThreadLocalRandom}
     */
    public RandomReseed add(Random generator) {
        generators.add(checkReseedable(generator));
        return this;
    }

    /** How many generators were reseeded in total. */
    public long reseeds() {
        return reseeds.get();
    }

    private static Random checkReseedable(Random generator) {
        Objects.requireNonNull(generator, "generator must not be null");
        if (generator instanceof ThreadLocalRandom) {
            throw new IllegalArgumentException("RandomReseed cannot reseed ThreadLocalRandom: its setSeed throws, "
                    + "and its per-thread state is copied with the process. Draw from a generator you own instead "
                    + "and pass that: new SecureRandom() for secrets, new Random() or "
                    + "new ForkSafeRandom(CopyCheck.install(registry)) for the rest");
        }
        return generator;
    }

    private void reseed(PostFork event) {
        if (!Copies.isCopy(event)) {
            return;
        }
        for (Random r : generators) {
            if (r instanceof SecureRandom) {
                ((SecureRandom) r).setSeed(fresh(SEED_BYTES));
            } else {
                r.setSeed(ByteBuffer.wrap(fresh(Long.BYTES)).getLong());
            }
            reseeds.incrementAndGet();
        }
        lastReseed = Instant.now();
    }

    private byte[] fresh(int bytes) {
        byte[] seed = entropy.apply(bytes);
        if (seed == null || seed.length < bytes) {
            throw new IllegalStateException("RandomReseed: the entropy source returned "
                    + (seed == null ? "null" : seed.length + " bytes") + " instead of " + bytes
                    + "; the generators were NOT reseeded and every copy shares their state. "
                    + "Pass an entropy function that returns the number of bytes asked for, or use "
                    + "RandomReseed.install(registry, generators...) for the operating system's");
        }
        return seed;
    }

    /** This recipe's status section, rendered as JSON, text and JMX. */
    public record Status(int generators, long reseeds, Instant lastReseed) {
    }

    private Status statusDetail() {
        return new Status(generators.size(), reseeds.get(), lastReseed);
    }

    /** Stops reseeding. */
    @Override
    public void close() {
        subscription.close();
        HostContext.of(registry).removeStatusDetail(subscription.name());
    }
}
