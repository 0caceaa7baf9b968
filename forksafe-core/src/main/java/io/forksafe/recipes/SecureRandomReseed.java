package io.forksafe.recipes;

import io.forksafe.ForkRegistry;
import io.forksafe.PostFork;
import io.forksafe.Subscription;

import java.security.NoSuchAlgorithmException;
import java.security.SecureRandom;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.IntFunction;

/**
 * Mixes fresh operating-system entropy into long-lived {@link SecureRandom} instances right after a copy, so that
 * restored copies of one snapshot stop producing the same "random" bytes: the JVM version of PyCrypto's
 * {@code Random.atfork()}. {@link SecureRandom#setSeed(byte[])} <em>supplements</em> the state, it never replaces it,
 * so reseeding cannot make a generator weaker.
 *
 * <p>Runs on {@link PostFork} of processes and restored copies (never for worker threads) with a very low order
 * value, so it runs before the application's own PostFork hooks, which may already need random numbers.
 *
 * <pre>{@code
 * static final SecureRandom TOKENS = new SecureRandom();
 * SecureRandomReseed.install(Forksafe.registry(), TOKENS);
 * }</pre>
 */
public final class SecureRandomReseed implements AutoCloseable {

    /** The order value of the PostFork hook: early, before ordinary subscribers. */
    public static final int ORDER = -1_000_000;

    /** Bytes of fresh entropy mixed into each generator. */
    public static final int SEED_BYTES = 32;

    private final ForkRegistry registry;
    private final IntFunction<byte[]> entropy;
    private final List<SecureRandom> randoms = new CopyOnWriteArrayList<>();
    private final Subscription subscription;
    private final AtomicLong reseeds = new AtomicLong();
    private volatile Instant lastReseed;

    private SecureRandomReseed(ForkRegistry registry, IntFunction<byte[]> entropy, SecureRandom... randoms) {
        this.registry = Objects.requireNonNull(registry, "registry must not be null");
        this.entropy = Objects.requireNonNull(entropy, "entropy must not be null");
        for (SecureRandom r : randoms) {
            add(r);
        }
        this.subscription = registry.subscribe(PostFork.class, "SecureRandomReseed", ORDER, this::reseed);
        registry.statusDetail(subscription.name(), this::statusDetail);
    }

    /** Reseeds {@code randoms} after every copy, with entropy from the operating system. */
    public static SecureRandomReseed install(ForkRegistry registry, SecureRandom... randoms) {
        return new SecureRandomReseed(registry, SecureRandomReseed::osEntropy, randoms);
    }

    /**
     * Reseeds {@code randoms} after every copy with entropy from {@code entropy} (called with the number of bytes
     * wanted). For tests, or to use a hardware source.
     */
    public static SecureRandomReseed install(ForkRegistry registry, IntFunction<byte[]> entropy,
                                             SecureRandom... randoms) {
        return new SecureRandomReseed(registry, entropy, randoms);
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

    /** Adds another generator to reseed; returns this. */
    public SecureRandomReseed add(SecureRandom random) {
        randoms.add(Objects.requireNonNull(random, "random must not be null"));
        return this;
    }

    /** How many generators were reseeded in total. */
    public long reseeds() {
        return reseeds.get();
    }

    private void reseed(PostFork event) {
        if (!Copies.isCopy(event)) {
            return;
        }
        for (SecureRandom r : randoms) {
            byte[] seed = entropy.apply(SEED_BYTES);
            if (seed == null || seed.length == 0) {
                throw new IllegalStateException("SecureRandomReseed: the entropy source returned no bytes; "
                        + "the generators were NOT reseeded and every copy shares their state");
            }
            r.setSeed(seed);
            reseeds.incrementAndGet();
        }
        lastReseed = Instant.now();
    }

    private Map<String, Object> statusDetail() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("generators", randoms.size());
        m.put("reseeds", reseeds.get());
        m.put("lastReseed", lastReseed);
        return m;
    }

    /** Stops reseeding. */
    @Override
    public void close() {
        subscription.close();
        registry.removeStatusDetail(subscription.name());
    }
}
