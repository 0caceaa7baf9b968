package io.forksafe.uwsgi.testapp;

import io.forksafe.Forksafe;
import io.forksafe.uwsgi.JwsgiStatus;

import java.util.HashMap;

/**
 * Tiny JWSGI application for the uWSGI integration test. {@code /forksafe} answers with this worker's forksafe
 * status JSON ({@code ?delay=MILLIS} waits first, so concurrent requests spread over the workers).
 * With -Dforksafe.test.autoconfigureInApp=true it calls Forksafe.autoconfigure() itself, as an application would.
 */
public final class StatusApp {

    static {
        if (Boolean.getBoolean("forksafe.test.autoconfigureInApp")) {
            Forksafe.autoconfigure();
        }
    }

    public static Object[] application(HashMap<String, Object> env) throws InterruptedException {
        String query = String.valueOf(env.getOrDefault("QUERY_STRING", ""));
        for (String pair : query.split("&")) {
            if (pair.startsWith("delay=")) {
                Thread.sleep(Math.min(5_000, Long.parseLong(pair.substring(6))));
            }
        }
        if ("/forksafe".equals(env.get("PATH_INFO"))) {
            return JwsgiStatus.respond(env);
        }
        HashMap<String, String> headers = new HashMap<>();
        headers.put("Content-Type", "text/plain");
        return new Object[] {404, headers, "try /forksafe\n"};
    }
}
