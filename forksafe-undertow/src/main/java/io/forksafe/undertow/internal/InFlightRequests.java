package io.forksafe.undertow.internal;

import io.undertow.server.HttpHandler;
import io.undertow.server.HttpServerExchange;

import java.util.concurrent.atomic.AtomicLong;

/**
 * Counts the requests a server is handling, so that a graceful stop can wait for them, and once draining makes every
 * response close its connection, so that keep-alive clients move to the other workers instead of sending more work
 * here. Undertow's own {@code GracefulShutdownHandler} answers requests that arrive while draining with 503, which a
 * keep-alive client of a rolling restart would see as failures; this one serves them. Not API.
 */
final class InFlightRequests {

    /** How long the count must stay at zero before the drain counts as done (a keep-alive request may be on its way). */
    static final long QUIET_MILLIS = 100;

    private final AtomicLong inFlight = new AtomicLong();
    private final AtomicLong served = new AtomicLong();
    private volatile boolean draining;
    /** The process's tracker when a host enabled it (the arbiter's recycling), else null: nothing more per request. */
    private final io.forksafe.spi.RequestTracker tracker;

    InFlightRequests(io.forksafe.spi.RequestTracker tracker) {
        this.tracker = tracker.enabled() ? tracker : null;
        if (this.tracker != null) {
            tracker.installedBy(Installation.HOST);
        }
    }

    HttpHandler wrap(HttpHandler next) {
        io.forksafe.spi.RequestTracker t = tracker;
        return new HttpHandler() {
            @Override
            public void handleRequest(HttpServerExchange exchange) throws Exception {
                if (draining) {
                    exchange.setPersistent(false);
                }
                inFlight.incrementAndGet();
                io.forksafe.spi.RequestTracker.Request r = t == null ? null : t.begin();
                exchange.addExchangeCompleteListener((ex, nextListener) -> {
                    inFlight.decrementAndGet();
                    served.incrementAndGet();
                    if (t != null) {
                        t.end(r);
                    }
                    nextListener.proceed();
                });
                next.handleRequest(exchange);
            }

            @Override
            public String toString() {
                return "forksafe in-flight counter -> " + next;
            }
        };
    }

    /** From now on, every response closes its connection. */
    void startDraining() {
        draining = true;
    }

    /**
     * Waits until no request has been in flight for {@link #QUIET_MILLIS}, at most {@code timeoutMillis}.
     *
     * @return the requests still in flight when it returned (0 when drained)
     */
    long awaitDrained(long timeoutMillis) throws InterruptedException {
        long deadline = System.nanoTime() + timeoutMillis * 1_000_000;
        long quietSince = -1;
        while (true) {
            long now = System.nanoTime();
            long n = inFlight.get();
            if (n > 0) {
                quietSince = -1;
            } else if (quietSince < 0) {
                quietSince = now;
            } else if (now - quietSince >= QUIET_MILLIS * 1_000_000) {
                return 0;
            }
            if (now >= deadline) {
                return n;
            }
            Thread.sleep(5); // polling a counter: requests end on many threads, a latch per request costs more
        }
    }

    long inFlight() {
        return inFlight.get();
    }

    long served() {
        return served.get();
    }

    boolean isDraining() {
        return draining;
    }
}
