package io.forksafe.jetty;

import com.fasterxml.jackson.databind.JsonNode;

import io.forksafe.ForkRegistry;
import io.forksafe.StatusEndpoint;
import io.forksafe.servlet.ForksafeStatusServlet;

import jakarta.servlet.DispatcherType;
import jakarta.servlet.Filter;
import jakarta.servlet.FilterChain;
import jakarta.servlet.ServletException;
import jakarta.servlet.ServletRequest;
import jakarta.servlet.ServletResponse;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletRequestWrapper;

import org.eclipse.jetty.ee10.servlet.FilterHolder;
import org.eclipse.jetty.ee10.servlet.ServletContextHandler;
import org.eclipse.jetty.ee10.servlet.ServletHolder;
import org.eclipse.jetty.server.ConnectionMetaData;
import org.eclipse.jetty.server.Handler;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.handler.ContextHandler;
import org.eclipse.jetty.server.handler.ContextHandlerCollection;
import org.eclipse.jetty.util.Callback;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.EnumSet;

import static io.forksafe.jetty.JettyTestSupport.get;
import static io.forksafe.jetty.JettyTestSupport.json;
import static io.forksafe.jetty.JettyTestSupport.uri;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * The status over real HTTP: the core Jetty handler and the core servlet in an EE10 context, JSON by default,
 * {@code ?format=text}, and refusal of a non-loopback client simulated by wrapping the request's remote address.
 */
class StatusEndpointTest {

    private static final String SIMULATED_REMOTE = "203.0.113.7";

    private ForkRegistry registry;
    private Server server;
    private final HttpClient client = JettyTestSupport.client();

    @BeforeEach
    void start() throws Exception {
        registry = new ForkRegistry("status");
        server = new Server(ForksafeJetty.threadPool(registry, 16, 4, 60_000));
        JettyTestSupport.loopbackConnector(server);

        ContextHandlerCollection contexts = new ContextHandlerCollection();
        contexts.addHandler(ForksafeJetty.statusContext("/forksafe/status", ForksafeJetty.statusHandler(registry)));
        contexts.addHandler(ForksafeJetty.statusContext("/simulated-remote/status",
                new SimulatedRemote(ForksafeJetty.statusHandler(registry))));
        contexts.addHandler(ForksafeJetty.statusContext("/simulated-remote-allowed/status", new SimulatedRemote(
                ForksafeJetty.statusHandler(StatusEndpoint.loopbackOnly(registry).allowRemote(true)))));

        ServletContextHandler servlets = new ServletContextHandler("/app");
        servlets.addServlet(new ServletHolder(new ForksafeStatusServlet(registry)), "/forksafe/status");
        servlets.addServlet(new ServletHolder(new ForksafeStatusServlet(registry)), "/remote/forksafe/status");
        servlets.addFilter(new FilterHolder(new SimulatedRemoteFilter()), "/remote/*",
                EnumSet.of(DispatcherType.REQUEST));
        contexts.addHandler(servlets);

        server.setHandler(contexts);
        ForksafeJetty.install(server, registry);
        server.start();
    }

    @AfterEach
    void stop() throws Exception {
        server.stop();
    }

    @Test
    void handlerServesJsonByDefault() throws Exception {
        HttpResponse<String> r = get(client, uri(server, "/forksafe/status"));
        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(r.headers().firstValue("Content-Type")).hasValueSatisfying(v -> assertThat(v)
                .startsWith("application/json"));
        assertThat(r.headers().firstValue("Cache-Control")).contains("no-store");
        JsonNode status = json(r.body());
        assertThat(status.path("status").asText()).isEqualTo("Jetty hook configured");
        assertThat(status.path("environment").asText()).isEqualTo("jetty 12.1.14");
        assertThat(status.path("pid").asLong()).isEqualTo(ProcessHandle.current().pid());
        JsonNode jetty = status.path("details").path("jetty");
        assertThat(jetty.path("jettyVersion").asText()).isEqualTo("12.1.14");
        assertThat(jetty.path("threadPool").path("hooked").asBoolean()).isTrue();
        assertThat(jetty.path("threadPool").path("threadsCreated").asLong()).isGreaterThanOrEqualTo(4);
        assertThat(jetty.path("virtualThreads").asText()).isEqualTo("not used");
        assertThat(jetty.path("connectors").get(0).path("host").asText()).isEqualTo("127.0.0.1");
        assertThat(status.path("autoconfigureLog").toString()).contains("Jetty available", "Jetty hook configured",
                "Jetty server started on 127.0.0.1:");
        assertThat(status.path("workerCounters").path("started").asLong()).isGreaterThanOrEqualTo(4);
    }

    @Test
    void handlerServesTextWithFormatText() throws Exception {
        HttpResponse<String> r = get(client, uri(server, "/forksafe/status?format=text"));
        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(r.headers().firstValue("Content-Type")).hasValueSatisfying(v -> assertThat(v)
                .startsWith("text/plain"));
        assertThat(r.body()).contains("Jetty hook configured").doesNotStartWith("{");
    }

    @Test
    void handlerRejectsUnknownFormatsAndWrites() throws Exception {
        assertThat(get(client, uri(server, "/forksafe/status?format=xml")).statusCode()).isEqualTo(400);
        HttpResponse<String> post = client.send(HttpRequest.newBuilder(uri(server, "/forksafe/status"))
                .POST(HttpRequest.BodyPublishers.ofString("x")).build(), HttpResponse.BodyHandlers.ofString());
        assertThat(post.statusCode()).isEqualTo(405);
        assertThat(post.headers().firstValue("Allow")).contains("GET, HEAD");
    }

    @Test
    void handlerRefusesNonLoopbackClient() throws Exception {
        HttpResponse<String> refused = get(client, uri(server, "/simulated-remote/status"));
        assertThat(refused.statusCode()).isEqualTo(403);
        assertThat(refused.body()).contains("loopback clients only", StatusEndpoint.ALLOW_REMOTE_SETTING)
                .doesNotContain("Jetty hook configured");

        HttpResponse<String> allowed = get(client, uri(server, "/simulated-remote-allowed/status"));
        assertThat(allowed.statusCode()).isEqualTo(200);
        assertThat(json(allowed.body()).path("status").asText()).isEqualTo("Jetty hook configured");
    }

    @Test
    void servletInEe10ContextServesJsonAndTextAndRefusesNonLoopback() throws Exception {
        HttpResponse<String> r = get(client, uri(server, "/app/forksafe/status"));
        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(json(r.body()).path("details").path("jetty").path("threadPool").path("hooked").asBoolean())
                .isTrue();
        HttpResponse<String> text = get(client, uri(server, "/app/forksafe/status?format=text"));
        assertThat(text.statusCode()).isEqualTo(200);
        assertThat(text.body()).contains("Jetty hook configured");
        HttpResponse<String> refused = get(client, uri(server, "/app/remote/forksafe/status"));
        assertThat(refused.statusCode()).isEqualTo(403);
        assertThat(refused.body()).contains("loopback clients only");
    }

    /** Presents every request to the wrapped handler as coming from a non-loopback address. */
    static final class SimulatedRemote extends Handler.Wrapper {
        SimulatedRemote(Handler handler) {
            super(handler);
        }

        @Override
        public boolean handle(Request request, Response response, Callback callback) throws Exception {
            Request remote = new Request.Wrapper(request) {
                @Override
                public ConnectionMetaData getConnectionMetaData() {
                    return new ConnectionMetaData.Wrapper(super.getConnectionMetaData()) {
                        @Override
                        public SocketAddress getRemoteSocketAddress() {
                            return new InetSocketAddress(SIMULATED_REMOTE, 40_000);
                        }
                    };
                }
            };
            return super.handle(remote, response, callback);
        }
    }

    /** The servlet equivalent: a filter that reports a non-loopback remote address. */
    static final class SimulatedRemoteFilter implements Filter {
        @Override
        public void doFilter(ServletRequest request, ServletResponse response, FilterChain chain)
                throws IOException, ServletException {
            chain.doFilter(new HttpServletRequestWrapper((HttpServletRequest) request) {
                @Override
                public String getRemoteAddr() {
                    return SIMULATED_REMOTE;
                }
            }, response);
        }
    }
}
