package io.forksafe.recipes;

import io.forksafe.ForkRegistry;
import io.forksafe.ForksafeStatus;
import io.forksafe.WorkerKind;
import io.forksafe.testing.ForkSimulator;

import org.junit.jupiter.api.Test;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.time.Instant;
import java.util.Arrays;
import java.util.Random;
import java.util.UUID;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicInteger;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The JVM cannot copy itself in a test, so a "copy" is two generators in the same state: what every restored copy of
 * one snapshot holds. Deterministic SHA1PRNG instances seeded alike before first use are exactly that.
 */
class RandomRecipesTest {

    private static SecureRandom sameStateAs(String seed) throws Exception {
        SecureRandom r = SecureRandom.getInstance("SHA1PRNG");
        r.setSeed(seed.getBytes(StandardCharsets.UTF_8)); // before first use: fully deterministic
        return r;
    }

    private static byte[] next(SecureRandom r) {
        byte[] b = new byte[32];
        r.nextBytes(b);
        return b;
    }

    @Test
    void twoCopiesOfOneGeneratorRepeatEachOtherUntilReseeded() throws Exception {
        // Control: without the recipe, the two "copies" produce the same bytes.
        SecureRandom a = sameStateAs("snapshot");
        SecureRandom b = sameStateAs("snapshot");
        assertThat(next(a)).isEqualTo(next(b));

        // Each restored copy runs the recipe in its own process; here copy B is restored with the recipe.
        ForkRegistry copyB = new ForkRegistry("copy-b");
        RandomReseed reseed = RandomReseed.install(copyB, b);
        ForkSimulator.of(copyB).simulateRestore(0);

        assertThat(reseed.reseeds()).isEqualTo(1);
        assertThat(next(a)).isNotEqualTo(next(b));
        assertThat(copyB.status().details().get("RandomReseed").toString()).contains("reseeds=1");
    }

    @Test
    void twoCopiesOfOneSameSeededJavaUtilRandomDivergeAfterTheEvent() {
        // Control: two copies of a java.util.Random in one state repeat each other.
        assertThat(new Random(42).longs(4).toArray()).isEqualTo(new Random(42).longs(4).toArray());

        // Each copy is its own process with its own registry; both run the recipe on their PostFork.
        Random inCopyA = new Random(42);
        Random inCopyB = new Random(42);
        ForkRegistry copyA = new ForkRegistry("copy-a");
        ForkRegistry copyB = new ForkRegistry("copy-b");
        RandomReseed.install(copyA, inCopyA);
        RandomReseed reseedB = RandomReseed.install(copyB, inCopyB);
        ForkSimulator.of(copyA).simulateWorker(WorkerKind.PROCESS, 1);
        ForkSimulator.of(copyB).simulateWorker(WorkerKind.PROCESS, 2);

        assertThat(reseedB.reseeds()).isEqualTo(1);
        long[] a = inCopyA.longs(4).toArray();
        assertThat(a).isNotEqualTo(inCopyB.longs(4).toArray())
                .isNotEqualTo(new Random(42).longs(4).toArray());
    }

    @Test
    void aPlainRandomRestartsFromALongOfTheEntropySource() {
        byte[] entropy = {1, 2, 3, 4, 5, 6, 7, 8};
        Random random = new Random(42);
        ForkRegistry registry = new ForkRegistry("plain-random");
        RandomReseed.install(registry, n -> Arrays.copyOf(entropy, n), random);
        ForkSimulator.of(registry).simulateRestore(0);

        Random expected = new Random(ByteBuffer.wrap(entropy).getLong());
        assertThat(random.longs(4).toArray()).isEqualTo(expected.longs(4).toArray());
    }

    @Test
    void aSecureRandomsStateIsAddedToNotReplaced() throws Exception {
        byte[] entropy = new byte[RandomReseed.SEED_BYTES];
        Arrays.fill(entropy, (byte) 9);
        SecureRandom reseeded = sameStateAs("snapshot");
        ForkRegistry registry = new ForkRegistry("secure-random");
        RandomReseed.install(registry, n -> Arrays.copyOf(entropy, n), reseeded);
        ForkSimulator.of(registry).simulateRestore(0);

        SecureRandom supplemented = sameStateAs("snapshot");
        supplemented.setSeed(entropy);                  // the old state plus the fresh bytes
        SecureRandom replaced = SecureRandom.getInstance("SHA1PRNG");
        replaced.setSeed(entropy);                      // the fresh bytes alone
        byte[] out = next(reseeded);
        assertThat(out).isEqualTo(next(supplemented)).isNotEqualTo(next(replaced))
                .isNotEqualTo(next(sameStateAs("snapshot")));
    }

    @Test
    void threadLocalRandomIsRefusedAtInstallWithTheFix() {
        ForkRegistry registry = new ForkRegistry("tlr");
        assertThatThrownBy(() -> RandomReseed.install(registry, new Random(), ThreadLocalRandom.current()))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("cannot reseed ThreadLocalRandom")
                .hasMessageContaining("new SecureRandom()");
        assertThat(registry.subscriptions()).as("nothing half-installed").isEmpty();

        RandomReseed reseed = RandomReseed.install(registry);
        assertThatThrownBy(() -> reseed.add(ThreadLocalRandom.current()))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> reseed.add(null)).isInstanceOf(NullPointerException.class);
    }

    @Test
    void reseedsOnlyForProcessCopiesEarlyAndWithTheGivenEntropy() throws Exception {
        ForkRegistry registry = new ForkRegistry("reseed");
        AtomicInteger entropyCalls = new AtomicInteger();
        SecureRandom r = sameStateAs("x");
        RandomReseed reseed = RandomReseed.install(registry, n -> {
            entropyCalls.incrementAndGet();
            byte[] b = new byte[n];
            Arrays.fill(b, (byte) 7);
            return b;
        }, r);
        // a PostFork hook subscribed later but with the default order must already see a reseeded generator
        long[] seenInHook = new long[1];
        registry.subscribe(io.forksafe.PostFork.class, e -> seenInHook[0] = reseed.reseeds());

        ForkSimulator.of(registry).simulateWorker(WorkerKind.THREAD, 1);
        assertThat(entropyCalls).hasValue(0);
        ForkSimulator.of(registry).simulateWorker(WorkerKind.PROCESS, 1);
        assertThat(entropyCalls).hasValue(1);
        assertThat(seenInHook[0]).isEqualTo(1);
        ForkSimulator.of(registry).simulateRestore(0);
        assertThat(entropyCalls).hasValue(2);

        reseed.close();
        ForkSimulator.of(registry).simulateRestore(0);
        assertThat(entropyCalls).hasValue(2);
    }

    @Test
    void emptyEntropyFailsLoudly() {
        ForkRegistry registry = new ForkRegistry("no-entropy");
        RandomReseed.install(registry, n -> new byte[0], new SecureRandom());
        assertThatThrownBy(() -> ForkSimulator.of(registry).simulateRestore(0))
                .hasStackTraceContaining("the generators were NOT reseeded");
    }

    @Test
    void osEntropyGivesFreshBytes() {
        assertThat(RandomReseed.osEntropy(32)).hasSize(32).isNotEqualTo(RandomReseed.osEntropy(32));
    }

    @Test
    void copyCheckWarnsWhenAUuidATimestampOrARandomMadeBeforeTheCopyIsUsedAfterIt() {
        ForkRegistry registry = new ForkRegistry("copy-check");
        CopyCheck check = CopyCheck.install(registry);
        // the SnapStart bug patterns: values captured in static or constructor state during initialization
        CopyCheck.Captured<UUID> instanceId = check.capture("instance-id", UUID.randomUUID());
        CopyCheck.Captured<Instant> startedAt = check.capture("started-at", Instant.now());
        Random jitter = check.random("retry-jitter", new Random(42));
        Random control = new Random(42);

        // used before the copy: fine, no finding
        instanceId.get();
        assertThat(jitter.nextInt(1000)).isEqualTo(control.nextInt(1000)); // behaves exactly like the original
        assertThat(check.findings()).isEmpty();

        ForkSimulator.of(registry).simulateRestore(0);
        assertThat(check.copies()).isEqualTo(1);
        assertThat(instanceId.isFromEarlierCopy()).isTrue();

        instanceId.get();
        instanceId.get();
        assertThat(jitter.nextLong()).isEqualTo(control.nextLong());
        assertThat(check.findings()).extracting(CopyCheck.Finding::name)
                .containsExactlyInAnyOrder("instance-id", "retry-jitter");
        CopyCheck.Finding uuid = check.findings().stream().filter(f -> f.name().equals("instance-id")).findFirst()
                .orElseThrow();
        assertThat(uuid.type()).isEqualTo("java.util.UUID");
        assertThat(uuid.createdInCopy()).isZero();
        assertThat(uuid.lastUsedInCopy()).isEqualTo(1);
        assertThat(uuid.usesAfterCopy()).isEqualTo(2);
        assertThat(uuid.firstUseLocation()).startsWith(RandomRecipesTest.class.getName() + ".copyCheckWarns");

        ForksafeStatus status = registry.status();
        assertThat(status.notes().get("copyCheck.instance-id"))
                .contains("UUID 'instance-id' was made before a copy", "every copy of the process shares this value");
        assertThat(status.notes().get("copyCheck.retry-jitter")).contains("Random 'retry-jitter'");
        assertThat(status.notes()).doesNotContainKey("copyCheck.started-at"); // captured but not used after the copy
        assertThat(status.toJson()).contains("\"findings\"", "\"usesAfterCopy\": 2");

        // a value made after the copy is fine
        CopyCheck.Captured<UUID> fresh = check.capture("fresh-id", UUID.randomUUID());
        fresh.get();
        assertThat(check.findings()).extracting(CopyCheck.Finding::name).doesNotContain("fresh-id");
        assertThat(startedAt.name()).isEqualTo("started-at");
    }

    @Test
    void copyCheckCountsOnlyRestoresBecauseThreadsAndWorkerProcessesCopyNothing() {
        ForkRegistry registry = new ForkRegistry("copy-check-threads");
        CopyCheck check = CopyCheck.install(registry);
        CopyCheck.Captured<UUID> id = check.capture("id", UUID.randomUUID());
        ForkSimulator.of(registry).simulateWorker(WorkerKind.THREAD, 1);
        ForkSimulator.of(registry).simulateWorker(WorkerKind.PROCESS, 1);
        id.get();
        assertThat(check.copies()).isZero();
        assertThat(check.findings()).isEmpty();
        assertThat(registry.status().details()).containsKey("CopyCheck");
    }

    @Test
    void forkSafeRandomReseedsItselfOnFirstUseInANewCopy() {
        ForkRegistry registry = new ForkRegistry("fork-safe-random");
        CopyCheck check = CopyCheck.install(registry);
        ForkSafeRandom random = new ForkSafeRandom(check);
        random.nextInt();
        assertThat(random.reseeds()).isZero();

        // Simulate two copies of one snapshot: the same seed in both, then a restore in each.
        random.setSeed(1234);
        Random copied = new Random(1234);
        ForkSimulator.of(registry).simulateRestore(0);
        // Without the reseed, the next values would equal the copied generator's; with it they differ.
        long[] fromForkSafe = random.longs(4).toArray();
        long[] fromCopy = copied.longs(4).toArray();
        assertThat(fromForkSafe).isNotEqualTo(fromCopy);
        assertThat(random.reseeds()).isEqualTo(1);
        random.nextInt();
        assertThat(random.reseeds()).as("once per copy").isEqualTo(1);
    }
}
