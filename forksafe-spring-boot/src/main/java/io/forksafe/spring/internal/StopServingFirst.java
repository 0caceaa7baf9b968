package io.forksafe.spring.internal;

import java.util.function.Consumer;

import org.springframework.boot.web.server.WebServer;
import org.springframework.boot.web.server.context.WebServerApplicationContext;
import org.springframework.context.ApplicationContext;
import org.springframework.context.SmartLifecycle;

/**
 * Boot's graceful shutdown ({@code server.shutdown=graceful}, the default) pauses the connectors and closes their
 * listening sockets itself, which on the arbiter's shared socket can lose a connection the kernel just handed over.
 * This lifecycle stops first, one phase above Boot's graceful shutdown, and lets the server adapter stop accepting
 * cleanly (and publish WorkerExit) before Boot's shutdown begins. Not API.
 */
public final class StopServingFirst implements SmartLifecycle {

    private final ApplicationContext context;
    private final Consumer<WebServer> stopServing;
    private volatile boolean running;

    public StopServingFirst(ApplicationContext context, Consumer<WebServer> stopServing) {
        this.context = context;
        this.stopServing = stopServing;
    }

    @Override
    public void start() {
        running = true;
    }

    @Override
    public void stop() {
        running = false;
        if (context instanceof WebServerApplicationContext web && web.getWebServer() != null) {
            stopServing.accept(web.getWebServer());
        }
    }

    @Override
    public boolean isRunning() {
        return running;
    }

    /** Stops before Boot's graceful shutdown ({@code GRACEFUL_SHUTDOWN_PHASE}) and the web server's stop. */
    @Override
    public int getPhase() {
        return WebServerApplicationContext.GRACEFUL_SHUTDOWN_PHASE + 1;
    }
}
