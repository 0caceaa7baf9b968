package io.forksafe.arbiter.internal;

import io.forksafe.ForkRegistry;
import io.forksafe.StatusEndpoint;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.BindException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.StandardSocketOptions;
import java.net.URLDecoder;
import java.nio.channels.Channels;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

/**
 * The arbiter's status endpoint: the forksafe status JSON (or {@code ?format=text}) on 127.0.0.1, answered by
 * {@link StatusEndpoint#loopbackOnly(ForkRegistry)}. A small HTTP/1.1 responder of its own rather than the JDK's
 * HttpServer, because each connection must be accepted while no worker is being spawned (see
 * {@link Spawner#openSealed}): otherwise a worker spawned at that moment inherits the client's socket and the
 * client never sees the connection close.
 */
final class StatusServer implements AutoCloseable {

    private final ServerSocketChannel server;
    private final Selector selector;
    private final ExecutorService executor;
    private final StatusEndpoint endpoint;
    private final java.util.function.Supplier<String> metrics;
    private final InetSocketAddress address;
    private volatile boolean closed;

    private StatusServer(ServerSocketChannel server, Selector selector, StatusEndpoint endpoint,
                         java.util.function.Supplier<String> metrics) throws IOException {
        this.server = server;
        this.metrics = metrics;
        this.selector = selector;
        this.endpoint = endpoint;
        this.address = (InetSocketAddress) server.getLocalAddress();
        this.executor = Executors.newFixedThreadPool(2, r -> {
            Thread t = new Thread(r, "forksafe-arbiter-status");
            t.setDaemon(true);
            return t;
        });
        Thread acceptor = new Thread(this::acceptLoop, "forksafe-arbiter-status-accept");
        acceptor.setDaemon(true);
        acceptor.start();
    }

    static StatusServer start(ForkRegistry registry, int port, java.util.function.Supplier<String> metrics)
            throws IOException {
        ServerSocketChannel server = Spawner.openSealed(ServerSocketChannel::open);
        try {
            server.setOption(StandardSocketOptions.SO_REUSEADDR, true);
            try {
                server.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), 16);
            } catch (BindException e) {
                BindException clear = new BindException("status port 127.0.0.1:" + port
                        + " is already in use: choose another --status-port (0 picks a free one)");
                clear.initCause(e);
                throw clear;
            }
            server.configureBlocking(false);
            Selector selector = Spawner.openSealed(Selector::open);
            server.register(selector, SelectionKey.OP_ACCEPT);
            return new StatusServer(server, selector, StatusEndpoint.loopbackOnly(registry), metrics);
        } catch (IOException | RuntimeException e) {
            server.close();
            throw e;
        }
    }

    private void acceptLoop() {
        while (!closed) {
            try {
                selector.select(500);
                selector.selectedKeys().clear();
                SocketChannel c = Spawner.openSealed(server::accept);
                if (c != null) {
                    c.configureBlocking(true);
                    executor.execute(() -> respond(c));
                }
            } catch (IOException | RuntimeException e) {
                if (closed) {
                    return;
                }
            }
        }
    }

    private void respond(SocketChannel c) {
        try (c) {
            c.socket().setSoTimeout(5000);
            BufferedReader in = new BufferedReader(new InputStreamReader(c.socket().getInputStream(), StandardCharsets.US_ASCII));
            String requestLine = in.readLine();
            String header;
            while ((header = in.readLine()) != null && !header.isEmpty()) {
                // headers are not needed
            }
            if (requestLine == null) {
                return;
            }
            String[] parts = requestLine.split(" ");
            String target = parts.length > 1 ? parts[1] : "/";
            String format = null;
            int q = target.indexOf('?');
            if (q >= 0) {
                for (String pair : target.substring(q + 1).split("&")) {
                    if (pair.startsWith("format=")) {
                        format = URLDecoder.decode(pair.substring(7), StandardCharsets.UTF_8);
                    }
                }
            }
            String path = q >= 0 ? target.substring(0, q) : target;
            StatusEndpoint.Response r = !(parts[0].equals("GET") || parts[0].equals("HEAD"))
                    ? new StatusEndpoint.Response(405, "text/plain; charset=utf-8", "use GET\n")
                    : path.equals("/metrics") ? new StatusEndpoint.Response(200, ArbiterMetrics.CONTENT_TYPE, metrics.get())
                    : endpoint.respond(((InetSocketAddress) c.getRemoteAddress()).getAddress(), format);
            byte[] body = r.body().getBytes(StandardCharsets.UTF_8);
            OutputStream out = Channels.newOutputStream(c);
            out.write(("HTTP/1.1 " + r.status() + " " + reason(r.status()) + "\r\nContent-Type: " + r.contentType()
                    + "\r\nContent-Length: " + body.length + "\r\nCache-Control: no-store\r\nConnection: close\r\n\r\n")
                    .getBytes(StandardCharsets.US_ASCII));
            if (!parts[0].equals("HEAD")) {
                out.write(body);
            }
            out.flush();
        } catch (IOException | RuntimeException e) {
            // the client went away
        }
    }

    private static String reason(int status) {
        return switch (status) {
            case 200 -> "OK";
            case 400 -> "Bad Request";
            case 403 -> "Forbidden";
            case 405 -> "Method Not Allowed";
            default -> "Status";
        };
    }

    InetSocketAddress address() {
        return address;
    }

    @Override
    public void close() {
        closed = true;
        Closing.quietly(selector);
        Closing.quietly(server);
        executor.shutdownNow();
    }
}
