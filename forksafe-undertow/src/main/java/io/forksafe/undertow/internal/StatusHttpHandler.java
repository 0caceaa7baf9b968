package io.forksafe.undertow.internal;

import io.forksafe.StatusEndpoint;
import io.undertow.server.HttpHandler;
import io.undertow.server.HttpServerExchange;
import io.undertow.util.Headers;
import io.undertow.util.HttpString;
import io.undertow.util.Methods;

import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.Deque;
import java.util.Objects;

/** Serves {@link StatusEndpoint} answers: JSON by default, text with {@code ?format=text}. */
public final class StatusHttpHandler implements HttpHandler {

    private static final HttpString NOSNIFF = new HttpString("X-Content-Type-Options");

    private final StatusEndpoint endpoint;

    public StatusHttpHandler(StatusEndpoint endpoint) {
        this.endpoint = Objects.requireNonNull(endpoint, "endpoint must not be null");
    }

    @Override
    public void handleRequest(HttpServerExchange exchange) {
        if (!Methods.GET.equals(exchange.getRequestMethod()) && !Methods.HEAD.equals(exchange.getRequestMethod())) {
            exchange.setStatusCode(405);
            exchange.getResponseHeaders().put(Headers.ALLOW, "GET, HEAD");
            exchange.endExchange();
            return;
        }
        InetSocketAddress source = exchange.getSourceAddress();
        Deque<String> format = exchange.getQueryParameters().get("format");
        StatusEndpoint.Response r = endpoint.respond(source == null ? null : source.getAddress(),
                format == null ? null : format.peekFirst());
        exchange.setStatusCode(r.status());
        exchange.getResponseHeaders().put(Headers.CONTENT_TYPE, r.contentType());
        exchange.getResponseHeaders().put(Headers.CACHE_CONTROL, "no-store");
        exchange.getResponseHeaders().put(NOSNIFF, "nosniff");
        exchange.getResponseSender().send(r.body(), StandardCharsets.UTF_8);
    }

    @Override
    public String toString() {
        return "forksafe status handler";
    }
}
