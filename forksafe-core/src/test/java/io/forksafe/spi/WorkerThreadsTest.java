package io.forksafe.spi;

import static org.assertj.core.api.Assertions.assertThat;

import io.forksafe.ChildExit;
import io.forksafe.ContainerInfo;
import io.forksafe.ForkEvent;
import io.forksafe.ForkRegistry;
import io.forksafe.WorkerExit;

import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;

/** The thread-worker lifecycle on its own: event order per thread, a thread never started, counts and waiting. */
class WorkerThreadsTest {

    private static final ContainerInfo HOST = ContainerInfo.of("testhost", "1");

    private final ForkRegistry registry = new ForkRegistry("threads");
    private final List<String> events = new CopyOnWriteArrayList<>();
    private final WorkerThreads threads = new WorkerThreads(registry, HOST, "Testhost");

    WorkerThreadsTest() {
        registry.subscribe(ForkEvent.class, "recorder", 0, e -> events.add(e.type().displayName()
                + (e instanceof WorkerExit x ? "(" + x.reason() + ")" : "")));
    }

    private static void awaitState(Thread t, Thread.State... states) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (!List.of(states).contains(t.getState())) {
            assertThat(System.nanoTime()).as("thread %s reached %s", t.getName(), List.of(states)).isLessThan(deadline);
            Thread.onSpinWait();
        }
    }

    @Test
    void theNewThreadWaitsForItsParentSideBeforePostFork() throws Exception {
        CountDownLatch taskRan = new CountDownLatch(1);
        WorkerThreads.Worker w = threads.worker(taskRan::countDown, () -> "done");
        Thread t = new Thread(w, "t-1");
        w.created(t, slot -> "pool-" + slot);
        assertThat(t.getName()).isEqualTo("pool-1");
        assertThat(w.info().slot()).isEqualTo(1);
        assertThat(threads.owns(t)).isTrue();
        t.start();
        awaitState(t, Thread.State.WAITING, Thread.State.TIMED_WAITING, Thread.State.TERMINATED);
        assertThat(taskRan.getCount()).as("the task waits for PostForkParent").isEqualTo(1);
        threads.startedOnThisThread();
        t.join(TimeUnit.SECONDS.toMillis(10));
        assertThat(events).containsExactly("PreFork", "PostForkParent", "PostFork", "WorkerExit(done)");
        assertThat(threads.owns(t)).isFalse();
        assertThat(threads.counts()).isEqualTo(new WorkerThreads.Counts(1, 1, 0, 0, 1, 0));
        assertThat(threads.awaitRetired(0)).isTrue();
    }

    @Test
    void aThreadTheHostNeverStartedFreesItsSlotAndSaysSo() {
        WorkerThreads.Worker w = threads.worker(() -> { }, () -> "done");
        Thread t = new Thread(w, "never");
        w.created(t);
        assertThat(threads.counts()).isEqualTo(new WorkerThreads.Counts(1, 0, 0, 1, 1, 1));
        threads.startedOnThisThread();
        threads.startedOnThisThread();
        assertThat(events).containsExactly("PreFork", "WorkerExit(never started)");
        assertThat(registry.status().autoconfigureLog()).contains("Testhost could not start thread never "
                + "(PreFork ran, PostFork will not); the host logs the cause");
        assertThat(threads.counts()).isEqualTo(new WorkerThreads.Counts(1, 1, 1, 0, 1, 0));
        assertThat(threads.owns(t)).isFalse();
        assertThat(threads.registry()).isSameAs(registry);
    }

    @Test
    void aTaskThatThrowsEndsWithItsFailureAndTheReasonSupplierMayFail() throws Exception {
        WorkerThreads.Worker w = threads.worker(() -> {
            throw new IllegalStateException("boom");
        }, () -> "unused");
        Thread t = new Thread(w, "fails");
        t.setUncaughtExceptionHandler((th, e) -> { });
        w.created(t);
        w.willStart();
        t.start();
        t.join(TimeUnit.SECONDS.toMillis(10));
        WorkerThreads.Worker x = threads.worker(() -> { }, () -> {
            throw new IllegalArgumentException("no reason");
        });
        Thread u = new Thread(x, "reasonless");
        x.created(u);
        x.willStart();
        u.start();
        u.join(TimeUnit.SECONDS.toMillis(10));
        assertThat(events).contains("WorkerExit(failed: java.lang.IllegalStateException: boom)",
                "WorkerExit(failed to tell why: java.lang.IllegalArgumentException: no reason)");
        assertThat(threads.counts()).isEqualTo(new WorkerThreads.Counts(2, 2, 0, 0, 1, 0));
    }

    @Test
    void awaitRetiredWaitsForLiveThreadsButNotForTheCaller() throws Exception {
        CountDownLatch release = new CountDownLatch(1);
        WorkerThreads.Worker w = threads.worker(() -> {
            try {
                release.await(10, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }, () -> "done");
        Thread t = new Thread(w, "busy");
        w.created(t);
        w.willStart();
        t.start();
        assertThat(threads.awaitRetired(1)).as("a busy thread is still live").isFalse();
        release.countDown();
        assertThat(threads.awaitRetired(TimeUnit.SECONDS.toMillis(10))).isTrue();

        WorkerThreads.Worker self = threads.worker(() -> { }, () -> "done");
        self.created(Thread.currentThread());
        assertThat(threads.awaitRetired(0)).as("only the caller is live").isTrue();
        self.willStart();
        self.end(null);
        assertThat(threads.counts().liveThreads()).isZero();
    }

    @Test
    void hookFailuresAreLeftToTheStatusOtherFailuresAreLogged() {
        WorkerThreads.publishQuietly(registry, "Testhost", "PostFork", () -> {
            throw new IllegalStateException("wiring");
        });
        assertThat(registry.status().autoconfigureLog())
                .contains("Testhost could not publish PostFork: java.lang.IllegalStateException: wiring");
        assertThat(events).doesNotContain(ChildExit.class.getSimpleName());
    }
}
