package io.forksafe.servlet;

import static org.assertj.core.api.Assertions.assertThat;

import io.forksafe.ForkRegistry;
import io.forksafe.Forksafe;

import jakarta.servlet.ServletConfig;
import jakarta.servlet.ServletOutputStream;
import jakarta.servlet.WriteListener;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;

import java.io.ByteArrayOutputStream;
import java.lang.reflect.Proxy;
import java.nio.charset.StandardCharsets;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

import org.junit.jupiter.api.Test;

/**
 * The servlet's own part: which endpoint it asks (its registry or the global one, remote access from the init
 * parameter) and the response it writes (status, type, safety headers, exact length and body). The request, response
 * and config are plain stand-ins; a real host serves it in forksafe-jetty's and forksafe-undertow's tests.
 */
class ForksafeStatusServletTest {

    /** What the servlet wrote. */
    static final class Written {
        int status;
        String contentType;
        int contentLength = -1;
        final Map<String, String> headers = new LinkedHashMap<>();
        final ByteArrayOutputStream body = new ByteArrayOutputStream();

        String body() {
            return body.toString(StandardCharsets.UTF_8);
        }
    }

    private static HttpServletRequest request(String remote, String format) {
        return (HttpServletRequest) Proxy.newProxyInstance(ForksafeStatusServletTest.class.getClassLoader(),
                new Class<?>[] {HttpServletRequest.class}, (p, m, a) -> switch (m.getName()) {
                    case "getRemoteAddr" -> remote;
                    case "getParameter" -> "format".equals(a[0]) ? format : null;
                    default -> throw new UnsupportedOperationException(m.getName());
                });
    }

    private static HttpServletResponse response(Written w) {
        ServletOutputStream out = new ServletOutputStream() {
            @Override
            public void write(int b) {
                w.body.write(b);
            }

            @Override
            public boolean isReady() {
                return true;
            }

            @Override
            public void setWriteListener(WriteListener listener) {
            }
        };
        return (HttpServletResponse) Proxy.newProxyInstance(ForksafeStatusServletTest.class.getClassLoader(),
                new Class<?>[] {HttpServletResponse.class}, (p, m, a) -> {
                    switch (m.getName()) {
                        case "setStatus" -> w.status = (Integer) a[0];
                        case "setContentType" -> w.contentType = (String) a[0];
                        case "setHeader" -> w.headers.put((String) a[0], (String) a[1]);
                        case "setContentLength" -> w.contentLength = (Integer) a[0];
                        case "getOutputStream" -> {
                            return out;
                        }
                        default -> throw new UnsupportedOperationException(m.getName());
                    }
                    return null;
                });
    }

    private static ServletConfig config(String allowRemote) {
        return (ServletConfig) Proxy.newProxyInstance(ForksafeStatusServletTest.class.getClassLoader(),
                new Class<?>[] {ServletConfig.class}, (p, m, a) -> switch (m.getName()) {
                    case "getInitParameter" -> "allowRemote".equals(a[0]) ? allowRemote : null;
                    case "getInitParameterNames" -> Collections.emptyEnumeration();
                    case "getServletName" -> "forksafe-status";
                    default -> null;
                });
    }

    private static Written get(ForksafeStatusServlet servlet, String remote, String format) throws Exception {
        Written w = new Written();
        servlet.doGet(request(remote, format), response(w));
        return w;
    }

    @Test
    void aLoopbackClientGetsTheRegistrysStatusWithSafeHeadersAndItsExactLength() throws Exception {
        ForkRegistry registry = new ForkRegistry("servlet-test");
        registry.markConfigured("servlet-test-host");
        Written w = get(new ForksafeStatusServlet(registry), "127.0.0.1", null);
        assertThat(w.status).isEqualTo(200);
        assertThat(w.contentType).isEqualTo("application/json; charset=utf-8");
        assertThat(w.headers).containsExactly(Map.entry("Cache-Control", "no-store"),
                Map.entry("X-Content-Type-Options", "nosniff"));
        assertThat(w.body()).startsWith("{").contains("\"environment\": \"servlet-test-host\"");
        assertThat(w.contentLength).isEqualTo(w.body.size());

        Written text = get(new ForksafeStatusServlet(registry), "::1", "text");
        assertThat(text.contentType).isEqualTo("text/plain; charset=utf-8");
        assertThat(text.body()).startsWith("forksafe status: servlet-test-host mark_configured\n");
    }

    @Test
    void aRemoteClientIsRefusedUnlessTheInitParameterAllowsIt() throws Exception {
        ForkRegistry registry = new ForkRegistry("servlet-remote");
        ForksafeStatusServlet plain = new ForksafeStatusServlet(registry);
        ServletConfig config = config(null);
        plain.init(config);
        assertThat(plain.getServletConfig()).isSameAs(config);
        assertThat(plain.getServletName()).isEqualTo("forksafe-status");
        Written refused = get(plain, "192.0.2.1", null);
        assertThat(refused.status).isEqualTo(403);
        assertThat(refused.body()).contains("forksafe.status.allowRemote=true");
        assertThat(refused.contentLength).isEqualTo(refused.body.size());

        ForksafeStatusServlet allowing = new ForksafeStatusServlet(registry);
        allowing.init(config("true"));
        assertThat(get(allowing, "192.0.2.1", null).status).isEqualTo(200);

        ForksafeStatusServlet denying = new ForksafeStatusServlet(registry);
        denying.init(config("false"));
        assertThat(get(denying, "192.0.2.1", null).status).isEqualTo(403);
    }

    @Test
    void withoutARegistryItServesTheGlobalOneInitialisedOrNot() throws Exception {
        String container = "servlet-global-" + System.nanoTime();
        Forksafe.markConfigured(container);
        Written direct = get(new ForksafeStatusServlet(), "127.0.0.1", "text");
        assertThat(direct.body()).contains("environment:     " + container + "\n");
        ForksafeStatusServlet initialised = new ForksafeStatusServlet();
        initialised.init(config("false"));
        assertThat(get(initialised, "127.0.0.1", "text").body()).contains("environment:     " + container + "\n");
        assertThat(get(initialised, "192.0.2.1", null).status).isEqualTo(403);
    }
}
