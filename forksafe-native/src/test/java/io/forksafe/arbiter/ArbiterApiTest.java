package io.forksafe.arbiter;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;

import io.forksafe.ChildExit;
import io.forksafe.ForkRegistry;
import io.forksafe.PostForkParent;
import io.forksafe.PreFork;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.net.Inet6Address;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

import org.junit.jupiter.api.Test;

/** The arbiter as a library object in this JVM (as from a main or jshell): build, start, inspect, stop, join. */
class ArbiterApiTest {

    @Test
    void startInspectStopJoinInProcessOnIpv6WithAStatusFile() throws Exception {
        Path dir = ArbiterRun.tempDir();
        ForkRegistry registry = new ForkRegistry("arbiter-api-test");
        List<String> events = new CopyOnWriteArrayList<>();
        registry.subscribe(PreFork.class, e -> events.add("PreFork " + e.worker().slot()));
        registry.subscribe(PostForkParent.class, e -> events.add("PostForkParent " + e.worker().pid()));
        registry.subscribe(ChildExit.class, e -> events.add("ChildExit " + e.worker().pid() + " " + e.exitStatus()));
        ByteArrayOutputStream console = new ByteArrayOutputStream();
        PrintStream both = new PrintStream(console, true, StandardCharsets.UTF_8);
        Arbiter arbiter = Arbiter.create(ArbiterConfig.builder()
                .workers(1)
                .bind("[::1]:0")
                .app(ArbiterRun.APP)
                .jvmOptions(List.of(ArbiterRun.FAST_JVM.split(" ")))
                .statusFile(dir.resolve("status.json"))
                .gracefulTimeout(Duration.ofSeconds(10))
                .console(both, both)
                .printEvents(true)
                .environment("TESTAPP_READY_VIA", "api")
                .build(), registry);
        try {
            arbiter.start();
            assertThatThrownBy(arbiter::start).hasMessageContaining("already started");
            assertThat(arbiter.address().getAddress()).isInstanceOf(Inet6Address.class);
            int port = arbiter.address().getPort();
            long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
            while (!(arbiter.workers().size() == 1 && arbiter.workers().get(0).state().equals("ready"))
                    && System.nanoTime() < deadline) {
                Thread.sleep(20);
            }
            Arbiter.WorkerStatus w = arbiter.workers().get(0);
            assertThat(w.state()).as(console.toString(StandardCharsets.UTF_8)).isEqualTo("ready");
            assertThat(w.slot()).isEqualTo(1);
            assertThat(w.generation()).isZero();

            try (java.net.Socket s = new java.net.Socket("::1", port)) {
                s.getOutputStream().write("GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
                assertThat(new String(s.getInputStream().readAllBytes(), StandardCharsets.UTF_8))
                        .startsWith("HTTP/1.1 200").contains("pid=" + w.pid());
            }
            deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
            while (!Files.exists(dir.resolve("status.json")) && System.nanoTime() < deadline) {
                Thread.sleep(20);
            }
            JsonNode file = ArbiterRun.parse(Files.readString(dir.resolve("status.json")));
            assertThat(file.path("details").path("arbiter").path("bind").asText()).isEqualTo("[0:0:0:0:0:0:0:1]:" + port);
            assertThat(events).containsExactly("PreFork 1", "PostForkParent " + w.pid());

            arbiter.stop();
            assertThat(arbiter.join(Duration.ofSeconds(20))).isTrue();
            assertThat(arbiter.join()).isZero();
            assertThat(arbiter.isStopped()).isTrue();
            assertThat(events).last().asString().startsWith("ChildExit " + w.pid());
            assertThat(ProcessHandle.of(w.pid()).map(ProcessHandle::isAlive).orElse(false)).isFalse();
            String out = console.toString(StandardCharsets.UTF_8);
            assertThat(out).contains("[worker-1 pid " + w.pid() + "] tiny worker serving");
            // ready() published PostWorkerInit; the worker side published WorkerExit at shutdown, once
            String label = "worker-1 (pid " + w.pid() + ", generation 0) event ";
            assertThat(out).contains(label + "PostFork", label + "PostWorkerInit", label + "WorkerExit");
            assertThat(out.split(java.util.regex.Pattern.quote(label + "WorkerExit"), -1)).hasSize(2);
        } finally {
            arbiter.stop();
            arbiter.join(Duration.ofSeconds(20));
            arbiter.workers().forEach(x -> ProcessHandle.of(x.pid()).ifPresent(ProcessHandle::destroyForcibly));
        }
    }
}
