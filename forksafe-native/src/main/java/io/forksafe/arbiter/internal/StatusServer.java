package io.forksafe.arbiter.internal;

import io.forksafe.ForkRegistry;
import io.forksafe.StatusEndpoint;
import io.forksafe.StatusEndpoint.Response;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.io.UncheckedIOException;
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
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.function.Function;
import java.util.function.Supplier;

/**
 * The arbiter's status port: a small route table (see {@link #routes}) over a small HTTP/1.1 responder of its own
 * rather than the JDK's HttpServer, because each connection must be accepted while no worker is being spawned (see
 * {@link Spawner#openSealed}): otherwise a worker spawned at that moment inherits the client's socket and the client
 * never sees the connection close.
 *
 * <ul>
 *   <li>{@code /status}: the forksafe status JSON ({@code ?format=text}: text), by
 *       {@link StatusEndpoint#loopbackOnly(ForkRegistry)};</li>
 *   <li>{@code /}: the dashboard page to a browser ({@code Accept: text/html}), the same JSON to every other
 *       client;</li>
 *   <li>{@code /healthz}, {@code /readyz}: the {@link Probes};</li>
 *   <li>{@code /metrics}: the Prometheus text ({@link ArbiterMetrics}).</li>
 * </ul>
 * The probes and the metrics answer any client; the status and the dashboard follow the status endpoint's one access policy
 * (loopback clients only unless {@code forksafe.status.allowRemote=true}).
 */
final class StatusServer implements AutoCloseable {

    /** Who may read a route. */
    enum Access {
        /** any client: the probes and the metrics (a kubelet or Prometheus reaches the pod's address, not loopback) */
        ANY_CLIENT,
        /** the status endpoint's policy: loopback clients, others only with forksafe.status.allowRemote */
        STATUS_POLICY
    }

    /**
     * One request as the routes see it.
     *
     * @param path   the path without the query
     * @param query  the decoded query parameters (the last of a repeated name)
     * @param accept the {@code Accept} header, or null
     * @param remote the client's address
     */
    record Request(String path, Map<String, String> query, String accept, InetAddress remote) {

        /** Whether the client asked for HTML before JSON (a browser), by {@link #prefersHtml(String)}. */
        boolean wantsHtml() {
            return prefersHtml(accept);
        }
    }

    /** A route: who may read it and what it answers. */
    record Route(Access access, Function<Request, Response> handler) {
    }

    private static final Response DASHBOARD = new Response(200, "text/html; charset=utf-8", resource("dashboard.html"));
    /**
     * The dashboard's Content-Security-Policy: its own inline script and style (by their SHA-256), fetches to this
     * port, nothing else (no other script, even if text ever reached the DOM as HTML; no framing, no forms).
     */
    static final String DASHBOARD_CSP = "default-src 'none'; script-src " + inlineHash(DASHBOARD.body(), "script")
            + "; style-src " + inlineHash(DASHBOARD.body(), "style") + "; connect-src 'self'; img-src 'self'; "
            + "base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

    private final ServerSocketChannel server;
    private final Selector selector;
    private final ExecutorService executor;
    private final StatusEndpoint endpoint;
    private final Map<String, Route> routes;
    private final InetSocketAddress address;
    private volatile boolean closed;

    private StatusServer(ServerSocketChannel server, Selector selector, StatusEndpoint endpoint, Probes probes,
                         Supplier<String> metrics) throws IOException {
        this.server = server;
        this.selector = selector;
        this.endpoint = endpoint;
        this.routes = routes(endpoint, probes, metrics);
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

    /** The route table: one line per path. */
    private static Map<String, Route> routes(StatusEndpoint endpoint, Probes probes, Supplier<String> metrics) {
        Map<String, Route> r = new LinkedHashMap<>();
        r.put("/", new Route(Access.STATUS_POLICY,
                q -> q.wantsHtml() ? DASHBOARD : endpoint.respond(q.remote(), q.query().get("format"))));
        r.put("/status", new Route(Access.STATUS_POLICY, q -> endpoint.respond(q.remote(), q.query().get("format"))));
        r.put("/healthz", new Route(Access.ANY_CLIENT, q -> probes.health()));
        r.put("/readyz", new Route(Access.ANY_CLIENT, q -> probes.readiness()));
        r.put("/metrics", new Route(Access.ANY_CLIENT, q -> new Response(200, ArbiterMetrics.CONTENT_TYPE, metrics.get())));
        return r;
    }

    /**
     * Listens on {@code bind} (the loopback address for {@code --status-port}, any for {@code --status-bind}).
     *
     * @throws BindException naming the address and the fix when it is in use
     */
    static StatusServer start(ForkRegistry registry, InetSocketAddress bind, Probes probes, Supplier<String> metrics)
            throws IOException {
        ServerSocketChannel server = Spawner.openSealed(ServerSocketChannel::open);
        try {
            server.setOption(StandardSocketOptions.SO_REUSEADDR, true);
            try {
                server.bind(bind, 16);
            } catch (BindException e) {
                BindException clear = new BindException("status port " + ListenSocket.describe(bind)
                        + " is already in use: choose another --status-port or --status-bind (port 0 picks a free one)");
                clear.initCause(e);
                throw clear;
            }
            server.configureBlocking(false);
            Selector selector = Spawner.openSealed(Selector::open);
            server.register(selector, SelectionKey.OP_ACCEPT);
            return new StatusServer(server, selector, StatusEndpoint.loopbackOnly(registry), probes, metrics);
        } catch (IOException | RuntimeException e) {
            server.close();
            throw e;
        }
    }

    /** The one line to log when the port is reachable from other hosts (a non-loopback bind), or null. */
    String exposure() {
        if (address.getAddress().isLoopbackAddress()) {
            return null;
        }
        return "status port " + ListenSocket.describe(address) + " is not loopback-only: /healthz, /readyz and /metrics "
                + "answer any client; the dashboard / and /status "
                + (endpoint.allowsRemote() ? "too (" + StatusEndpoint.ALLOW_REMOTE_SETTING + "=true)"
                : "answer loopback clients only (403 to others; " + StatusEndpoint.ALLOW_REMOTE_SETTING
                + "=true opens them)");
    }

    /**
     * Whether an {@code Accept} header asks for HTML before JSON: {@code text/html} (or XHTML) listed with a
     * quality above zero and not below {@code application/json}'s. A browser's header does; curl's
     * {@code *}{@code /*}, none at all, or {@code application/json} do not.
     */
    static boolean prefersHtml(String accept) {
        if (accept == null || accept.isBlank()) {
            return false;
        }
        double html = 0;
        double json = 0;
        for (String range : accept.split(",")) {
            String[] parts = range.split(";");
            String type = parts[0].strip().toLowerCase(Locale.ROOT);
            double q = 1;
            for (int k = 1; k < parts.length; k++) {
                String p = parts[k].strip();
                if (p.startsWith("q=") || p.startsWith("Q=")) {
                    try {
                        q = Double.parseDouble(p.substring(2).strip());
                    } catch (NumberFormatException e) {
                        q = 0;
                    }
                }
            }
            if (type.equals("text/html") || type.equals("application/xhtml+xml")) {
                html = Math.max(html, q);
            } else if (type.equals("application/json")) {
                json = Math.max(json, q);
            }
        }
        return html > 0 && html >= json;
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
            String accept = null;
            String header;
            while ((header = in.readLine()) != null && !header.isEmpty()) {
                int colon = header.indexOf(':');
                if (colon > 0 && header.substring(0, colon).strip().equalsIgnoreCase("Accept")) {
                    accept = accept == null ? header.substring(colon + 1).strip()
                            : accept + "," + header.substring(colon + 1).strip();
                }
            }
            if (requestLine == null) {
                return;
            }
            String[] parts = requestLine.split(" ");
            String method = parts[0];
            String target = parts.length > 1 ? parts[1] : "/";
            int q = target.indexOf('?');
            Map<String, String> query;
            try {
                query = q >= 0 ? query(target.substring(q + 1)) : Map.of();
            } catch (IllegalArgumentException e) {
                query = null; // a malformed %-escape
            }
            Response r = !(method.equals("GET") || method.equals("HEAD"))
                    ? new Response(405, "text/plain; charset=utf-8", "use GET\n")
                    : query == null ? new Response(400, "text/plain; charset=utf-8", "malformed query string\n")
                    : dispatch(new Request(q >= 0 ? target.substring(0, q) : target, query, accept,
                            ((InetSocketAddress) c.getRemoteAddress()).getAddress()));
            byte[] body = r.body().getBytes(StandardCharsets.UTF_8);
            OutputStream out = Channels.newOutputStream(c);
            out.write(("HTTP/1.1 " + r.status() + " " + reason(r.status()) + "\r\nContent-Type: " + r.contentType()
                    + "\r\nContent-Length: " + body.length + "\r\nCache-Control: no-store\r\n"
                    + "X-Content-Type-Options: nosniff\r\n"
                    + (r == DASHBOARD ? "Content-Security-Policy: " + DASHBOARD_CSP + "\r\n" : "")
                    + (r.status() == 405 ? "Allow: GET, HEAD\r\n" : "") + "Connection: close\r\n\r\n")
                    .getBytes(StandardCharsets.US_ASCII));
            if (!method.equals("HEAD")) {
                out.write(body);
            }
            out.flush();
        } catch (IOException | RuntimeException e) {
            // the client went away
        }
    }

    /** Finds the route and applies its access rule; 404 naming the paths there are. */
    Response dispatch(Request request) {
        Route route = routes.get(request.path());
        if (route == null) {
            return new Response(404, "text/plain; charset=utf-8", "no such path " + request.path()
                    + "; this port serves " + String.join(", ", routes.keySet()) + "\n");
        }
        if (route.access() == Access.STATUS_POLICY && !endpoint.admits(request.remote())) {
            return endpoint.refused();
        }
        return route.handler().apply(request);
    }

    private static Map<String, String> query(String raw) {
        Map<String, String> m = new LinkedHashMap<>();
        for (String pair : raw.split("&")) {
            int eq = pair.indexOf('=');
            if (eq > 0) {
                m.put(URLDecoder.decode(pair.substring(0, eq), StandardCharsets.UTF_8),
                        URLDecoder.decode(pair.substring(eq + 1), StandardCharsets.UTF_8));
            }
        }
        return m;
    }

    private static String reason(int status) {
        return switch (status) {
            case 200 -> "OK";
            case 400 -> "Bad Request";
            case 403 -> "Forbidden";
            case 404 -> "Not Found";
            case 405 -> "Method Not Allowed";
            case 503 -> "Service Unavailable";
            default -> "Status";
        };
    }

    /** The CSP source of the page's one inline {@code <tag>} element: its content's SHA-256. */
    private static String inlineHash(String html, String tag) {
        int open = html.indexOf('>', html.indexOf("<" + tag)) + 1;
        int close = html.indexOf("</" + tag + ">", open);
        if (open <= 0 || close < 0 || html.indexOf("<" + tag, close) >= 0) {
            throw new IllegalStateException("dashboard.html must have exactly one inline <" + tag + ">");
        }
        try {
            byte[] digest = java.security.MessageDigest.getInstance("SHA-256")
                    .digest(html.substring(open, close).getBytes(StandardCharsets.UTF_8));
            return "'sha256-" + java.util.Base64.getEncoder().encodeToString(digest) + "'";
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException(e); // every JDK has SHA-256
        }
    }

    private static String resource(String name) {
        try (InputStream in = StatusServer.class.getResourceAsStream(name)) {
            if (in == null) {
                throw new IllegalStateException("resource " + name + " missing from forksafe-native's jar");
            }
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
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
