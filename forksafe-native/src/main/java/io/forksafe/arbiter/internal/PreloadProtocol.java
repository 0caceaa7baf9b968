package io.forksafe.arbiter.internal;

/**
 * The preload control protocol: text lines over the arbiter's control socket (the {@link ControlServer}'s), between
 * the arbiter ({@code Supervisor} with a {@code RestoreSource}), the template and each restored copy.
 *
 * <pre>
 * template -> arbiter   template &lt;pid&gt;            (on connect)
 * template -> arbiter   ready                      (PostWorkerInit was published in the template)
 * arbiter -> template   checkpoint
 * template -> arbiter   quiesced | prefork-failed &lt;reason&gt;   (then the template closes the channel: no socket
 *                                                  to the arbiter may be open in the image)
 * copy -> arbiter       restored &lt;pid namespace inode&gt;     (after the restore, on a new connection)
 * arbiter -> copy       identity &lt;slot&gt; &lt;generation&gt; &lt;host pid&gt; &lt;arbiter pid&gt;
 * copy -> listener      connects to FORKSAFE_PRELOAD_LISTENER, receives the arbiter's listening socket (SCM_RIGHTS)
 * copy -> arbiter       then the spawned workers' protocol ({@link ControlProtocol}): heartbeats, events,
 *                       ready, boot-error &lt;reason&gt;
 * </pre>
 */
public final class PreloadProtocol {

    /** Environment variable: path of the arbiter's control socket. Its presence makes a JVM a preload template. */
    public static final String ENV_CONTROL = "FORKSAFE_PRELOAD_CONTROL";
    /**
     * Environment variable: path of the arbiter's {@link SocketHandoff.Server}, from which each restored copy receives
     * the arbiter's listening socket. Its presence makes the template serve a private socket as fd 0.
     */
    public static final String ENV_LISTENER = "FORKSAFE_PRELOAD_LISTENER";
    /** Environment variable: the arbiter's pid. */
    public static final String ENV_PARENT_PID = "FORKSAFE_PRELOAD_PARENT_PID";
    /** Exit code of a copy whose PostFork hooks failed (the arbiter's boot-error code). */
    public static final int BOOT_ERROR_EXIT = io.forksafe.spi.ArbiterContract.BOOT_ERROR_EXIT;

    private PreloadProtocol() {
    }

    /** The inode of this process's pid namespace, from {@code /proc/self/ns/pid} ("pid:[4026531836]"). */
    public static String pidNamespace(String procPath) throws java.io.IOException {
        String link = java.nio.file.Files.readSymbolicLink(java.nio.file.Path.of(procPath)).toString();
        int open = link.indexOf('[');
        int close = link.indexOf(']');
        return open >= 0 && close > open ? link.substring(open + 1, close) : link;
    }
}
