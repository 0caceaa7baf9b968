package io.forksafe.uwsgi;

import io.forksafe.ForkRegistry;
import io.forksafe.Forksafe;
import io.forksafe.StatusEndpoint;

import java.util.HashMap;
import java.util.Map;

/**
 * The forksafe status as a JWSGI response, for a uWSGI JWSGI application. Loopback clients only by default
 * ({@link StatusEndpoint}); {@code ?format=text} gives the text dump.
 *
 * <pre>{@code
 * public static Object[] application(HashMap<String, Object> env) {
 *     if ("/forksafe".equals(env.get("PATH_INFO"))) {
 *         return JwsgiStatus.respond(env);
 *     }
 *     ...
 * }
 * }</pre>
 */
public final class JwsgiStatus {

    private JwsgiStatus() {
    }

    /** Answers with the global registry's status. */
    public static Object[] respond(Map<String, ?> environ) {
        return respond(Forksafe.registry(), environ);
    }

    /** Answers with {@code registry}'s status: {@code {Integer status, HashMap headers, String body}}. */
    public static Object[] respond(ForkRegistry registry, Map<String, ?> environ) {
        Object remote = environ.get("REMOTE_ADDR");
        StatusEndpoint.Response r = StatusEndpoint.loopbackOnly(registry)
                .respond(remote == null ? null : remote.toString(), queryParameter(environ.get("QUERY_STRING"), "format"));
        HashMap<String, String> headers = new HashMap<>();
        headers.put("Content-Type", r.contentType());
        headers.put("Cache-Control", "no-store");
        return new Object[] {r.status(), headers, r.body()};
    }

    static String queryParameter(Object query, String name) {
        if (query == null) {
            return null;
        }
        for (String pair : query.toString().split("&")) {
            int eq = pair.indexOf('=');
            String key = eq < 0 ? pair : pair.substring(0, eq);
            if (key.equals(name)) {
                return eq < 0 ? "" : java.net.URLDecoder.decode(pair.substring(eq + 1),
                        java.nio.charset.StandardCharsets.UTF_8);
            }
        }
        return null;
    }
}
