package io.forksafe.jetty;

import com.fasterxml.jackson.databind.JsonNode;

import io.forksafe.ForkRegistry;
import io.forksafe.PostFork;
import io.forksafe.PostWorkerInit;
import io.forksafe.PreFork;
import io.forksafe.WorkerExit;
import io.forksafe.WorkerKind;
import io.forksafe.jetty.JettyTestSupport.Recorder;

import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.handler.ContextHandler;
import org.eclipse.jetty.util.thread.QueuedThreadPool;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.net.http.HttpClient;

import static io.forksafe.jetty.JettyTestSupport.get;
import static io.forksafe.jetty.JettyTestSupport.json;
import static io.forksafe.jetty.JettyTestSupport.uri;
import static org.assertj.core.api.Assertions.assertThat;

/** Each misconfiguration becomes a status error and a log line that name the problem and the fix. */
class MisconfigurationTest {

    private Server server;
    private final HttpClient client = JettyTestSupport.client();

    @AfterEach
    void stop() throws Exception {
        if (server != null) {
            server.stop();
        }
    }

    private Server serverWith(QueuedThreadPool pool, ForkRegistry registry) {
        Server s = new Server(pool);
        JettyTestSupport.loopbackConnector(s);
        s.setHandler(ForksafeJetty.statusContext("/forksafe/status", ForksafeJetty.statusHandler(registry)));
        return s;
    }

    private JsonNode statusOverHttp() throws Exception {
        var r = get(client, uri(server, "/forksafe/status"));
        assertThat(r.statusCode()).isEqualTo(200);
        return json(r.body());
    }

    @Test
    void installAfterStartIsAnError() throws Exception {
        ForkRegistry registry = new ForkRegistry("late");
        server = serverWith(ForksafeJetty.threadPool(registry, 16, 2, 60_000), registry);
        server.start();
        ForksafeJetty.install(server, registry);

        JsonNode status = statusOverHttp();
        String line = status.path("status").asText();
        assertThat(line).startsWith("Jetty error: ").contains("install(server) was called after the server started",
                "Call install(server) before server.start()");
        assertThat(status.path("errors").toString()).contains("after the server started");
        assertThat(status.path("autoconfigureLog").toString()).contains("after the server started");
        assertThat(registry.status().isError()).isTrue();
    }

    @Test
    void poolThatIsNotTheHookedOneIsAnErrorAndProducesNoThreadEvents() throws Exception {
        ForkRegistry registry = new ForkRegistry("plain");
        Recorder rec = new Recorder(registry);
        QueuedThreadPool plain = new QueuedThreadPool(16, 2, 60_000);
        server = serverWith(plain, registry);
        ForksafeJetty.install(server, registry);
        server.start();
        for (int i = 0; i < 5; i++) {
            assertThat(get(client, uri(server, "/forksafe/status")).statusCode()).isEqualTo(200);
        }

        JsonNode status = statusOverHttp();
        assertThat(status.path("status").asText()).startsWith("Jetty error: ")
                .contains("org.eclipse.jetty.util.thread.QueuedThreadPool, not the forksafe pool",
                        "no PreFork/PostFork/WorkerExit events", "new Server(ForksafeJetty.threadPool())");
        assertThat(status.path("details").path("jetty").path("threadPool").path("hooked").asBoolean()).isFalse();
        assertThat(status.path("autoconfigureLog").toString()).contains("NOT hooked")
                .doesNotContain("Jetty hook configured");
        assertThat(plain.getThreads()).isGreaterThan(0);
        assertThat(rec.threadEvents(PreFork.class)).isEmpty();
        assertThat(rec.threadEvents(PostFork.class)).isEmpty();
        // Process-level events still work.
        assertThat(rec.of(PostWorkerInit.class)).hasSize(1);
    }

    @Test
    void twoInstallsAreAnErrorAndDoNotDoubleEvents() throws Exception {
        ForkRegistry registry = new ForkRegistry("twice");
        Recorder rec = new Recorder(registry);
        server = serverWith(ForksafeJetty.threadPool(registry, 16, 2, 60_000), registry);
        ForksafeJetty.install(server, registry);
        ForksafeJetty.install(server, registry);
        server.start();

        JsonNode status = statusOverHttp();
        assertThat(status.path("status").asText()).startsWith("Jetty error: ")
                .contains("install(server) was called twice", "the second call was ignored", "Remove one");
        assertThat(status.path("errors")).hasSize(1);
        server.stop();
        assertThat(rec.of(PostWorkerInit.class)).hasSize(1);
        assertThat(rec.of(WorkerExit.class).stream().filter(s -> s.event().worker().kind() == WorkerKind.PROCESS))
                .hasSize(1);
        assertThat(rec.threadEvents(PostFork.class)).hasSameSizeAs(rec.threadEvents(WorkerExit.class));
    }

    @Test
    void poolAndInstallOnDifferentRegistriesIsAnError() throws Exception {
        ForkRegistry poolRegistry = new ForkRegistry("pool-side");
        ForkRegistry installRegistry = new ForkRegistry("install-side");
        server = serverWith(ForksafeJetty.threadPool(poolRegistry, 16, 2, 60_000), installRegistry);
        ForksafeJetty.install(server, installRegistry);
        server.start();
        assertThat(statusOverHttp().path("status").asText()).startsWith("Jetty error: ")
                .contains("registry 'pool-side'", "registry 'install-side'", "Pass the same registry");
    }
}
