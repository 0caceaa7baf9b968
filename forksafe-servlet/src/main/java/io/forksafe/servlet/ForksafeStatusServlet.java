package io.forksafe.servlet;

import io.forksafe.ForkRegistry;
import io.forksafe.Forksafe;
import io.forksafe.StatusEndpoint;

import jakarta.servlet.ServletConfig;
import jakarta.servlet.ServletException;
import jakarta.servlet.http.HttpServlet;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;

import java.io.IOException;
import java.nio.charset.StandardCharsets;

/**
 * A small Jakarta Servlet 6 servlet that serves the forksafe status: JSON by default, the text dump with
 * {@code ?format=text}. Loopback clients only, unless the init parameter {@code allowRemote} is {@code true} (or
 * the setting {@code forksafe.status.allowRemote=true}). Needs {@code jakarta.servlet-api} at run time; forksafe
 * core does not otherwise depend on it.
 *
 * <pre>{@code
 * context.addServlet(ForksafeStatusServlet.class, "/forksafe/status");
 * }</pre>
 */
public class ForksafeStatusServlet extends HttpServlet {

    private static final long serialVersionUID = 1L;

    private transient StatusEndpoint endpoint;

    /** Serves the global registry's status. */
    public ForksafeStatusServlet() {
    }

    /** Serves {@code registry}'s status, for embedded servers that use their own registry. */
    public ForksafeStatusServlet(ForkRegistry registry) {
        this.endpoint = StatusEndpoint.loopbackOnly(registry);
    }

    @Override
    public void init(ServletConfig config) throws ServletException {
        super.init(config);
        StatusEndpoint e = endpoint != null ? endpoint : StatusEndpoint.loopbackOnly(Forksafe.registry());
        String allowRemote = config.getInitParameter("allowRemote");
        endpoint = allowRemote == null ? e : e.allowRemote(Boolean.parseBoolean(allowRemote));
    }

    @Override
    protected void doGet(HttpServletRequest req, HttpServletResponse resp) throws IOException {
        StatusEndpoint e = endpoint != null ? endpoint : StatusEndpoint.loopbackOnly(Forksafe.registry());
        StatusEndpoint.Response r = e.respond(req.getRemoteAddr(), req.getParameter("format"));
        byte[] body = r.body().getBytes(StandardCharsets.UTF_8);
        resp.setStatus(r.status());
        resp.setContentType(r.contentType());
        resp.setHeader("Cache-Control", "no-store");
        resp.setHeader("X-Content-Type-Options", "nosniff");
        resp.setContentLength(body.length);
        resp.getOutputStream().write(body);
    }
}
