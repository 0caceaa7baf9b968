package io.forksafe.tomcat.internal;

import io.forksafe.StatusEndpoint;

import org.apache.catalina.connector.Request;
import org.apache.catalina.connector.Response;
import org.apache.catalina.valves.ValveBase;

import jakarta.servlet.ServletException;

import java.io.IOException;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.util.Objects;

/**
 * Serves the forksafe status at one path through the core {@link StatusEndpoint} (access policy and rendering live
 * there), ahead of every web application of the host: a valve, so the path answers whatever contexts are deployed.
 * The client is the connection's remote address as Tomcat reports it. Other paths go down the pipeline. Not API.
 */
public final class StatusValve extends ValveBase {

    private final StatusEndpoint endpoint;
    private final String path;

    public StatusValve(StatusEndpoint endpoint, String path) {
        super(true);
        this.endpoint = Objects.requireNonNull(endpoint, "endpoint must not be null");
        this.path = Objects.requireNonNull(path, "path must not be null");
    }

    /** The path served. */
    public String path() {
        return path;
    }

    @Override
    public void invoke(Request request, Response response) throws IOException, ServletException {
        String uri = request.getDecodedRequestURI();
        if (!path.equals(uri) && !(path + "/").equals(uri)) {
            getNext().invoke(request, response);
            return;
        }
        String method = request.getMethod();
        boolean head = "HEAD".equals(method);
        if (!head && !"GET".equals(method)) {
            response.setHeader("Allow", "GET, HEAD");
            write(response, 405, "text/plain; charset=utf-8", "the forksafe status is read-only: use GET\n", false);
            return;
        }
        StatusEndpoint.Response r = endpoint.respond(request.getRemoteAddr(), format(request.getQueryString()));
        write(response, r.status(), r.contentType(), r.body(), head);
    }

    private static String format(String query) {
        if (query == null) {
            return null;
        }
        for (String pair : query.split("&")) {
            if (pair.startsWith("format=")) {
                return URLDecoder.decode(pair.substring("format=".length()), StandardCharsets.UTF_8);
            }
        }
        return null;
    }

    private static void write(Response response, int status, String contentType, String body, boolean head)
            throws IOException {
        byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
        response.setStatus(status);
        response.setContentType(contentType);
        response.setHeader("Cache-Control", "no-store");
        response.setHeader("X-Content-Type-Options", "nosniff");
        response.setContentLength(bytes.length);
        if (!head) {
            response.getOutputStream().write(bytes);
        }
    }

    @Override
    public String toString() {
        return "forksafe StatusValve[" + path + ", " + (endpoint.allowsRemote() ? "remote allowed" : "loopback only")
                + "]";
    }
}
