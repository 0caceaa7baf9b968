package io.forksafe.recipes;

import io.forksafe.spi.HostContext;
import io.forksafe.ForkRegistry;
import io.forksafe.PostFork;
import io.forksafe.Subscription;
import io.forksafe.WorkerKind;

import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Random;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Reports values that every copy of the process shares by accident: random generators, UUIDs and timestamps made
 * before a copy (a CRaC or SnapStart snapshot, a forking host) and used after it. These are the bug patterns of the
 * AWS SnapStart SpotBugs rules ({@code AWS_LAMBDA_SNAP_START_BUG}: a {@code java.util.Random}, a
 * {@code UUID.randomUUID()} or a timestamp kept in a static field or set in a constructor).
 *
 * <p>Only restores ({@link WorkerKind#RESTORE}) count as copies: they are the one point where a JVM's heap really is
 * copied. A new worker process is a fresh JVM and a new worker thread shares the heap, so neither makes a value
 * "from before the copy".
 *
 * <p>The JVM gives no way to see every {@code new Random()} or {@code UUID.randomUUID()}, so the check is opt-in:
 * wrap the values you keep with {@link #capture} or {@link #random}. Each remembers in which copy it was made; the
 * first use in a later copy adds a warning to the status (a note {@code copyCheck.<name>} naming the code that used
 * it, and the detail section {@code CopyCheck}) and logs it once. Using it stays cheap: one volatile read.
 *
 * <pre>{@code
 * static final CopyCheck CHECK = CopyCheck.install(Forksafe.registry());
 * static final CopyCheck.Captured<UUID> INSTANCE_ID = CHECK.capture("instance-id", UUID.randomUUID());
 * static final Random JITTER = CHECK.random("retry-jitter", new Random());
 * ...
 * log.info("instance {}", INSTANCE_ID.get());  // after a restore: "copyCheck.instance-id" warning in the status
 * }</pre>
 *
 * <p>The fix for each finding: create the value after the copy (in a {@link io.forksafe.PostFork} hook, lazily per
 * request, or with {@link io.forksafe.ForkLocal}); for generators use {@link ForkSafeRandom} or
 * {@link RandomReseed}.
 */
public final class CopyCheck implements AutoCloseable {

    /** The order of the PostFork hook that counts copies: before every ordinary subscriber. */
    public static final int ORDER = Integer.MIN_VALUE + 1;

    /**
     * One value that was made before a copy and used after it.
     *
     * @param name             the name given to {@link #capture} or {@link #random}
     * @param type             the value's class
     * @param createdInCopy    how many copies this process had been through when the value was made
     * @param lastUsedInCopy   the copy in which it was last used
     * @param firstUseLocation the code that first used it after a copy, as {@code Class.method(File:line)}
     * @param firstUseAt       when that happened
     * @param usesAfterCopy    how many uses after a copy were seen
     */
    public record Finding(String name, String type, long createdInCopy, long lastUsedInCopy, String firstUseLocation,
                          Instant firstUseAt, long usesAfterCopy) {
    }

    private final ForkRegistry registry;
    private final Subscription subscription;
    private final AtomicLong copies = new AtomicLong();
    private final AtomicLong tracked = new AtomicLong();
    private final Map<String, FindingState> findings = new ConcurrentHashMap<>();
    private volatile long currentCopy;

    private CopyCheck(ForkRegistry registry) {
        this.registry = Objects.requireNonNull(registry, "registry must not be null");
        this.subscription = registry.subscribe(PostFork.class, "CopyCheck", ORDER, e -> {
            if (e.worker().kind() == WorkerKind.RESTORE) {
                currentCopy = copies.incrementAndGet();
            }
        });
        HostContext.of(registry).statusDetail(subscription.name(), this::statusDetail); // "CopyCheck", "CopyCheck#2", ...
    }

    /** Starts counting copies on {@code registry}; values tracked from now on are checked. */
    public static CopyCheck install(ForkRegistry registry) {
        return new CopyCheck(registry);
    }

    /** How many restores this process has been through since the check was installed (0 in the original). */
    public long copies() {
        return currentCopy;
    }

    /**
     * Tracks a value kept across requests: a UUID, a timestamp, a token, a seed.
     *
     * @param name  a name for the status, for example {@code "instance-id"}
     * @param value the value (not null)
     */
    public <T> Captured<T> capture(String name, T value) {
        checkName(name);
        Objects.requireNonNull(value, "value must not be null");
        tracked.incrementAndGet();
        return new Captured<>(this, name.strip(), value, currentCopy);
    }

    /**
     * A {@code java.util.Random} that behaves exactly like {@code random} and reports its first use in a later
     * copy. Keep the returned object, not the original.
     */
    public Random random(String name, Random random) {
        checkName(name);
        Objects.requireNonNull(random, "random must not be null");
        tracked.incrementAndGet();
        return new TrackedRandom(this, name.strip(), random, currentCopy);
    }

    /** The findings so far, oldest first. */
    public List<Finding> findings() {
        List<Finding> out = new ArrayList<>();
        for (FindingState s : findings.values()) {
            out.add(s.snapshot());
        }
        out.sort(Comparator.comparing(Finding::firstUseAt).thenComparing(Finding::name));
        return out;
    }

    private static void checkName(String name) {
        Objects.requireNonNull(name, "name must not be null: name the value, e.g. \"instance-id\"");
        if (name.isBlank()) {
            throw new IllegalArgumentException("name must not be blank: name the value, e.g. \"instance-id\"");
        }
    }

    /** Called on every use; the fast path is one volatile read and a compare. */
    void used(String name, Class<?> type, long createdInCopy) {
        long now = currentCopy;
        if (now == createdInCopy) {
            return;
        }
        FindingState state = findings.get(name);
        if (state == null) {
            FindingState fresh = new FindingState(name, type.getName(), createdInCopy, Copies.callerLocation());
            state = findings.putIfAbsent(name, fresh);
            if (state == null) {
                state = fresh;
                String text = type.getSimpleName() + " '" + name + "' was made before a copy (copy " + createdInCopy
                        + ") and used after it (copy " + now + ") at " + fresh.firstUseLocation
                        + ": every copy of the process shares this value. Make it after the copy (PostFork hook, "
                        + "ForkLocal, or per request); for generators use ForkSafeRandom or RandomReseed";
                HostContext.of(registry).note("copyCheck." + name, text);
                HostContext.of(registry).log("copyCheck warning: " + text);
            }
        }
        state.uses.incrementAndGet();
        state.lastUsedInCopy = now;
    }

    /**
     * This check's status section, rendered as JSON, text and JMX.
     *
     * @param copies        how many copies this process has seen
     * @param trackedValues how many values are tracked
     * @param findings      values used in a later copy than the one that made them
     */
    public record Status(long copies, long trackedValues, List<Finding> findings) {
    }

    private Status statusDetail() {
        return new Status(currentCopy, tracked.get(), findings());
    }

    /** Stops counting copies; tracked values stop reporting new findings. */
    @Override
    public void close() {
        subscription.close();
        HostContext.of(registry).removeStatusDetail(subscription.name());
    }

    private static final class FindingState {
        final String name;
        final String type;
        final long createdInCopy;
        final String firstUseLocation;
        final Instant firstUseAt = Instant.now();
        final AtomicLong uses = new AtomicLong();
        volatile long lastUsedInCopy;

        FindingState(String name, String type, long createdInCopy, String firstUseLocation) {
            this.name = name;
            this.type = type;
            this.createdInCopy = createdInCopy;
            this.firstUseLocation = firstUseLocation;
        }

        Finding snapshot() {
            return new Finding(name, type, createdInCopy, lastUsedInCopy, firstUseLocation, firstUseAt, uses.get());
        }
    }

    /**
     * A value kept across requests, checked on every {@link #get()}.
     *
     * @param <T> the value's type
     */
    public static final class Captured<T> {
        private final CopyCheck check;
        private final String name;
        private final T value;
        private final long createdInCopy;

        Captured(CopyCheck check, String name, T value, long createdInCopy) {
            this.check = check;
            this.name = name;
            this.value = value;
            this.createdInCopy = createdInCopy;
        }

        /** The value; the first call in a later copy than the one it was made in adds a warning to the status. */
        public T get() {
            check.used(name, value.getClass(), createdInCopy);
            return value;
        }

        /** The name given at capture. */
        public String name() {
            return name;
        }

        /** {@code true} if the process has been copied since the value was made. */
        public boolean isFromEarlierCopy() {
            return check.copies() != createdInCopy;
        }

        @Override
        public String toString() {
            return "Captured[" + name + "=" + value + (isFromEarlierCopy() ? ", from an earlier copy" : "") + "]";
        }
    }
}
