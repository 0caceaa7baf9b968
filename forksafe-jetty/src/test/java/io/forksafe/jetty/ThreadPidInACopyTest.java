package io.forksafe.jetty;

import io.forksafe.spi.HostContext;
import static org.assertj.core.api.Assertions.assertThat;

import io.forksafe.ForkRegistry;
import io.forksafe.PostFork;
import io.forksafe.WorkerInfo;
import io.forksafe.WorkerKind;

import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/**
 * In a restored copy {@code ProcessHandle.current().pid()} is the template's pid; worker threads take the pid the
 * copy was identified with instead, so two copies' threads are told apart.
 */
class ThreadPidInACopyTest {

    @Test
    void aPoolThreadCarriesTheIdentifiedProcessPid() throws Exception {
        ForkRegistry registry = new ForkRegistry("copy");
        long copyPid = ProcessHandle.current().pid() + 100_000; // not this JVM's pid, as in a restored copy
        HostContext.of(registry).identifyProcess(new WorkerInfo(2, "copy-2", WorkerKind.RESTORE, copyPid, 1, 1));
        List<WorkerInfo> threads = new CopyOnWriteArrayList<>();
        registry.subscribe(PostFork.class, e -> threads.add(e.worker()));
        ForksafeThreadPool pool = ForksafeJetty.threadPool(registry, 4, 1, 60_000);
        pool.start();
        try {
            CountDownLatch ran = new CountDownLatch(1);
            pool.execute(ran::countDown);
            assertThat(ran.await(20, TimeUnit.SECONDS)).isTrue();
        } finally {
            pool.stop();
        }
        assertThat(threads).isNotEmpty().allSatisfy(w -> {
            assertThat(w.kind()).isEqualTo(WorkerKind.THREAD);
            assertThat(w.pid()).isEqualTo(copyPid);
            assertThat(w.parentPid()).isEqualTo(copyPid);
        });
    }
}
