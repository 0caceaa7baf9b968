package io.forksafe.crac;

import io.forksafe.ForkRegistry;
import io.forksafe.PostFork;
import io.forksafe.PostForkParent;
import io.forksafe.PostWorkerInit;
import io.forksafe.PreFork;
import io.forksafe.WorkerKind;

import org.crac.CheckpointException;
import org.crac.Context;
import org.crac.Core;
import org.crac.Resource;
import org.crac.RestoreException;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * End to end through the real {@code org.crac} 1.5.0 code: {@code ForksafeCrac.install()} registers with
 * {@code org.crac.Core.getGlobalContext()}, and {@code org.crac.Core.checkpointRestore()} notifies it. This JDK has
 * no CRaC, so org.crac is pointed at the test double {@code io.forksafe.crac.testcrac} with
 * {@code -Dorg.crac.Core.Compat} (see the surefire execution {@code crac-compat} in this module's pom).
 */
class CompatCheckpointTest {

    private static ForkRegistry registry;
    private static final List<String> calls = Collections.synchronizedList(new ArrayList<>());
    // Strong references: CRaC contexts hold resources weakly.
    private static Resource first;
    private static Resource last;

    @BeforeAll
    static void installBetweenTwoOtherResources() {
        assertThat(System.getProperty("org.crac.Core.Compat"))
                .as("run by the crac-compat surefire execution").isEqualTo("io.forksafe.crac.testcrac");
        registry = new ForkRegistry("crac-compat");
        first = recording("first");
        Core.getGlobalContext().register(first);
        ForksafeCrac.install(registry);
        last = recording("last");
        Core.getGlobalContext().register(last);
        registry.subscribe(PreFork.class, "A", 0, e -> calls.add("PreFork:A:" + e.worker().kind()));
        registry.subscribe(PreFork.class, "B", 0, e -> calls.add("PreFork:B"));
        registry.subscribe(PostFork.class, "A", 0, e -> calls.add("PostFork:A:" + e.worker().kind()));
        registry.subscribe(PostFork.class, "B", 0, e -> calls.add("PostFork:B"));
        registry.subscribe(PostWorkerInit.class, "A", 0, e -> calls.add("PostWorkerInit:A"));
        registry.subscribe(PostForkParent.class, "A", 0, e -> calls.add("PostForkParent:A"));
    }

    @AfterEach
    void clear() {
        calls.clear();
        io.forksafe.crac.testcrac.Core.failCheckpointAfterNotification = false;
    }

    private static Resource recording(String name) {
        return new Resource() {
            @Override
            public void beforeCheckpoint(Context<? extends Resource> context) {
                calls.add("crac:" + name + ".beforeCheckpoint");
            }

            @Override
            public void afterRestore(Context<? extends Resource> context) {
                calls.add("crac:" + name + ".afterRestore");
            }
        };
    }

    @Test
    void statusSaysConfiguredWithTheCompatImplementation() {
        assertThat(registry.status().status()).isEqualTo("crac hook configured");
        assertThat(registry.status().notes().get("crac")).contains("io.forksafe.crac.testcrac");
        assertThat(registry.status().environment()).startsWith("crac io.forksafe.crac.testcrac on ");
    }

    @Test
    void checkpointRestoreNotifiesInCracOrderAndForksafeInEventOrder() throws Exception {
        long before = registry.processWorker().generation();
        Core.checkpointRestore();
        assertThat(calls).containsExactly(
                "crac:last.beforeCheckpoint",
                "PreFork:B", "PreFork:A:RESTORE",
                "crac:first.beforeCheckpoint",
                "crac:first.afterRestore",
                "PostFork:A:RESTORE", "PostFork:B", "PostWorkerInit:A",
                "crac:last.afterRestore");
        assertThat(registry.processWorker().kind()).isEqualTo(WorkerKind.RESTORE);
        assertThat(registry.processWorker().generation()).isEqualTo(before + 1);
    }

    @Test
    void aFailingPreForkHookFailsTheCheckpointAndTheOriginalGetsPostForkParent() {
        RuntimeException boom = new IllegalStateException("cannot quiesce");
        try (var s = registry.subscribe(PreFork.class, "bad", 0, e -> {
            throw boom;
        })) {
            long generation = registry.processWorker().generation();
            assertThatThrownBy(Core::checkpointRestore)
                    .isInstanceOf(CheckpointException.class)
                    .satisfies(t -> {
                        // org.crac copies the JDK's suppressed list: forksafe's CheckpointException, which in turn
                        // carries the hook's own exception.
                        assertThat(t.getSuppressed()).hasSize(1);
                        assertThat(t.getSuppressed()[0]).isInstanceOf(CheckpointException.class)
                                .hasMessageContaining("PreFork hook(s) failed");
                        assertThat(t.getSuppressed()[0].getSuppressed()).containsExactly(boom);
                    });
            assertThat(calls).contains("crac:first.beforeCheckpoint", "PostForkParent:A", "crac:last.afterRestore");
            assertThat(calls).noneMatch(c -> c.startsWith("PostFork:"));
            assertThat(registry.processWorker().generation()).isEqualTo(generation);
        }
    }

    @Test
    void aFailingPostForkHookComesBackAsRestoreException() {
        RuntimeException boom = new IllegalStateException("cannot reconnect");
        try (var s = registry.subscribe(PostFork.class, "bad", 0, e -> {
            throw boom;
        })) {
            assertThatThrownBy(Core::checkpointRestore)
                    .isInstanceOf(RestoreException.class)
                    .satisfies(t -> {
                        assertThat(t.getSuppressed()).hasSize(1);
                        assertThat(t.getSuppressed()[0]).isInstanceOf(RestoreException.class);
                        assertThat(t.getSuppressed()[0].getSuppressed()).containsExactly(boom);
                    });
            assertThat(calls).contains("PostFork:A:RESTORE", "PostWorkerInit:A", "crac:last.afterRestore");
        }
    }
}
