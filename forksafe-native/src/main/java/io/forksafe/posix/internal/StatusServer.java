package io.forksafe.posix.internal;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;

import io.forksafe.ForkRegistry;
import io.forksafe.StatusEndpoint;

import java.io.IOException;
import java.io.OutputStream;
import java.net.BindException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

/**
 * The arbiter's status endpoint: the forksafe status JSON (or {@code ?format=text}) on a loopback port, answered
 * by {@link StatusEndpoint#loopbackOnly(ForkRegistry)}. It binds 127.0.0.1 only.
 */
final class StatusServer implements AutoCloseable {

    private final HttpServer server;
    private final ExecutorService executor;

    private StatusServer(HttpServer server, ExecutorService executor) {
        this.server = server;
        this.executor = executor;
    }

    static StatusServer start(ForkRegistry registry, int port) throws IOException {
        StatusEndpoint endpoint = StatusEndpoint.loopbackOnly(registry);
        HttpServer server;
        try {
            server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), 16);
        } catch (BindException e) {
            BindException clear = new BindException("status port 127.0.0.1:" + port
                    + " is already in use: choose another --status-port (0 picks a free one)");
            clear.initCause(e);
            throw clear;
        }
        ExecutorService executor = Executors.newSingleThreadExecutor(r -> {
            Thread t = new Thread(r, "forksafe-arbiter-status");
            t.setDaemon(true);
            return t;
        });
        server.setExecutor(executor);
        server.createContext("/", exchange -> respond(endpoint, exchange));
        server.start();
        return new StatusServer(server, executor);
    }

    private static void respond(StatusEndpoint endpoint, HttpExchange exchange) throws IOException {
        try (exchange) {
            String format = null;
            String query = exchange.getRequestURI().getRawQuery();
            if (query != null) {
                for (String pair : query.split("&")) {
                    if (pair.startsWith("format=")) {
                        format = URLDecoder.decode(pair.substring(7), StandardCharsets.UTF_8);
                    }
                }
            }
            StatusEndpoint.Response r = endpoint.respond(exchange.getRemoteAddress().getAddress(), format);
            byte[] body = r.body().getBytes(StandardCharsets.UTF_8);
            exchange.getResponseHeaders().set("Content-Type", r.contentType());
            exchange.getResponseHeaders().set("Cache-Control", "no-store");
            exchange.sendResponseHeaders(r.status(), body.length);
            try (OutputStream out = exchange.getResponseBody()) {
                out.write(body);
            }
        }
    }

    InetSocketAddress address() {
        return server.getAddress();
    }

    @Override
    public void close() {
        server.stop(0);
        executor.shutdownNow();
    }
}
