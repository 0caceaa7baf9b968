package io.forksafe.jetty.internal;

import io.forksafe.StatusEndpoint;

import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.http.HttpMethod;
import org.eclipse.jetty.server.Handler;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.util.Callback;
import org.eclipse.jetty.util.Fields;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Objects;

/**
 * Serves the forksafe status through the core {@link StatusEndpoint}: access policy and rendering live there. The
 * client is the connection's remote address as Jetty reports it (after any request customizer). Not API.
 */
public final class StatusHandler extends Handler.Abstract.NonBlocking {

    private final StatusEndpoint endpoint;

    public StatusHandler(StatusEndpoint endpoint) {
        this.endpoint = Objects.requireNonNull(endpoint, "endpoint must not be null");
    }

    @Override
    public boolean handle(Request request, Response response, Callback callback) {
        String method = request.getMethod();
        boolean head = HttpMethod.HEAD.is(method);
        if (!head && !HttpMethod.GET.is(method)) {
            response.getHeaders().put(HttpHeader.ALLOW, "GET, HEAD");
            write(response, callback, 405, "text/plain; charset=utf-8",
                    "the forksafe status is read-only: use GET\n", false);
            return true;
        }
        SocketAddress remote = request.getConnectionMetaData().getRemoteSocketAddress();
        InetAddress address = remote instanceof InetSocketAddress inet ? inet.getAddress() : null;
        Fields query = Request.extractQueryParameters(request);
        StatusEndpoint.Response r = endpoint.respond(address, query.getValue("format"));
        write(response, callback, r.status(), r.contentType(), r.body(), head);
        return true;
    }

    private static void write(Response response, Callback callback, int status, String contentType, String body,
                              boolean head) {
        byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
        response.setStatus(status);
        response.getHeaders().put(HttpHeader.CONTENT_TYPE, contentType);
        response.getHeaders().put(HttpHeader.CACHE_CONTROL, "no-store");
        response.getHeaders().put("X-Content-Type-Options", "nosniff");
        response.getHeaders().put(HttpHeader.CONTENT_LENGTH, bytes.length);
        response.write(true, head ? ByteBuffer.allocate(0) : ByteBuffer.wrap(bytes), callback);
    }

    @Override
    public String toString() {
        return "ForksafeStatusHandler[" + (endpoint.allowsRemote() ? "remote allowed" : "loopback only") + "]";
    }
}
