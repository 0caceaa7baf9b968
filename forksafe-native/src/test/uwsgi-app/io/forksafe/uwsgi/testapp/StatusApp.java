package io.forksafe.uwsgi.testapp;

import io.forksafe.Forksafe;
import io.forksafe.uwsgi.JwsgiStatus;

import java.util.HashMap;

/**
 * Tiny JWSGI application for the uWSGI integration test. {@code /forksafe} answers with this worker's forksafe
 * status JSON ({@code ?delay=MILLIS} waits first, so concurrent requests spread over the workers).
 * {@code /exit} calls System.exit(7); {@code /spin} keeps the worker busy in Java code for 5 s.
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
        Object path = env.get("PATH_INFO");
        if ("/forksafe".equals(path)) {
            return JwsgiStatus.respond(env);
        }
        if ("/exit".equals(path)) {
            System.exit(7); // the JVM shuts itself down inside a uWSGI worker
        }
        if ("/spin".equals(path)) {
            long end = System.nanoTime() + 5_000_000_000L; // busy in Java code, for signals that arrive mid-request
            long x = 0;
            while (System.nanoTime() < end) {
                x += System.nanoTime() % 7;
            }
            return new Object[] {200, new HashMap<String, String>(), "spun " + x + "\n"};
        }
        HashMap<String, String> headers = new HashMap<>();
        headers.put("Content-Type", "text/plain");
        return new Object[] {404, headers, "try /forksafe\n"};
    }
}
