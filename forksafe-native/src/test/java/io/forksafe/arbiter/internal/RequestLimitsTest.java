package io.forksafe.arbiter.internal;

import static org.assertj.core.api.Assertions.assertThat;

import io.forksafe.ForkRegistry;
import io.forksafe.WorkerKind;
import io.forksafe.spi.ArbiterContract;
import io.forksafe.spi.RequestTracker;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

import org.junit.jupiter.api.Test;

/** A worker's request limits: the jitter draw's bounds, when tracking turns on, and the stuck line's threshold. */
class RequestLimitsTest {

    private static RequestLimits limits(long max, long jitter, long timeout, long seed) {
        Map<String, String> env = RequestLimits.environment(max, jitter, timeout);
        return RequestLimits.fromEnvironment(env::get, seed);
    }

    @Test
    void theDrawIsTheLimitPlusZeroToJitterInclusive() {
        Set<Long> seen = new HashSet<>();
        for (long seed = 0; seed < 200; seed++) {
            seen.add(limits(1, 1, 0, seed).maxRequests());
        }
        assertThat(seen).containsExactlyInAnyOrder(1L, 2L);
        assertThat(limits(10, 0, 0, 7).maxRequests()).isEqualTo(10);
        assertThat(limits(0, 5, 0, 7)).isEqualTo(RequestLimits.NONE);
        assertThat(limits(0, 0, 250, 7)).isEqualTo(new RequestLimits(0, 250));
        assertThat(RequestLimits.fromEnvironment(name -> null, 1)).isEqualTo(RequestLimits.NONE);
        assertThat(RequestLimits.environment(5, 2, 0)).containsOnlyKeys(ArbiterContract.ENV_MAX_REQUESTS,
                ArbiterContract.ENV_MAX_REQUESTS_JITTER);
    }

    @Test
    void trackingTurnsOnOnlyWithALimitAndKeepsRequestsInFlightOnlyWithATimeout() {
        RequestTracker none = RequestTracker.of(new ForkRegistry());
        RequestLimits.NONE.enable(none, line -> { });
        RequestLimits.NONE.enableInTemplate(none);
        assertThat(none.enabled()).isFalse();

        RequestTracker counting = RequestTracker.of(new ForkRegistry());
        List<String> sent = new ArrayList<>();
        new RequestLimits(2, 0).enable(counting, sent::add);
        assertThat(counting.enabled()).isTrue();
        counting.end(counting.begin());
        assertThat(counting.oldestInFlight()).as("no timeout: requests in flight are not kept").isNull();
        counting.end(counting.begin());
        assertThat(sent).containsExactly(ControlProtocol.RECYCLE_MAX_REQUESTS + " 2");

        RequestTracker timed = RequestTracker.of(new ForkRegistry());
        new RequestLimits(0, 1).enable(timed, sent::add);
        timed.begin();
        assertThat(timed.oldestInFlight()).isNotNull();
    }

    @Test
    void aTemplateCountsWithoutALimitAndItsCopyRestartsTowardItsOwn() {
        RequestTracker template = RequestTracker.of(new ForkRegistry());
        new RequestLimits(3, 0).enableInTemplate(template);
        assertThat(template.enabled()).isTrue();
        for (int i = 0; i < 5; i++) {
            template.end(template.begin());
        }
        assertThat(template.limit()).isZero();
        assertThat(template.oldestInFlight()).isNull();
        List<String> sent = new ArrayList<>();
        new RequestLimits(3, 0).enable(template, sent::add); // the restored copy, same tracker
        assertThat(template.served()).isZero();
        template.end(template.begin());
        template.end(template.begin());
        assertThat(sent).isEmpty();
        template.end(template.begin());
        assertThat(sent).containsExactly(ControlProtocol.RECYCLE_MAX_REQUESTS + " 3");

        RequestTracker timedTemplate = RequestTracker.of(new ForkRegistry());
        new RequestLimits(0, 5).enableInTemplate(timedTemplate);
        timedTemplate.begin();
        assertThat(timedTemplate.oldestInFlight()).as("a timeout keeps requests in flight").isNotNull();
    }

    @Test
    void aRequestIsStuckOnlyPastTheTimeout() throws InterruptedException {
        RequestTracker tracker = RequestTracker.of(new ForkRegistry());
        RequestLimits noTimeout = new RequestLimits(5, 0);
        noTimeout.enable(tracker, line -> { });
        tracker.begin();
        assertThat(noTimeout.stuckLine(tracker)).isNull();

        RequestTracker timed = RequestTracker.of(new ForkRegistry());
        RequestLimits limits = new RequestLimits(0, 30);
        limits.enable(timed, line -> { });
        assertThat(limits.stuckLine(timed)).as("nothing in flight").isNull();
        timed.begin();
        assertThat(limits.stuckLine(timed)).as("younger than the timeout").isNull();
        long start = System.nanoTime();
        while (timed.oldestInFlight().ageMillis() <= 30) {
            assertThat(System.nanoTime() - start).as("the request ages").isLessThan(5_000_000_000L);
            Thread.sleep(5);
        }
        assertThat(limits.stuckLine(timed)).startsWith(ControlProtocol.STUCK + " ")
                .endsWith(" " + Thread.currentThread().getName());
    }

    @Test
    void aWorkersRecentEventNamesItAsItIsNow() {
        RecentEvents events = new RecentEvents();
        WorkerProcess worker = new WorkerProcess(2, 5, 4242, 1, WorkerKind.PROCESS, 0);
        WorkerProcess restoring = new WorkerProcess(1, 0, 4343, 1, WorkerKind.RESTORE, 0);
        WorkerProcess standby = new WorkerProcess(0, 3, 4444, 1, WorkerKind.PROCESS, 3);
        events.add(RecentEvents.Kind.SPAWN, worker, null);
        events.add(RecentEvents.Kind.RESTORE, restoring, "image 1");
        restoring.workerPid = 9999;
        events.add(RecentEvents.Kind.READY, restoring, "in 5 ms");
        events.add(RecentEvents.Kind.STANDBY_BOOTED, standby, null);
        List<RecentEvents.Entry> e = events.entries();
        assertThat(e).extracting(RecentEvents.Entry::worker).containsExactly("worker-2", "worker-1", "worker-1",
                "standby-3");
        assertThat(e).extracting(RecentEvents.Entry::pid).containsExactly(4242L, 4343L, 9999L, 4444L);
        assertThat(e).extracting(RecentEvents.Entry::generation).containsExactly(5L, 0L, 0L, null);
        assertThat(e.get(1).detail()).isEqualTo("image 1");
        assertThat(e.get(0).atMillis()).isLessThanOrEqualTo(e.get(3).atMillis());
    }
}
