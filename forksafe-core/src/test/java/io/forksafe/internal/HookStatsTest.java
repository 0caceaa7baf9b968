package io.forksafe.internal;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Instant;

import org.junit.jupiter.api.Test;

/** Every figure one hook's status line shows: runs, failures, last run, last error and the timing rule. */
class HookStatsTest {

    private static final Instant T1 = Instant.parse("2026-01-01T00:00:01Z");
    private static final Instant T2 = Instant.parse("2026-01-01T00:00:02Z");
    private static final Instant T3 = Instant.parse("2026-01-01T00:00:03Z");

    private final HookStats.TypeCounter counter = new HookStats.TypeCounter();
    private final HookStats stats = new HookStats("com.example.Hook", "PostFork", counter);

    @Test
    void theCounterNumbersDispatchesAndKeepsTheLatestInstant() {
        assertThat(counter.sum()).isZero();
        assertThat(counter.last()).isNull();
        assertThat(counter.dispatched(T1)).isEqualTo(1);
        assertThat(counter.dispatched(T2)).isEqualTo(2);
        assertThat(counter.sum()).isEqualTo(2);
        assertThat(counter.last()).isEqualTo(T2);
        assertThat(counter.dispatched(T2)).isEqualTo(3);
        assertThat(counter.last()).isEqualTo(T2);
    }

    @Test
    void aFreshHookHasNoRunsNoFailuresAndNoDuration() {
        assertThat(stats.subscriber()).isEqualTo("com.example.Hook");
        assertThat(stats.event()).isEqualTo("PostFork");
        assertThat(stats.count()).isZero();
        assertThat(stats.failures()).isZero();
        assertThat(stats.lastRun()).isNull();
        assertThat(stats.lastError()).isNull();
        assertThat(stats.hasDuration()).isFalse();
        assertThat(stats.lastDurationNanos()).isEqualTo(-1);
    }

    @Test
    void aSubscriptionCountsOnlyTheDispatchesAfterItAttached() {
        counter.dispatched(T1);
        stats.attach("s1");
        assertThat(stats.count()).isZero();
        assertThat(stats.lastRun()).as("the dispatch before it attached is not its run").isNull();
        counter.dispatched(T2);
        counter.dispatched(T3);
        assertThat(stats.count()).isEqualTo(2);
        assertThat(stats.lastRun()).isEqualTo(T3);
    }

    @Test
    void twoLiveSubscriptionsAddTheirRuns() {
        stats.attach("s1");
        counter.dispatched(T1);
        stats.attach("s2");
        counter.dispatched(T2);
        assertThat(stats.count()).isEqualTo(3);
        assertThat(stats.lastRun()).isEqualTo(T2);
    }

    @Test
    void aDetachedSubscriptionKeepsItsRunsAndLastRunButCountsNoMore() {
        stats.attach("s1");
        counter.dispatched(T1);
        counter.dispatched(T2);
        stats.detach("s1");
        counter.dispatched(T3);
        assertThat(stats.count()).isEqualTo(2);
        assertThat(stats.lastRun()).isEqualTo(T2);
        stats.detach("s1");
        stats.detach("never attached");
        assertThat(stats.count()).isEqualTo(2);
        assertThat(stats.lastRun()).isEqualTo(T2);
    }

    @Test
    void aSubscriptionDetachedBeforeAnyRunLeavesNoLastRun() {
        counter.dispatched(T1);
        stats.attach("s1");
        stats.detach("s1");
        assertThat(stats.count()).isZero();
        assertThat(stats.lastRun()).isNull();
    }

    @Test
    void lateRunsCountAndTheLatestOneIsTheLastRun() {
        stats.recordLateRun(T2);
        stats.recordLateRun(T1);
        assertThat(stats.count()).isEqualTo(2);
        assertThat(stats.lastRun()).isEqualTo(T2);
        stats.recordLateRun(T3);
        assertThat(stats.lastRun()).isEqualTo(T3);
    }

    @Test
    void aLateRunAfterARetiredOneMovesTheLastRun() {
        stats.attach("s1");
        counter.dispatched(T1);
        stats.detach("s1");
        stats.recordLateRun(T2);
        assertThat(stats.count()).isEqualTo(2);
        assertThat(stats.lastRun()).isEqualTo(T2);
    }

    @Test
    void aDurationOfZeroIsADuration() {
        stats.recordDuration(0);
        assertThat(stats.hasDuration()).isTrue();
        assertThat(stats.lastDurationNanos()).isZero();
        stats.recordDuration(1_500);
        assertThat(stats.lastDurationNanos()).isEqualTo(1_500);
        stats.recordDuration(-1);
        assertThat(stats.hasDuration()).isFalse();
        assertThat(stats.lastDurationNanos()).isEqualTo(-1);
    }

    @Test
    void aFailureCountsAndKeepsItsErrorTimeAndDuration() {
        stats.recordFailure(T2, 0, new IllegalStateException("pool closed"));
        assertThat(stats.failures()).isEqualTo(1);
        assertThat(stats.lastError()).isEqualTo("java.lang.IllegalStateException: pool closed");
        assertThat(stats.lastRun()).isEqualTo(T2);
        assertThat(stats.hasDuration()).isTrue();
        assertThat(stats.lastDurationNanos()).isZero();

        stats.recordFailure(T3, -1, new NullPointerException());
        assertThat(stats.failures()).isEqualTo(2);
        assertThat(stats.lastError()).isEqualTo("java.lang.NullPointerException");
        assertThat(stats.hasDuration()).isFalse();
        assertThat(stats.lastRun()).isEqualTo(T3);
    }

    @Test
    void theLastRunIsTheLaterOfTheLastDispatchAndTheLastFailure() {
        stats.attach("s1");
        counter.dispatched(T2);
        stats.recordFailure(T1, 5, new RuntimeException("earlier"));
        assertThat(stats.lastRun()).isEqualTo(T2);
        stats.recordFailure(T3, 5, new RuntimeException("later"));
        assertThat(stats.lastRun()).isEqualTo(T3);
        stats.recordFailure(T2, 5, new RuntimeException("same instant"));
        assertThat(stats.lastRun()).isEqualTo(T2);
    }
}
