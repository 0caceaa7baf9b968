package io.forksafe.undertow;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.forksafe.EventType;
import io.forksafe.ForkRegistry;
import io.forksafe.Forksafe;
import io.forksafe.Subscription;
import io.forksafe.WorkerExit;
import io.forksafe.WorkerKind;
import io.forksafe.servlet.ForksafeStatusServlet;
import io.undertow.Handlers;
import io.undertow.Undertow;
import io.undertow.server.HttpHandler;
import io.undertow.servlet.Servlets;
import io.undertow.servlet.api.DeploymentInfo;
import io.undertow.servlet.api.DeploymentManager;
import io.undertow.servlet.util.ImmediateInstanceFactory;
import jakarta.servlet.http.HttpServlet;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.net.http.HttpClient;
import java.net.http.HttpResponse;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;

import static io.forksafe.undertow.TestSupport.get;
import static io.forksafe.undertow.TestSupport.getAsync;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * Servlet deployments on a plain Undertow (no ForksafeUndertow call anywhere): forksafe's jar on the class path is the
 * only forksafe thing, and its ServletExtension wires each deployment.
 */
class ServletDeploymentTest {

    private final HttpClient client = TestSupport.client();
    private final ObjectMapper json = new ObjectMapper();

    /** A plain application servlet: it knows nothing about forksafe. The latches only let the test hold requests. */
    public static final class HelloServlet extends HttpServlet {
        private static final long serialVersionUID = 1L;
        static final Set<Long> THREADS = ConcurrentHashMap.newKeySet();
        static volatile CountDownLatch inside = new CountDownLatch(0);
        static volatile CountDownLatch release = new CountDownLatch(0);

        @Override
        protected void doGet(HttpServletRequest req, HttpServletResponse resp) throws IOException {
            THREADS.add(Thread.currentThread().getId());
            inside.countDown();
            try {
                release.await(20, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            resp.setContentType("text/plain");
            resp.getWriter().write("hello from " + Thread.currentThread().getName());
        }
    }

    private static DeploymentManager deploy(DeploymentInfo info) {
        DeploymentManager manager = Servlets.defaultContainer().addDeployment(info);
        manager.deploy();
        return manager;
    }

    @Test
    void aPlainDeploymentIsAutoconfiguredByTheClassPathAlone() throws Exception {
        ForkRegistry global = Forksafe.registry();
        String deployment = "plain-app.war";
        String prefix = "forksafe-servlet-" + deployment + " task-";
        TestSupport.Recorder recorder = new TestSupport.Recorder(global,
                e -> e.worker().name().startsWith(prefix));

        DeploymentInfo info = Servlets.deployment()
                .setClassLoader(ServletDeploymentTest.class.getClassLoader())
                .setContextPath("/app")
                .setDeploymentName(deployment)
                .addServlets(Servlets.servlet("hello", HelloServlet.class).addMapping("/hello"));
        DeploymentManager manager = deploy(info);
        HttpHandler app = manager.start();
        Undertow server = Undertow.builder().setIoThreads(1)
                .addHttpListener(0, "127.0.0.1")
                .setHandler(Handlers.path().addPrefixPath("/app", app))
                .build();
        server.start();
        int[] threadsCreated = new int[1];
        try {
            String base = "http://127.0.0.1:" + TestSupport.port(server);
            int n = 4;
            HelloServlet.THREADS.clear();
            HelloServlet.inside = new CountDownLatch(n);
            HelloServlet.release = new CountDownLatch(1);
            List<CompletableFuture<HttpResponse<String>>> held = new ArrayList<>();
            for (int i = 0; i < n; i++) {
                held.add(getAsync(client, base + "/app/hello"));
            }
            assertThat(HelloServlet.inside.await(20, TimeUnit.SECONDS)).isTrue();
            HelloServlet.release.countDown();
            for (CompletableFuture<HttpResponse<String>> f : held) {
                HttpResponse<String> r = f.get(20, TimeUnit.SECONDS);
                assertThat(r.statusCode()).isEqualTo(200);
                assertThat(r.body()).startsWith("hello from " + prefix);
            }
            for (int i = 0; i < 40; i++) {
                assertThat(get(client, base + "/app/hello").statusCode()).isEqualTo(200);
            }
            // The pool may add a thread for a task even while another thread is about to become idle, so 44
            // requests may create more than the n threads held at once: compare with the threads that served.
            int created = HelloServlet.THREADS.size();
            assertThat(created).isGreaterThanOrEqualTo(n);
            threadsCreated[0] = created;
            List<TestSupport.Seen> postForks = recorder.of(EventType.POST_FORK, WorkerKind.THREAD);
            assertThat(postForks.stream().map(TestSupport.Seen::threadId).collect(Collectors.toSet()))
                    .isEqualTo(HelloServlet.THREADS);
            assertThat(recorder.count(EventType.PRE_FORK, WorkerKind.THREAD)).isEqualTo(created);
            assertThat(recorder.count(EventType.POST_FORK_PARENT, WorkerKind.THREAD)).isEqualTo(created);

            // The test reads the status; the application and the server code never mention forksafe.
            JsonNode root = json.readTree(global.status().toJson());
            JsonNode record = null;
            for (JsonNode d : root.path("details").path("undertow").path("deployments")) {
                if (d.path("deployment").asText().equals(deployment)) {
                    record = d;
                }
            }
            assertThat(record).as("deployment %s in %s", deployment, root).isNotNull();
            assertThat(record.path("state").asText()).isEqualTo("deployed");
            assertThat(record.path("contextPath").asText()).isEqualTo("/app");
            assertThat(record.path("taskPool").path("threadsCreated").asLong()).isEqualTo(created);
            assertThat(root.path("autoconfigureLog").toString())
                    .contains("Undertow servlet deployment '" + deployment + "' hook configured")
                    .contains("Undertow servlet deployment '" + deployment + "' deployed");
        } finally {
            manager.stop();
            manager.undeploy();
            server.stop();
        }
        List<TestSupport.Seen> exits = recorder.of(EventType.WORKER_EXIT, WorkerKind.THREAD);
        assertThat(exits).hasSize(threadsCreated[0]);
        assertThat(exits.stream().map(TestSupport.Seen::threadId).collect(Collectors.toSet()))
                .isEqualTo(HelloServlet.THREADS);
        assertThat(exits).allSatisfy(s -> assertThat(((WorkerExit) s.event()).reason()).isEqualTo("server stopping"));
        assertThat(global.status().toJson()).contains("\"undeployed\"");
        EmbeddedEventsTest.assertPerWorkerOrder(recorder);
    }

    @Test
    void onAnInstalledServerServletsRunOnTheServersForksafeThreads() throws Exception {
        ForkRegistry registry = new ForkRegistry("undertow-installed-servlets");
        TestSupport.Recorder recorder = new TestSupport.Recorder(registry);
        DeploymentManager manager = deploy(Servlets.deployment()
                .setClassLoader(ServletDeploymentTest.class.getClassLoader())
                .setContextPath("/inst")
                .setDeploymentName("on-installed.war")
                .addServlets(Servlets.servlet("hello", HelloServlet.class).addMapping("/hello")));
        Undertow server = ForksafeUndertow.install(Undertow.builder().setIoThreads(1).setWorkerThreads(2), registry)
                .addHttpListener(0, "127.0.0.1")
                .setHandler(Handlers.path().addPrefixPath("/inst", manager.start()))
                .build();
        ForksafeUndertow.start(server);
        try {
            HelloServlet.inside = new CountDownLatch(0);
            HelloServlet.release = new CountDownLatch(0);
            for (int i = 0; i < 5; i++) {
                HttpResponse<String> r = get(client, "http://127.0.0.1:" + TestSupport.port(server) + "/inst/hello");
                assertThat(r.body()).startsWith("hello from forksafe-undertow-");
            }
            assertThat(recorder.count(EventType.POST_FORK, WorkerKind.THREAD)).isBetween(1L, 2L);
            // The deployment's own pool (reporting to the global registry) was never needed.
            JsonNode pool = null;
            for (JsonNode d : json.readTree(Forksafe.registry().status().toJson()).path("details").path("undertow")
                    .path("deployments")) {
                if (d.path("deployment").asText().equals("on-installed.war")) {
                    pool = d.path("taskPool");
                }
            }
            assertThat(pool).isNotNull();
            assertThat(pool.path("threadsCreated").asLong()).isZero();
        } finally {
            manager.stop();
            manager.undeploy();
            ForksafeUndertow.stop(server);
        }
    }

    @Test
    void aDeploymentWithItsOwnExecutorIsRecordedButLeftAlone() throws Exception {
        java.util.concurrent.ExecutorService own = java.util.concurrent.Executors.newFixedThreadPool(2,
                r -> new Thread(r, "app-own-executor"));
        DeploymentInfo info = Servlets.deployment()
                .setClassLoader(ServletDeploymentTest.class.getClassLoader())
                .setContextPath("/own")
                .setDeploymentName("own-executor.war")
                .setExecutor(own)
                .addServlets(Servlets.servlet("hello", HelloServlet.class).addMapping("/hello"));
        DeploymentManager manager = deploy(info);
        Undertow server = Undertow.builder().setIoThreads(1).addHttpListener(0, "127.0.0.1")
                .setHandler(Handlers.path().addPrefixPath("/own", manager.start())).build();
        server.start();
        try {
            HelloServlet.inside = new CountDownLatch(0);
            HelloServlet.release = new CountDownLatch(0);
            HttpResponse<String> r = get(client, "http://127.0.0.1:" + TestSupport.port(server) + "/own/hello");
            assertThat(r.body()).isEqualTo("hello from app-own-executor");
            assertThat(Forksafe.registry().status().toJson()).contains("own-executor.war")
                    .contains("the deployment's own executor");
        } finally {
            manager.stop();
            manager.undeploy();
            server.stop();
            own.shutdownNow();
        }
    }

    @Test
    void theTaskPoolCanBeSwitchedOffBySetting() throws Exception {
        System.setProperty("forksafe.undertow.servletExecutor", "false");
        DeploymentManager manager;
        try {
            manager = deploy(Servlets.deployment()
                    .setClassLoader(ServletDeploymentTest.class.getClassLoader())
                    .setContextPath("/off")
                    .setDeploymentName("executor-off.war")
                    .addServlets(Servlets.servlet("hello", HelloServlet.class).addMapping("/hello")));
        } finally {
            System.clearProperty("forksafe.undertow.servletExecutor");
        }
        Undertow server = Undertow.builder().setIoThreads(1).addHttpListener(0, "127.0.0.1")
                .setHandler(Handlers.path().addPrefixPath("/off", manager.start())).build();
        server.start();
        try {
            HelloServlet.inside = new CountDownLatch(0);
            HelloServlet.release = new CountDownLatch(0);
            HttpResponse<String> r = get(client, "http://127.0.0.1:" + TestSupport.port(server) + "/off/hello");
            assertThat(r.body()).startsWith("hello from XNIO-"); // Undertow's own worker thread
            assertThat(Forksafe.registry().status().toJson()).contains("executor-off.war")
                    .contains("disabled by forksafe.undertow.servletExecutor=false");
        } finally {
            manager.stop();
            manager.undeploy();
            server.stop();
        }
    }

    @Test
    void theCoreStatusServletServesJsonTextAndRefusesRemotePeers() throws Exception {
        ForkRegistry registry = new ForkRegistry("undertow-status-servlet");
        registry.markConfigured("status servlet test");
        DeploymentInfo info = Servlets.deployment()
                .setClassLoader(ServletDeploymentTest.class.getClassLoader())
                .setContextPath("/")
                .setDeploymentName("status-servlet.war")
                .addServlets(Servlets.servlet("forksafe-status", ForksafeStatusServlet.class,
                        new ImmediateInstanceFactory<>(new ForksafeStatusServlet(registry)))
                        .addMapping("/forksafe/status"));
        DeploymentManager manager = deploy(info);
        HttpHandler servlets = manager.start();
        Undertow server = Undertow.builder().setIoThreads(1).addHttpListener(0, "127.0.0.1")
                .setHandler(Handlers.path(servlets)
                        .addPrefixPath("/remote", exchange -> {
                            exchange.setRelativePath(exchange.getRelativePath());
                            StatusAndFailureIsolationTest.fromRemotePeer(servlets).handleRequest(exchange);
                        }))
                .build();
        server.start();
        try {
            String base = "http://127.0.0.1:" + TestSupport.port(server);
            HttpResponse<String> r = get(client, base + "/forksafe/status");
            assertThat(r.statusCode()).isEqualTo(200);
            assertThat(json.readTree(r.body()).path("status").asText()).isEqualTo("status servlet test mark_configured");
            HttpResponse<String> text = get(client, base + "/forksafe/status?format=text");
            assertThat(text.headers().firstValue("Content-Type").orElse("")).startsWith("text/plain");
            assertThat(text.body()).contains("status servlet test");
            // /remote/forksafe/status reaches the same servlet with the peer address of a remote client.
            HttpResponse<String> refused = get(client, base + "/remote/forksafe/status");
            assertThat(refused.statusCode()).isEqualTo(403);
            assertThat(refused.body()).contains("loopback clients only");
        } finally {
            manager.stop();
            manager.undeploy();
            server.stop();
        }
    }
}
