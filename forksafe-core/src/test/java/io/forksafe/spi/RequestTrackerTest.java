package io.forksafe.spi;

import io.forksafe.ForkRegistry;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class RequestTrackerTest {

    @Test
    void offUntilAHostEnablesIt() {
        ForkRegistry registry = new ForkRegistry("off");
        RequestTracker tracker = RequestTracker.of(registry);
        assertThat(RequestTracker.of(registry)).isSameAs(tracker);
        assertThat(tracker.enabled()).isFalse();
        tracker.end(tracker.begin()); // an application may still count: nothing reacts
        assertThat(tracker.served()).isEqualTo(1);
        assertThat(tracker.oldestInFlight()).isNull();
    }

    @Test
    void theLimitIsReportedOnceEvenWhenManyThreadsPassItTogether() throws Exception {
        RequestTracker tracker = RequestTracker.of(new ForkRegistry("limit"));
        List<Long> reported = new CopyOnWriteArrayList<>();
        tracker.enable(1000, false, reported::add);
        tracker.installedBy("Jetty");
        ExecutorService pool = Executors.newFixedThreadPool(8);
        CountDownLatch go = new CountDownLatch(1);
        for (int t = 0; t < 8; t++) {
            pool.execute(() -> {
                try {
                    go.await();
                } catch (InterruptedException e) {
                    return;
                }
                for (int i = 0; i < 500; i++) {
                    tracker.end(tracker.begin());
                }
            });
        }
        go.countDown();
        pool.shutdown();
        assertThat(pool.awaitTermination(30, TimeUnit.SECONDS)).isTrue();
        assertThat(tracker.served()).isEqualTo(4000);
        assertThat(reported).containsExactly(1000L);
        assertThat(tracker.installers()).containsExactly("Jetty");
        assertThat(tracker.enabled()).isTrue();
    }

    @Test
    void theOldestRequestInFlightIsKnownWithItsThreadUntilItEnds() throws Exception {
        RequestTracker tracker = RequestTracker.of(new ForkRegistry("inflight"));
        tracker.enable(0, true, n -> {
            throw new AssertionError("no limit");
        });
        RequestTracker.Request first = tracker.begin();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (System.nanoTime() - deadline < 0 && tracker.oldestInFlight().ageMillis() < 20) {
            Thread.onSpinWait();
        }
        Thread other = new Thread(() -> tracker.begin(), "second-request");
        other.start();
        other.join();
        RequestTracker.InFlight oldest = tracker.oldestInFlight();
        assertThat(oldest.thread()).isEqualTo(Thread.currentThread().getName());
        assertThat(oldest.ageMillis()).isGreaterThanOrEqualTo(20);
        tracker.end(first);
        assertThat(tracker.oldestInFlight().thread()).isEqualTo("second-request");
        assertThat(tracker.served()).isEqualTo(1);
    }

    @Test
    void aNegativeLimitIsRefused() {
        RequestTracker tracker = RequestTracker.of(new ForkRegistry("negative"));
        assertThatThrownBy(() -> tracker.enable(-1, false, n -> {
        })).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("0 (none) or positive");
        assertThat(tracker.enabled()).isFalse();
    }

    @Test
    void aCopyOfACheckpointedTemplateRestartsFromZeroWithItsOwnLimitAndReportsOnce() {
        RequestTracker tracker = RequestTracker.of(new ForkRegistry("template"));
        assertThatThrownBy(() -> tracker.restart(5, n -> {
        })).isInstanceOf(IllegalStateException.class).hasMessageContaining("call enable() before the server starts");
        tracker.enable(0, true, n -> {
            throw new AssertionError("the template never asks");
        });
        for (int i = 0; i < 7; i++) {
            tracker.end(tracker.begin()); // the template's warm-up requests
        }
        assertThat(tracker.served()).isEqualTo(7);
        List<Long> reported = new CopyOnWriteArrayList<>();
        tracker.restart(3, reported::add);
        assertThat(tracker.served()).as("the copy counts its own requests").isZero();
        assertThat(tracker.limit()).isEqualTo(3);
        for (int i = 0; i < 5; i++) {
            tracker.end(tracker.begin());
        }
        assertThat(reported).containsExactly(3L);
        tracker.restart(2, reported::add); // a limit reported before does not stop the next one
        tracker.end(tracker.begin());
        tracker.end(tracker.begin());
        assertThat(reported).containsExactly(3L, 2L);
        assertThat(tracker.oldestInFlight()).as("in-flight tracking kept from enable()").isNull();
        RequestTracker.Request open = tracker.begin();
        assertThat(tracker.oldestInFlight()).isNotNull();
        tracker.end(open);
        assertThatThrownBy(() -> tracker.restart(-1, n -> {
        })).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void theArbiterContractReadsItsNumbersAndRefusesMalformedOnes() {
        assertThat(ArbiterContract.nonNegative(name -> null, ArbiterContract.ENV_MAX_REQUESTS)).isZero();
        assertThat(ArbiterContract.nonNegative(name -> " 42 ", ArbiterContract.ENV_MAX_REQUESTS)).isEqualTo(42);
        assertThatThrownBy(() -> ArbiterContract.nonNegative(name -> "-3", ArbiterContract.ENV_MAX_REQUESTS))
                .isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("malformed FORKSAFE_ARBITER_MAX_REQUESTS=-3");
    }
}
