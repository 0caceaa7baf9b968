package io.forksafe;

import java.net.InetAddress;
import java.util.Locale;
import java.util.Objects;

/**
 * The HTTP-agnostic core of every status endpoint (servlet, Jetty handler, Undertow handler): access policy and
 * rendering. Safe by default: only loopback clients are answered unless remote access is enabled explicitly, by
 * {@link #allowRemote(boolean)} or the setting {@code forksafe.status.allowRemote=true}.
 *
 * <pre>{@code
 * StatusEndpoint endpoint = StatusEndpoint.loopbackOnly(Forksafe.registry());
 * StatusEndpoint.Response r = endpoint.respond(request.getRemoteAddr(), request.getParameter("format"));
 * }</pre>
 */
public final class StatusEndpoint {

    /** The setting that opens the endpoint to non-loopback clients. */
    public static final String ALLOW_REMOTE_SETTING = "forksafe.status.allowRemote";

    private final ForkRegistry registry;
    private final Boolean allowRemote;

    private StatusEndpoint(ForkRegistry registry, Boolean allowRemote) {
        this.registry = Objects.requireNonNull(registry, "registry must not be null");
        this.allowRemote = allowRemote;
    }

    /** An endpoint that answers loopback clients only (unless the registry's settings allow remote clients). */
    public static StatusEndpoint loopbackOnly(ForkRegistry registry) {
        return new StatusEndpoint(registry, null);
    }

    /** A copy that answers remote clients too when {@code allow} is true. */
    public StatusEndpoint allowRemote(boolean allow) {
        return new StatusEndpoint(registry, allow);
    }

    /** Whether non-loopback clients are answered. */
    public boolean allowsRemote() {
        return allowRemote != null ? allowRemote
                : Boolean.parseBoolean(registry.setting(ALLOW_REMOTE_SETTING, "false"));
    }

    /**
     * The access policy alone, for a page that shows this status in another form (the arbiter's dashboard): a
     * loopback client is always admitted, any other client only when remote access is allowed.
     *
     * <pre>{@code
     * StatusEndpoint.Response r = endpoint.admits(client) ? dashboardPage : endpoint.refused();
     * }</pre>
     */
    public boolean admits(InetAddress remote) {
        return (remote != null && remote.isLoopbackAddress()) || allowsRemote();
    }

    /** The 403 answer to a client that {@link #admits(InetAddress)} refuses, naming the setting that opens it. */
    public Response refused() {
        return new Response(403, "text/plain; charset=utf-8",
                "forksafe status is served to loopback clients only; set " + ALLOW_REMOTE_SETTING
                        + "=true (or allowRemote) to expose it\n");
    }

    /**
     * An HTTP response in plain terms.
     *
     * @param status      HTTP status code
     * @param contentType the Content-Type header value
     * @param body        the body
     */
    public record Response(int status, String contentType, String body) {
    }

    /** Answers a client by its textual address ({@code getRemoteAddr()}); unparseable addresses are refused. */
    public Response respond(String remoteAddress, String format) {
        InetAddress address = null;
        if (remoteAddress != null && isIpLiteral(remoteAddress)) {
            try {
                address = InetAddress.getByName(stripBrackets(remoteAddress));
            } catch (java.net.UnknownHostException e) {
                address = null;
            }
        }
        return respond(address, format);
    }

    /**
     * Answers a client: 403 for a non-loopback client unless remote access is allowed, 400 for an unknown format,
     * otherwise the status as JSON (default) or as text ({@code format=text}).
     */
    public Response respond(InetAddress remote, String format) {
        if (!admits(remote)) {
            return refused();
        }
        String f = format == null || format.isBlank() ? "json" : format.strip().toLowerCase(Locale.ROOT);
        ForksafeStatus status = registry.status();
        return switch (f) {
            case "json" -> new Response(200, "application/json; charset=utf-8", status.toJson());
            case "text", "txt" -> new Response(200, "text/plain; charset=utf-8", status.dump());
            default -> new Response(400, "text/plain; charset=utf-8",
                    "unknown format '" + format + "': use format=json (default) or format=text\n");
        };
    }

    private static String stripBrackets(String s) {
        return s.startsWith("[") && s.endsWith("]") ? s.substring(1, s.length() - 1) : s;
    }

    private static boolean isIpLiteral(String s) {
        String a = stripBrackets(s);
        if (a.isEmpty()) {
            return false; // InetAddress.getByName("") would answer the loopback address
        }
        if (a.indexOf(':') >= 0) {
            return a.chars().allMatch(c -> Character.digit(c, 16) >= 0 || c == ':' || c == '.' || c == '%');
        }
        return a.chars().allMatch(c -> (c >= '0' && c <= '9') || c == '.');
    }
}
