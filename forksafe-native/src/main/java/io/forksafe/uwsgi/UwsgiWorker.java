package io.forksafe.uwsgi;

import io.forksafe.ForkRegistry;
import io.forksafe.Forksafe;
import io.forksafe.uwsgi.internal.UwsgiContainerAdapter;

/**
 * Optional calls for applications running in a uWSGI worker JVM. Normally nothing is needed: forksafe publishes
 * {@link io.forksafe.PostWorkerInit} by itself once the worker enters uWSGI's request loop. An application whose
 * readiness is later than that (for example one that warms up in the background) can publish it itself, earlier.
 *
 * <pre>{@code
 * Forksafe.autoconfigure();
 * warmUpCaches();
 * UwsgiWorker.ready(); // PostWorkerInit now, instead of when the request loop starts
 * }</pre>
 */
public final class UwsgiWorker {

    private UwsgiWorker() {
    }

    /**
     * Publishes {@link io.forksafe.PostWorkerInit} for this worker in the global registry, unless it already ran.
     *
     * @return true if this call published it; false if it already ran or uWSGI is not configured in this JVM
     */
    public static boolean ready() {
        return ready(Forksafe.registry());
    }

    /** {@link #ready()} for a given registry. */
    public static boolean ready(ForkRegistry registry) {
        return UwsgiContainerAdapter.markReady(registry, "application called UwsgiWorker.ready()");
    }

    /** Whether forksafe is wired to a uWSGI worker in the global registry. */
    public static boolean configured() {
        return UwsgiContainerAdapter.configured(Forksafe.registry());
    }
}
