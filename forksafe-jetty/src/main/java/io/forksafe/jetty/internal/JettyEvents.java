package io.forksafe.jetty.internal;

import io.forksafe.ContainerInfo;
import io.forksafe.ForkHookException;
import io.forksafe.ForkRegistry;

import org.eclipse.jetty.util.Jetty;

/** Shared helpers: the container description and hook-failure isolation. Not API. */
public final class JettyEvents {

    /** The host name used in log lines and status lines. */
    public static final String HOST = "Jetty";

    private static final System.Logger LOG = System.getLogger("io.forksafe.jetty");

    private JettyEvents() {
    }

    /** {@code jetty <version>} of the Jetty on the class path. */
    public static ContainerInfo container() {
        return ContainerInfo.of("jetty", Jetty.VERSION);
    }

    /**
     * Publishes through {@code action} and keeps Jetty running whatever the hooks do: hook failures are already
     * recorded in the status by the registry, so they are only logged here.
     */
    public static void publish(ForkRegistry registry, String event, Runnable action) {
        try {
            action.run();
        } catch (ForkHookException e) {
            LOG.log(System.Logger.Level.DEBUG, () -> "forksafe: " + event + " hooks failed; see the status", e);
        } catch (RuntimeException e) {
            registry.log("Jetty could not publish " + event + ": " + e);
            LOG.log(System.Logger.Level.WARNING, "forksafe: could not publish " + event, e);
        }
    }
}
