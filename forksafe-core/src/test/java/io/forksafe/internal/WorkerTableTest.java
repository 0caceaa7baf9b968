package io.forksafe.internal;

import static org.assertj.core.api.Assertions.assertThat;

import io.forksafe.ChildExit;
import io.forksafe.ContainerInfo;
import io.forksafe.ForksafeStatus.WorkerState;
import io.forksafe.PostFork;
import io.forksafe.PostForkParent;
import io.forksafe.PreFork;
import io.forksafe.PostWorkerInit;
import io.forksafe.WorkerExit;
import io.forksafe.WorkerInfo;
import io.forksafe.WorkerKind;

import java.time.Instant;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;

/** The bounded worker table: each state, each counter, the caps, and the pid a later event does not know. */
class WorkerTableTest {

    private static final ContainerInfo HOST = ContainerInfo.of("test", "1");
    private static final Instant T1 = Instant.parse("2026-01-01T00:00:01Z");
    private static final Instant T2 = Instant.parse("2026-01-01T00:00:02Z");
    private static final Instant T3 = Instant.parse("2026-01-01T00:00:03Z");
    private static final Instant T4 = Instant.parse("2026-01-01T00:00:04Z");

    private final WorkerTable table = new WorkerTable(8, 8);

    private static WorkerInfo proc(int slot, long pid) {
        return new WorkerInfo(slot, "w" + slot, WorkerKind.PROCESS, pid, 1, 1);
    }

    private static Map<String, Long> counters(long started, long ended, long live, long untracked) {
        return Map.of("started", started, "ended", ended, "live", live, "untracked", untracked);
    }

    private void preFork(WorkerInfo w, Instant at) {
        table.record(new PreFork(w, HOST, Map.of(), at));
    }

    private void postFork(WorkerInfo w, Instant at) {
        table.record(new PostFork(w, HOST, Map.of(), at));
    }

    private void ready(WorkerInfo w, Instant at) {
        table.record(new PostWorkerInit(w, HOST, Map.of(), at));
    }

    @Test
    void aWorkerGoesFromStartingToRunningToReadyToExitingToExitedAndIsCountedOnce() {
        WorkerInfo w = proc(0, 42);
        preFork(w, T1);
        assertThat(table.live()).containsExactly(new WorkerState(w, "starting", T1, null));
        assertThat(table.counters()).isEqualTo(counters(0, 0, 1, 0));

        postFork(w, T2);
        table.record(new PostForkParent(w, HOST, Map.of(), T3));
        assertThat(table.live()).containsExactly(new WorkerState(w, "running", T2, null));
        assertThat(table.counters()).isEqualTo(counters(1, 0, 1, 0));

        ready(w, T3);
        assertThat(table.live()).containsExactly(new WorkerState(w, "ready", T3, null));

        table.record(new WorkerExit(w, HOST, Map.of(), T4, "rolling restart"));
        assertThat(table.live()).isEmpty();
        assertThat(table.recentlyEnded()).containsExactly(new WorkerState(w, "exiting", T4, "rolling restart"));
        assertThat(table.counters()).isEqualTo(counters(1, 1, 0, 0));

        table.record(new ChildExit(w, HOST, Map.of(), T4, 3));
        assertThat(table.recentlyEnded()).containsExactly(new WorkerState(w, "exited", T4, "exit status 3"));
        assertThat(table.counters()).as("ChildExit after WorkerExit ends the worker once").isEqualTo(counters(1, 1, 0, 0));
    }

    @Test
    void aRepeatedStateKeepsItsFirstInstant() {
        WorkerInfo w = proc(0, 42);
        ready(w, T1);
        ready(w, T2);
        ready(proc(0, 42), T3); // equal, not the same instance
        assertThat(table.live()).containsExactly(new WorkerState(w, "ready", T1, null));
        WorkerInfo other = proc(1, 43);
        ready(other, T3);
        assertThat(table.live()).containsExactly(new WorkerState(w, "ready", T1, null),
                new WorkerState(other, "ready", T3, null));
        assertThat(table.counters()).isEqualTo(counters(0, 0, 2, 0));
    }

    @Test
    void aLaterEventWithoutAPidKeepsThePidTheTableKnows() {
        WorkerInfo known = proc(0, 42);
        WorkerInfo unknown = proc(0, WorkerInfo.UNKNOWN_PID);
        preFork(known, T1);
        postFork(unknown, T2);
        assertThat(table.live()).containsExactly(new WorkerState(known, "running", T2, null));
        ready(unknown, T3);
        assertThat(table.live()).containsExactly(new WorkerState(known, "ready", T3, null));
        table.record(new WorkerExit(unknown, HOST, Map.of(), T4, "stop"));
        assertThat(table.recentlyEnded()).containsExactly(new WorkerState(known, "exiting", T4, "stop"));
        table.record(new ChildExit(unknown, HOST, Map.of(), T4, 0));
        assertThat(table.recentlyEnded()).containsExactly(new WorkerState(known, "exited", T4, "exit status 0"));
    }

    @Test
    void aLaterEventWithAPidReplacesAnUnknownOne() {
        WorkerInfo unknown = proc(0, WorkerInfo.UNKNOWN_PID);
        WorkerInfo known = proc(0, 42);
        ready(unknown, T1);
        postFork(known, T2);
        assertThat(table.live()).as("already ready: the state stays, the pid is learnt")
                .containsExactly(new WorkerState(known, "ready", T1, null));
        postFork(proc(0, 43), T3);
        assertThat(table.live()).as("a known pid is not replaced").containsExactly(new WorkerState(known, "ready", T1, null));
        table.record(new WorkerExit(unknown, HOST, Map.of(), T3, "stop"));
        table.record(new ChildExit(known, HOST, Map.of(), T4, 1));
        assertThat(table.recentlyEnded()).containsExactly(new WorkerState(known, "exited", T4, "exit status 1"));
        assertThat(table.counters()).isEqualTo(counters(0, 1, 0, 0));
    }

    @Test
    void workersBeyondTheLiveCapAreCountedNotStored() {
        WorkerTable small = new WorkerTable(1, 8);
        small.record(new PreFork(proc(0, 10), HOST, Map.of(), T1));
        small.record(new PreFork(proc(1, 11), HOST, Map.of(), T1));
        small.record(new PostFork(proc(2, 12), HOST, Map.of(), T1));
        small.record(new PostFork(proc(0, 10), HOST, Map.of(), T2));
        assertThat(small.live()).containsExactly(new WorkerState(proc(0, 10), "running", T2, null));
        assertThat(small.counters()).isEqualTo(counters(1, 0, 1, 2));
        small.record(new ChildExit(proc(0, 10), HOST, Map.of(), T3, 0));
        small.record(new PostFork(proc(2, 12), HOST, Map.of(), T3));
        assertThat(small.counters()).isEqualTo(counters(2, 1, 1, 2));
    }

    @Test
    void onlyTheMostRecentlyEndedAreKeptOldestFirst() {
        WorkerTable small = new WorkerTable(8, 2);
        for (int slot = 0; slot < 3; slot++) {
            small.record(new PostFork(proc(slot, 10 + slot), HOST, Map.of(), T1));
            small.record(new ChildExit(proc(slot, 10 + slot), HOST, Map.of(), T2, slot));
        }
        assertThat(small.recentlyEnded()).extracting(WorkerState::detail)
                .containsExactly("exit status 1", "exit status 2");
        assertThat(small.counters()).isEqualTo(counters(3, 3, 0, 0));
    }

    @Test
    void aWorkerNeverSeenLiveIsStillEndedAndCounted() {
        table.record(new WorkerExit(proc(3, 13), HOST, Map.of(), T1, "gone"));
        table.record(new ChildExit(proc(4, 14), HOST, Map.of(), T2, 9));
        assertThat(table.recentlyEnded()).containsExactly(new WorkerState(proc(3, 13), "exiting", T1, "gone"),
                new WorkerState(proc(4, 14), "exited", T2, "exit status 9"));
        assertThat(table.counters()).isEqualTo(counters(0, 2, 0, 0));
    }

    @Test
    void liveWorkersAreSortedByKindThenSlotThenGeneration() {
        WorkerInfo t = new WorkerInfo(0, "pool-1", WorkerKind.THREAD, 5, 5, 0);
        WorkerInfo p2g2 = new WorkerInfo(2, "w", WorkerKind.PROCESS, 7, 1, 2);
        WorkerInfo p2g1 = new WorkerInfo(2, "w", WorkerKind.PROCESS, 6, 1, 1);
        WorkerInfo p1 = new WorkerInfo(1, "w", WorkerKind.PROCESS, 8, 1, 5);
        for (WorkerInfo w : List.of(t, p2g2, p2g1, p1)) {
            ready(w, T1);
        }
        assertThat(table.live()).extracting(WorkerState::worker).containsExactly(p1, p2g1, p2g2, t);
    }

    @Test
    void threadsWithTheSameSlotInTwoPoolsAreTwoWorkers() {
        ready(new WorkerInfo(0, "a-1", WorkerKind.THREAD, 5, 5, 0), T1);
        ready(new WorkerInfo(0, "b-1", WorkerKind.THREAD, 5, 5, 0), T1);
        assertThat(table.live()).hasSize(2);
    }
}
