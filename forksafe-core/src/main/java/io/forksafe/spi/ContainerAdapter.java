package io.forksafe.spi;

import io.forksafe.ContainerInfo;
import io.forksafe.ForkRegistry;

/**
 * Service-provider interface for host adapters, discovered by {@link ForkRegistry#autoconfigure()} through
 * {@link java.util.ServiceLoader}. Declare it both in {@code module-info} ({@code provides}) and in
 * {@code META-INF/services/io.forksafe.spi.ContainerAdapter}.
 *
 * <pre>{@code
 * public final class MyHostAdapter implements ContainerAdapter {
 *     public String name() { return "myhost"; }
 *     public Detection detect() {
 *         return MyHost.isRunning() ? Detection.available(ContainerInfo.of("myhost", MyHost.VERSION))
 *                                   : Detection.notAvailable("not running inside myhost");
 *     }
 *     public void configure(HostContext host) { MyHost.onNewWorker(w -> host.postFork(...)); }
 * }
 * }</pre>
 */
public interface ContainerAdapter {

    /** The host's display name used in log lines, for example "Jetty" or "uWSGI". */
    String name();

    /** Whether this process runs inside the host. Must not throw; say why not in the result. */
    Detection detect();

    /**
     * Wires the host's own hooks to the registry, through its host side. Throwing, or calling
     * {@link HostContext#reportError}, marks the status as "&lt;name&gt; error: ..."; other adapters still run.
     */
    void configure(HostContext host) throws Exception;

    /**
     * The outcome of {@link #detect()}.
     *
     * @param available whether the host is present
     * @param reason    why it is not present, or a short note
     * @param container the host's name and version when present
     */
    record Detection(boolean available, String reason, ContainerInfo container) {

        /** The host is present. */
        public static Detection available(ContainerInfo container) {
            return new Detection(true, "", container);
        }

        /** The host is not present, with the reason. */
        public static Detection notAvailable(String reason) {
            return new Detection(false, reason, null);
        }
    }
}
