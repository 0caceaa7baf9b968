package io.forksafe.tomcat.internal;

import io.forksafe.spi.RequestTracker;

import jakarta.servlet.AsyncEvent;
import jakarta.servlet.AsyncListener;
import jakarta.servlet.ServletException;

import org.apache.catalina.Container;
import org.apache.catalina.Service;
import org.apache.catalina.Valve;
import org.apache.catalina.connector.Request;
import org.apache.catalina.connector.Response;
import org.apache.catalina.valves.ValveBase;

import java.io.IOException;

/**
 * On the engine's pipeline, hands each request to the process's {@link RequestTracker} when it completes (when the
 * pipeline returns, or for an async request when it completes, fails or times out); installed only when a host enabled
 * the tracker (the arbiter's {@code --max-requests} or {@code --request-timeout}). Not API.
 */
final class RequestValve extends ValveBase {

    private final RequestTracker tracker;

    private RequestValve(RequestTracker tracker) {
        super(true);
        this.tracker = tracker;
    }

    /** Adds the valve to {@code service}'s engine if the tracker is enabled; returns whether it did. */
    static boolean install(Service service, RequestTracker tracker) {
        if (!tracker.enabled() || service == null || service.getContainer() == null) {
            return false;
        }
        Container engine = service.getContainer();
        for (Valve v : engine.getPipeline().getValves()) {
            if (v instanceof RequestValve) {
                return false;
            }
        }
        engine.getPipeline().addValve(new RequestValve(tracker));
        tracker.installedBy(TomcatEvents.HOST);
        return true;
    }

    @Override
    public void invoke(Request request, Response response) throws IOException, ServletException {
        RequestTracker.Request r = tracker.begin();
        boolean async = false;
        try {
            getNext().invoke(request, response);
            if (request.isAsyncStarted()) {
                request.getAsyncContext().addListener(new AsyncListener() {
                    @Override
                    public void onComplete(AsyncEvent event) {
                        tracker.end(r);
                    }

                    @Override
                    public void onTimeout(AsyncEvent event) {
                        // onComplete follows a timeout and an error too (Servlet spec): counted there, once
                    }

                    @Override
                    public void onError(AsyncEvent event) {
                    }

                    @Override
                    public void onStartAsync(AsyncEvent event) {
                    }
                });
                async = true;
            }
        } finally {
            if (!async) {
                tracker.end(r);
            }
        }
    }
}
