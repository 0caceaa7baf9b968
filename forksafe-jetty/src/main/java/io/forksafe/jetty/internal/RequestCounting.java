package io.forksafe.jetty.internal;

import io.forksafe.spi.RequestTracker;

import org.eclipse.jetty.server.Handler;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.util.Callback;

/**
 * Wraps the server's handler so that each request reaches the process's {@link RequestTracker} when it completes
 * (its callback succeeded or failed), installed only when a host enabled the tracker (the arbiter's
 * {@code --max-requests} or {@code --request-timeout}). Not API.
 */
final class RequestCounting extends Handler.Wrapper {

    private final RequestTracker tracker;

    private RequestCounting(Handler next, RequestTracker tracker) {
        super(next);
        this.tracker = tracker;
    }

    /** Wraps {@code server}'s handler if the tracker is enabled and the server has one; returns whether it did. */
    static boolean install(Server server, RequestTracker tracker) {
        Handler next = server.getHandler();
        if (!tracker.enabled() || next == null || next instanceof RequestCounting) {
            return false;
        }
        server.setHandler(new RequestCounting(next, tracker));
        tracker.installedBy(JettyEvents.HOST);
        return true;
    }

    @Override
    public boolean handle(Request request, Response response, Callback callback) throws Exception {
        RequestTracker.Request r = tracker.begin();
        boolean handled;
        try {
            handled = super.handle(request, response, new Callback() {
                @Override
                public void succeeded() {
                    tracker.end(r);
                    callback.succeeded();
                }

                @Override
                public void failed(Throwable x) {
                    tracker.end(r);
                    callback.failed(x);
                }

                @Override
                public InvocationType getInvocationType() {
                    return callback.getInvocationType();
                }
            });
        } catch (Throwable t) {
            tracker.end(r);
            throw t;
        }
        if (!handled) {
            tracker.end(r); // Jetty answers 404 itself
        }
        return handled;
    }
}
