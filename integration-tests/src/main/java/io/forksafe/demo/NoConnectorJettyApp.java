package io.forksafe.demo;

import io.forksafe.jetty.ForksafeJetty;

import org.eclipse.jetty.server.Server;

/**
 * A deliberately wrong worker, for the tests: a Jetty server with no connector. Under the arbiter it has nothing to
 * serve the shared socket with, so its start must fail (boot error, exit 3) instead of reporting ready.
 *
 * <pre>{@code
 * java -cp ... io.forksafe.arbiter.ArbiterMain --workers 2 --bind 127.0.0.1:8080 -- io.forksafe.demo.NoConnectorJettyApp
 * }</pre>
 */
public final class NoConnectorJettyApp {

    private NoConnectorJettyApp() {
    }

    public static void main(String[] args) throws Exception {
        Server server = new Server(ForksafeJetty.threadPool());
        ForksafeJetty.install(server);
        server.start();
        server.join();
    }
}
