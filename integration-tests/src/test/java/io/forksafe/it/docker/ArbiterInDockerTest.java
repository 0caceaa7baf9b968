package io.forksafe.it.docker;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.github.dockerjava.api.command.InspectContainerResponse;

import java.io.IOException;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The forksafe arbiter as PID 1 of a real Linux container (Docker, through Testcontainers), with two Jetty worker
 * JVMs on the host network. Docker's own verbs drive it: {@code docker stop} (SIGTERM to PID 1, SIGKILL after the
 * grace period), {@code docker kill -s HUP}, and a memory limit that gets one worker OOM-killed. The load and the
 * status requests go from this JVM to 127.0.0.1.
 *
 * <p>Runs with {@code mvn verify} after {@code bash .ci/docker.sh}; skipped, with the reason printed, when no
 * Docker engine is reachable.
 */
@Tag("docker")
@Timeout(value = 3, unit = TimeUnit.MINUTES)
class ArbiterInDockerTest {

    private static final String DEMO_APP = "io.forksafe.demo.JettyWorkerApp";
    private static final String TEST_APP = ContainerWorkerApp.class.getName();
    private static final String ARBITER_PRINTER = "forksafe.arbiter.printEvents";
    private static final String WORKER_JVM = ArbiterContainer.FAST_JVM + " -Xmx128m";

    @Test
    void theDemoArbiterIsPidOneItsStatusIsReachableFromTheHostAndSighupRollsTheWorkersWithoutAFailedRequest()
            throws Exception {
        LocalImage image = DockerEngine.image();   // skips the test, with the reason printed, without an engine
        long t0 = System.nanoTime();
        try (ArbiterContainer arbiter = new ArbiterContainer(image, DEMO_APP,
                List.of("--workers", "2", "--graceful-timeout", "10s", "--print-events"), WORKER_JVM, 0).start()) {
            List<JsonNode> ready = arbiter.awaitWorkers(ws -> ArbiterContainer.allReady(ws, 2));
            long bootMillis = (System.nanoTime() - t0) / 1_000_000;
            Set<Long> old = pids(ready);

            // the arbiter's status, from the host: it is PID 1 of the container, and lists both workers
            JsonNode status = arbiter.status();
            assertThat(status.path("pid").asLong()).as("the arbiter is the container's PID 1").isEqualTo(1);
            assertThat(status.path("status").asText()).isEqualTo("forksafe-arbiter hook configured");
            assertThat(ready).extracting(w -> w.path("slot").asInt()).containsExactlyInAnyOrder(1, 2);
            for (JsonNode w : ready) {
                assertThat(w.path("generation").asInt()).isZero();
                assertThat(w.path("events").toString()).contains("PostFork", "PostWorkerInit");
            }
            // the arbiter's own events (its --print-events subscriber): PreFork and PostForkParent per spawn
            assertThat(hookCount(status, ARBITER_PRINTER, "PreFork")).isEqualTo(2);
            assertThat(hookCount(status, ARBITER_PRINTER, "PostForkParent")).isEqualTo(2);
            assertThat(hookCount(status, ARBITER_PRINTER, "ChildExit")).isZero();
            // a worker's own status, through the shared port: its parent is the arbiter, PID 1
            JsonNode worker = ArbiterContainer.JSON.readTree(Http.get(arbiter.port(), "/forksafe/status").body());
            assertThat(worker.path("details").path("arbiterWorker").path("arbiterPid").asLong()).isEqualTo(1);
            assertThat(old).contains(worker.path("pid").asLong());
            assertThat(hookCount(worker, "worker-app.printer", "PostFork")).isGreaterThanOrEqualTo(1);
            assertThat(hookCount(worker, "worker-app.printer", "PostWorkerInit")).isGreaterThanOrEqualTo(1);

            // docker kill -s HUP under load, twice (-Dforksafe.docker.rolls=N for more): rolling restarts, no failed
            // request, new worker pids each time
            int rolls = Integer.getInteger("forksafe.docker.rolls", 2);
            try (Http.Load load = new Http.Load(arbiter.port(), 4)) {
                Set<Long> previous = old;
                Set<Long> seen = new java.util.HashSet<>(old);
                StringBuilder timings = new StringBuilder();
                for (int generation = 1; generation <= rolls; generation++) {
                    load.awaitSuccesses(200);
                    long hupAt = System.nanoTime();
                    arbiter.kill("HUP");
                    int g = generation;
                    List<JsonNode> rolled = arbiter.awaitWorkers(ws -> ArbiterContainer.allReady(ws, 2)
                            && ws.stream().allMatch(w -> w.path("generation").asInt() == g));
                    timings.append(generation == 1 ? "" : ", ").append((System.nanoTime() - hupAt) / 1_000_000).append(" ms");
                    for (long p : previous) {
                        arbiter.awaitLine(l -> l.contains("(pid " + p + ", generation " + (g - 1) + ") exited"),
                                ArbiterContainer.BOOT);
                    }
                    Set<Long> fresh = pids(rolled);
                    assertThat(fresh).as("new worker pids after rolling restart %d", generation)
                            .doesNotContainAnyElementsOf(seen);
                    seen.addAll(fresh);
                    previous = fresh;
                }
                load.awaitSuccesses(200);
                load.close();
                System.out.println("docker: arbiter container start -> 2 Jetty workers ready in " + bootMillis
                        + " ms; docker kill -s HUP -> both slots on the next generation in " + timings + "; pids "
                        + old + " -> " + previous + "; load " + load);
                assertThat(load.refused.get()).as("%s", load).isZero();
                assertThat(load.failed.get()).as("%s", load).isZero();
                assertThat(load.byPid.keySet()).as("the last generation served: %s", load)
                        .containsAnyElementsOf(previous.stream().map(String::valueOf).collect(Collectors.toSet()));
            }
            // every replaced worker was spawned (PreFork, PostForkParent) and reaped (ChildExit) by the arbiter
            JsonNode after = arbiter.status();
            assertThat(hookCount(after, ARBITER_PRINTER, "PreFork")).isEqualTo(2 + 2L * rolls);
            assertThat(hookCount(after, ARBITER_PRINTER, "PostForkParent")).isEqualTo(2 + 2L * rolls);
            assertThat(hookCount(after, ARBITER_PRINTER, "ChildExit")).isEqualTo(2L * rolls);
            // PID 1 reaped every worker it replaced: the arbiter and the two new workers, no zombie
            List<String> processes = arbiter.processes();
            assertThat(processes).as("docker top").hasSize(3).noneMatch(p -> p.startsWith("Z"))
                    .allMatch(p -> p.contains("/opt/java/bin/java"));
            assertThat(arbiter.state().getRunning()).isTrue();
        }
    }

    @Test
    void dockerStopLetsASlowRequestFinishAndTheContainerExitsZeroWithinTheGracefulTimeout() throws Exception {
        LocalImage image = DockerEngine.image();
        int gracefulSeconds = 10;
        try (ArbiterContainer arbiter = new ArbiterContainer(image, TEST_APP,
                List.of("--workers", "2", "--graceful-timeout", gracefulSeconds + "s"), WORKER_JVM, 0).start()) {
            arbiter.awaitWorkers(ws -> ArbiterContainer.allReady(ws, 2));

            CompletableFuture<Http.Reply> slow = CompletableFuture.supplyAsync(() -> {
                try {
                    return Http.get(arbiter.port(), "/slow?ms=3000");
                } catch (IOException e) {
                    throw new IllegalStateException("the slow request failed: " + e, e);
                }
            });
            arbiter.awaitLine(l -> l.contains("slow request started"), Duration.ofSeconds(20));

            // docker stop: SIGTERM to PID 1 (the arbiter); SIGKILL only after 30 s, well past the graceful timeout
            long stopAt = System.nanoTime();
            arbiter.dockerStop(30);
            long stopMillis = (System.nanoTime() - stopAt) / 1_000_000;
            Http.Reply reply = slow.get(30, TimeUnit.SECONDS);
            InspectContainerResponse.ContainerState state = arbiter.state();
            System.out.println("docker: docker stop with a 3 s request in flight -> container exited " + state.getExitCodeLong()
                    + " after " + stopMillis + " ms; the request answered " + reply.statusLine());

            assertThat(reply.code()).as("the in-flight request completes").isEqualTo(200);
            assertThat(reply.body()).startsWith("slow done after 3000 ms");
            assertThat(state.getRunning()).isFalse();
            assertThat(state.getExitCodeLong()).as("exit code of the container (137 = SIGKILLed by docker stop)\n%s",
                    arbiter.output()).isZero();
            assertThat(stopMillis).as("docker stop returned within the arbiter's graceful timeout")
                    .isLessThan(gracefulSeconds * 1000L);
            arbiter.awaitLine(l -> l.contains("stopped (exit code 0)"), Duration.ofSeconds(5));
        }
    }

    @Test
    void aWorkerOomKilledByTheContainersMemoryLimitIsRespawnedAndTheStatusShowsItsExit() throws Exception {
        LocalImage image = DockerEngine.image();
        Assumptions.assumeTrue(Boolean.TRUE.equals(DockerEngine.require().infoCmd().exec().getMemoryLimit()),
                "this Docker engine does not support memory limits (no memory cgroup)");
        // The workers' heap may grow to 2 GiB, the container has 512 MiB: the worker that allocates hits the cgroup
        // limit long before its heap limit, and the kernel's OOM killer ends it (SIGKILL, exit status 137).
        long limit = 512L * 1024 * 1024;
        try (ArbiterContainer arbiter = new ArbiterContainer(image, TEST_APP,
                List.of("--workers", "2", "--print-events"), ArbiterContainer.FAST_JVM + " -Xms16m -Xmx2g", limit)
                .start()) {
            List<JsonNode> before = arbiter.awaitWorkers(ws -> ArbiterContainer.allReady(ws, 2));

            CompletableFuture<String> hog = CompletableFuture.supplyAsync(() -> {
                try {
                    return "answered " + Http.get(arbiter.port(), "/allocate", 60_000);
                } catch (IOException e) {
                    return "connection ended: " + e;   // expected: the worker was killed mid-request
                }
            });
            Matcher m = Pattern.compile("\\[worker-(\\d+) pid (\\d+)] allocating until killed")
                    .matcher(arbiter.awaitLine(l -> l.contains("allocating until killed"), Duration.ofSeconds(20)));
            assertThat(m.find()).isTrue();
            int slot = Integer.parseInt(m.group(1));
            long victim = Long.parseLong(m.group(2));
            JsonNode other = before.stream().filter(w -> w.path("slot").asInt() != slot).findFirst().orElseThrow();

            long t0 = System.nanoTime();
            List<JsonNode> after = arbiter.awaitWorkers(ws -> ArbiterContainer.allReady(ws, 2) && ws.stream()
                    .anyMatch(w -> w.path("slot").asInt() == slot && w.path("pid").asLong() != victim));
            long respawnMillis = (System.nanoTime() - t0) / 1_000_000;
            String outcome = hog.get(60, TimeUnit.SECONDS);
            JsonNode replaced = after.stream().filter(w -> w.path("slot").asInt() == slot).findFirst().orElseThrow();
            JsonNode untouched = after.stream().filter(w -> w.path("slot").asInt() != slot).findFirst().orElseThrow();
            JsonNode status = arbiter.status();
            System.out.println("docker: --memory 512m, worker-" + slot + " (pid " + victim + ") allocating -> "
                    + "OOM-killed and its replacement ready within " + respawnMillis + " ms of the allocation start; "
                    + "slot now " + replaced + "; request " + outcome);

            assertThat(outcome).as("the allocating worker is killed, not out of Java heap").startsWith("connection ended");
            assertThat(replaced.path("lastExitStatus").asInt()).as("128 + SIGKILL from the OOM killer").isEqualTo(137);
            assertThat(replaced.path("generation").asInt()).isEqualTo(1);
            assertThat(replaced.path("restarts").asInt()).isGreaterThanOrEqualTo(1);
            assertThat(untouched.path("pid").asLong()).as("the other worker lives on").isEqualTo(other.path("pid").asLong());
            assertThat(status.path("workerCounters").path("ended").asLong()).isEqualTo(1);
            arbiter.awaitLine(l -> l.contains("event ChildExit worker-" + slot + " pid " + victim + " generation 0 exit status 137"),
                    Duration.ofSeconds(10));
            assertThat(Http.get(arbiter.port(), "/").code()).as("the container still serves").isEqualTo(200);
            assertThat(arbiter.state().getRunning()).isTrue();
        }
    }

    private static long hookCount(JsonNode status, String subscriber, String event) {
        for (JsonNode h : status.path("executedHooks")) {
            if (h.path("subscriber").asText().equals(subscriber) && h.path("event").asText().equals(event)) {
                return h.path("count").asLong();
            }
        }
        return 0;
    }

    private static Set<Long> pids(List<JsonNode> workers) {
        return workers.stream().map(w -> w.path("pid").asLong()).collect(Collectors.toSet());
    }
}
