package io.forksafe.crac;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import io.forksafe.EventType;
import io.forksafe.ForkEvent;
import io.forksafe.ForkRegistry;
import io.forksafe.PostFork;
import io.forksafe.PostForkParent;
import io.forksafe.PostWorkerInit;
import io.forksafe.PreFork;
import io.forksafe.WorkerInfo;
import io.forksafe.WorkerKind;
import io.forksafe.crac.internal.CracDetection;
import io.forksafe.crac.internal.RestoreBridge;
import io.forksafe.testing.ForkSimulator;

import org.crac.CheckpointException;
import org.crac.Core;
import org.crac.RestoreException;
import org.junit.jupiter.api.Test;

import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Drives the CRaC resource's callbacks directly, as a CRaC JDK would, and checks the events they publish. */
class RestoreTranslationTest {

    private static final CracDetection DETECTED = new CracDetection("jdk.crac", "test: pretend jdk.crac exists");

    private final ForkRegistry registry = new ForkRegistry("crac-test");
    private final List<String> calls = Collections.synchronizedList(new ArrayList<>());
    private final List<ForkEvent> events = Collections.synchronizedList(new ArrayList<>());

    /** A restore-time source like CRaCMXBean's: -1 until the test says a restore happened. */
    private final AtomicLong restoreTime = new AtomicLong(-1);

    private RestoreBridge bridge() {
        return new RestoreBridge(registry, DETECTED, restoreTime::get,
                () -> restoreTime.get() < 0 ? -1 : 1234);
    }

    private void recordThree() {
        for (String name : List.of("A", "B", "C")) {
            registry.subscribe(PreFork.class, name, 0, e -> calls.add("PreFork:" + name));
            registry.subscribe(PostFork.class, name, 0, e -> calls.add("PostFork:" + name));
            registry.subscribe(PostWorkerInit.class, name, 0, e -> calls.add("PostWorkerInit:" + name));
            registry.subscribe(PostForkParent.class, name, 0, e -> calls.add("PostForkParent:" + name));
        }
        registry.subscribe(ForkEvent.class, "recorder", Integer.MIN_VALUE, events::add);
    }

    @Test
    void checkpointIsPreForkInReverseAndRestoreIsPostForkThenPostWorkerInitForward() throws Exception {
        recordThree();
        RestoreBridge bridge = bridge();
        long pid = ProcessHandle.current().pid();

        bridge.beforeCheckpoint(null);
        restoreTime.set(1_700_000_000_000L);
        bridge.afterRestore(null);

        assertThat(calls).containsExactly(
                "PreFork:C", "PreFork:B", "PreFork:A",
                "PostFork:A", "PostFork:B", "PostFork:C",
                "PostWorkerInit:A", "PostWorkerInit:B", "PostWorkerInit:C");
        assertThat(events).extracting(ForkEvent::type)
                .containsExactly(EventType.PRE_FORK, EventType.POST_FORK, EventType.POST_WORKER_INIT);
        assertThat(events).allSatisfy(e -> {
            assertThat(e.worker().kind()).isEqualTo(WorkerKind.RESTORE);
            assertThat(e.worker().generation()).isEqualTo(1);
            assertThat(e.container().name()).isEqualTo("crac");
        });
        assertThat(events.get(0).worker().pid()).isEqualTo(WorkerInfo.UNKNOWN_PID);
        assertThat(events.get(0).worker().parentPid()).isEqualTo(pid);
        assertThat(events.get(1).worker().pid()).isEqualTo(pid);
        assertThat(registry.processWorker()).isEqualTo(events.get(1).worker());
        assertThat(bridge.restores()).isEqualTo(1);
        assertThat(bridge.restoreTime()).isEqualTo(Instant.ofEpochMilli(1_700_000_000_000L));
    }

    @Test
    void everyRestoreIsANewGenerationWithExactlyOnePostFork() throws Exception {
        recordThree();
        RestoreBridge bridge = bridge();
        for (int i = 1; i <= 3; i++) {
            bridge.beforeCheckpoint(null);
            restoreTime.set(1_000L * i);
            bridge.afterRestore(null);
        }
        assertThat(events).filteredOn(e -> e instanceof PostFork)
                .extracting(e -> e.worker().generation()).containsExactly(1L, 2L, 3L);
        assertThat(registry.processWorker().generation()).isEqualTo(3);
        assertThat(registry.duplicatePostForks()).isZero();
    }

    @Test
    void failingCheckpointHooksComeBackAsCheckpointExceptionWithEveryFailureSuppressed() throws Exception {
        recordThree();
        IllegalStateException first = new IllegalStateException("flush failed");
        IllegalArgumentException second = new IllegalArgumentException("socket still open");
        registry.subscribe(PreFork.class, "bad-1", 0, e -> {
            throw first;
        });
        registry.subscribe(PreFork.class, "bad-2", 0, e -> {
            throw second;
        });
        RestoreBridge bridge = bridge();
        WorkerInfo before = registry.processWorker();

        assertThatThrownBy(() -> bridge.beforeCheckpoint(null))
                .isInstanceOf(CheckpointException.class)
                .satisfies(t -> assertThat(t.getSuppressed()).containsExactly(second, first));
        // every PreFork hook still ran, in reverse order
        assertThat(calls).containsExactly("PreFork:C", "PreFork:B", "PreFork:A");

        // CRaC calls afterRestore even when the checkpoint failed: the original goes on, so PostForkParent
        bridge.afterRestore(null);
        assertThat(calls).endsWith("PostForkParent:A", "PostForkParent:B", "PostForkParent:C");
        assertThat(calls).noneMatch(c -> c.startsWith("PostFork:") || c.startsWith("PostWorkerInit:"));
        assertThat(registry.processWorker()).isEqualTo(before);
        assertThat(bridge.restores()).isZero();
        assertThat(registry.status().executedHooks())
                .filteredOn(h -> h.subscriber().startsWith("bad-"))
                .allSatisfy(h -> assertThat(h.failures()).isEqualTo(1));
    }

    @Test
    void checkpointThatFailedElsewhereIsRecognisedByTheUnchangedRestoreTime() throws Exception {
        recordThree();
        RestoreBridge bridge = bridge();
        bridge.beforeCheckpoint(null);
        restoreTime.set(5_000);
        bridge.afterRestore(null); // restore 1
        calls.clear();

        bridge.beforeCheckpoint(null);
        bridge.afterRestore(null); // restore time unchanged: another resource failed the checkpoint

        assertThat(calls).containsExactly("PreFork:C", "PreFork:B", "PreFork:A",
                "PostForkParent:A", "PostForkParent:B", "PostForkParent:C");
        assertThat(bridge.restores()).isEqualTo(1);
        assertThat(registry.status().details().get("crac").toString()).contains("failedCheckpoints=1");
    }

    @Test
    void failingRestoreHooksComeBackAsRestoreExceptionAndPostWorkerInitStillRuns() throws Exception {
        recordThree();
        RuntimeException postForkFailure = new RuntimeException("reconnect failed");
        RuntimeException initFailure = new RuntimeException("warm-up failed");
        registry.subscribe(PostFork.class, "bad-post-fork", 0, e -> {
            throw postForkFailure;
        });
        registry.subscribe(PostWorkerInit.class, "bad-init", 0, e -> {
            throw initFailure;
        });
        RestoreBridge bridge = bridge();
        bridge.beforeCheckpoint(null);
        restoreTime.set(42_000);

        assertThatThrownBy(() -> bridge.afterRestore(null))
                .isInstanceOf(RestoreException.class)
                .satisfies(t -> assertThat(t.getSuppressed()).containsExactly(postForkFailure, initFailure));
        assertThat(calls).contains("PostFork:C", "PostWorkerInit:A", "PostWorkerInit:B", "PostWorkerInit:C");
        assertThat(bridge.restores()).isEqualTo(1);
    }

    @Test
    void sameEventsAsTheCoreSimulatorsRestore() throws Exception {
        recordThree();
        RestoreBridge bridge = bridge();
        bridge.beforeCheckpoint(null);
        bridge.afterRestore(null); // restore time unknown (-1) on both sides: a good checkpoint means a restore
        List<EventType> fromCrac = new ArrayList<>();
        events.forEach(e -> fromCrac.add(e.type()));
        assertThat(fromCrac).containsExactly(EventType.PRE_FORK, EventType.POST_FORK, EventType.POST_WORKER_INIT);

        ForkRegistry other = new ForkRegistry("simulated");
        List<ForkEvent> simulated = ForkSimulator.of(other).simulateRestore(0);
        assertThat(simulated).extracting(ForkEvent::type).containsExactlyElementsOf(fromCrac);
        assertThat(simulated).extracting(e -> e.worker().kind()).containsOnly(WorkerKind.RESTORE);
    }

    @Test
    void statusShowsRestoreTimeAndUptimeSinceRestore() throws Exception {
        RestoreBridge bridge = bridge();
        JsonNode before = new ObjectMapper().readTree(registry.status().toJson()).path("details").path("crac");
        assertThat(before.path("restores").asLong()).isZero();
        assertThat(before.path("restoreTime").isNull()).isTrue();
        assertThat(before.path("uptimeSinceRestoreMillis").isNull()).isTrue();

        bridge.beforeCheckpoint(null);
        restoreTime.set(1_700_000_123_456L);
        bridge.afterRestore(null);

        JsonNode after = new ObjectMapper().readTree(registry.status().toJson()).path("details").path("crac");
        assertThat(after.path("restores").asLong()).isEqualTo(1);
        assertThat(after.path("checkpoints").asLong()).isEqualTo(1);
        assertThat(after.path("restoreTime").asText()).isEqualTo(Instant.ofEpochMilli(1_700_000_123_456L).toString());
        assertThat(after.path("uptimeSinceRestoreMillis").asLong()).isEqualTo(1234);
        assertThat(after.path("worker").asText()).startsWith("RESTORE/");
        assertThat(after.path("generation").asLong()).isEqualTo(1);
    }

    @Test
    void withoutAnMxBeanUptimeIsMeasuredFromTheRestoreCallback() throws Exception {
        RestoreBridge bridge = new RestoreBridge(registry, DETECTED, () -> -1, () -> -1);
        bridge.beforeCheckpoint(null);
        Instant justBefore = Instant.now();
        bridge.afterRestore(null);
        assertThat(bridge.restoreTime()).isBetween(justBefore, Instant.now());
        long first = bridge.uptimeSinceRestore().toNanos();
        long deadline = System.nanoTime() + 5_000_000_000L;
        while (bridge.uptimeSinceRestore().toNanos() <= first && System.nanoTime() < deadline) {
            Thread.onSpinWait();
        }
        assertThat(bridge.uptimeSinceRestore().toNanos()).isGreaterThan(first);
    }

    @Test
    void onThisJdkInstallIsANoOpThatSaysSoInTheStatus() throws Exception {
        ForkRegistry r = new ForkRegistry("crac-noop");
        ForksafeCrac crac = ForksafeCrac.install(r);
        CracDetection detected = CracDetection.detect();

        assertThat(crac.isCracAvailable()).isEqualTo(detected.available());
        JsonNode status = new ObjectMapper().readTree(r.status().toJson());
        assertThat(status.path("details").path("crac").path("available").asBoolean()).isEqualTo(detected.available());
        assertThat(status.path("details").path("crac").path("registered").asBoolean()).isTrue();
        if (!detected.available()) {
            // The case on every JDK this project builds with: org.crac has nothing to delegate to.
            assertThat(status.path("notes").path("crac").asText()).startsWith("no-op: no CRaC implementation");
            assertThat(status.path("autoconfigureLog").toString()).contains("crac not available");
            assertThat(status.path("status").asText()).doesNotContain("crac hook configured");
            assertThatThrownBy(Core::checkpointRestore).isInstanceOf(UnsupportedOperationException.class);
        } else {
            assertThat(status.path("status").asText()).isEqualTo("crac hook configured");
            assertThat(status.path("notes").path("crac").asText()).contains("beforeCheckpoint publishes PreFork");
        }
    }

    @Test
    void installIsIdempotentPerRegistry() throws Exception {
        ForkRegistry r = new ForkRegistry("crac-once");
        ForksafeCrac first = ForksafeCrac.install(r);
        ForksafeCrac second = ForksafeCrac.install(r);
        assertThat(second.resource()).isSameAs(first.resource());
        List<ForkEvent> seen = new ArrayList<>();
        r.subscribe(PreFork.class, seen::add);
        first.resource().beforeCheckpoint(null);
        assertThat(seen).hasSize(1);
        assertThat(ForksafeCrac.install(new ForkRegistry("other")).resource()).isNotSameAs(first.resource());
    }

    @Test
    void autoconfigureFindsTheAdapterAndReportsWhatItFound() {
        ForkRegistry r = new ForkRegistry("crac-auto");
        r.autoconfigure();
        String log = String.join("\n", r.status().autoconfigureLog());
        assertThat(log).contains("attempting to autoconfigure crac");
        if (CracDetection.detect().available()) {
            assertThat(log).contains("crac hook configured");
        } else {
            assertThat(log).contains("crac not available: no CRaC implementation");
        }
    }
}
