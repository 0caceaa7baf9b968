package io.forksafe.spi;

import java.io.IOException;
import java.nio.channels.Channel;
import java.nio.channels.ServerSocketChannel;
import java.util.concurrent.Callable;
import java.util.Objects;
import java.util.function.Function;

/**
 * The contract between the forksafe arbiter and the adapters in its worker JVMs, in one place: the environment it
 * sets, how an adapter tells that it runs as an arbiter worker, the listening socket it inherits, and the exit code of
 * a worker that failed to boot.
 *
 * <p>Two questions have two answers. {@link #sharesArbiterSocket} (the arbiter's pid is set): fd 0 is the arbiter's
 * listening socket, and a server adapter must serve it instead of binding its own port; another launcher may provide
 * just this. {@link #isSupervisedWorker} (the control socket is set too): the arbiter also supervises this JVM
 * (heartbeats, readiness, slot and generation).
 *
 * <pre>{@code
 * if (ArbiterContract.sharesArbiterSocket(System::getenv)) {
 *     ServerSocketChannel shared = ArbiterContract.inheritedListeningSocket();   // null if fd 0 is not one
 * }
 * }</pre>
 */
public final class ArbiterContract {

    /** Set by the arbiter in each worker: the arbiter's pid. Its presence means fd 0 is the arbiter's socket. */
    public static final String ENV_ARBITER_PID = "FORKSAFE_ARBITER_PID";
    /** Set by the arbiter in each worker it supervises: the path of its control socket (Unix domain). */
    public static final String ENV_CONTROL = "FORKSAFE_ARBITER_CONTROL";
    /** Set by the arbiter in each worker: its {@code --graceful-timeout} in milliseconds. */
    public static final String ENV_GRACEFUL_MILLIS = "FORKSAFE_ARBITER_GRACEFUL_MS";
    /**
     * Set by the arbiter in each worker when it recycles workers after a number of requests ({@code --max-requests}):
     * that number. The worker asks to be replaced once it served it plus its own draw of
     * {@link #ENV_MAX_REQUESTS_JITTER} (see {@link RequestTracker}).
     */
    public static final String ENV_MAX_REQUESTS = "FORKSAFE_ARBITER_MAX_REQUESTS";
    /** Set with {@link #ENV_MAX_REQUESTS}: each worker adds a random 0..this to it ({@code --max-requests-jitter}). */
    public static final String ENV_MAX_REQUESTS_JITTER = "FORKSAFE_ARBITER_MAX_REQUESTS_JITTER";
    /**
     * Set by the arbiter in each worker when requests have a time limit ({@code --request-timeout}): milliseconds. The
     * worker reports a request in flight for longer, and the arbiter aborts it (see {@link RequestTracker}).
     */
    public static final String ENV_REQUEST_TIMEOUT_MILLIS = "FORKSAFE_ARBITER_REQUEST_TIMEOUT_MS";
    /**
     * Exit code of a worker that failed to boot (a PostFork hook threw, or main failed before the worker was ready);
     * the arbiter halts instead of respawning (gunicorn's {@code WORKER_BOOT_ERROR}).
     */
    public static final int BOOT_ERROR_EXIT = 3;

    private ArbiterContract() {
    }

    /** The arbiter's pid from {@code environment}, or null when this JVM does not share an arbiter's socket. */
    public static String arbiterPid(Function<String, String> environment) {
        String pid = Objects.requireNonNull(environment, "environment must not be null: pass System::getenv")
                .apply(ENV_ARBITER_PID);
        return pid == null || pid.isBlank() ? null : pid.strip();
    }

    /** Whether fd 0 is an arbiter's listening socket, which server adapters must serve instead of binding a port. */
    public static boolean sharesArbiterSocket(Function<String, String> environment) {
        return arbiterPid(environment) != null;
    }

    /** Whether an arbiter supervises this JVM (its pid and its control socket are both set). */
    public static boolean isSupervisedWorker(Function<String, String> environment) {
        String control = environment.apply(ENV_CONTROL);
        return sharesArbiterSocket(environment) && control != null && !control.isBlank();
    }

    /**
     * The listening socket this JVM inherited as fd 0 ({@link System#inheritedChannel()}), or null if fd 0 is not an
     * open listening TCP socket.
     */
    public static ServerSocketChannel inheritedListeningSocket() {
        try {
            Channel c = System.inheritedChannel();
            return c instanceof ServerSocketChannel s && s.isOpen() ? s : null;
        } catch (IOException | SecurityException e) {
            return null;
        }
    }

    /**
     * The arbiter's listening socket that a server adapter must serve, read from {@code inheritedChannel} (normally
     * {@link System#inheritedChannel()}) because {@code arbiterPid} is set. A worker without it would report ready and
     * serve nothing, so the failure is an exception whose message names the fix, for the adapter to report as a boot
     * error.
     *
     * <pre>{@code
     * String pid = ArbiterContract.arbiterPid(System::getenv);
     * if (pid != null) {
     *     ServerSocketChannel shared = ArbiterContract.requireListeningSocket(pid, System::inheritedChannel);
     * }
     * }</pre>
     *
     * @throws IllegalStateException if the channel cannot be read or is not a listening {@link ServerSocketChannel}
     */
    public static ServerSocketChannel requireListeningSocket(String arbiterPid, Callable<Channel> inheritedChannel) {
        Channel channel;
        try {
            channel = inheritedChannel.call();
        } catch (Exception e) {
            throw new IllegalStateException(ENV_ARBITER_PID + "=" + arbiterPid + " is set but the inherited channel "
                    + "could not be read (" + e + "), so this worker has no socket to serve. Start it through the "
                    + "forksafe arbiter, or unset " + ENV_ARBITER_PID, e);
        }
        if (!(channel instanceof ServerSocketChannel listening)) {
            throw new IllegalStateException(ENV_ARBITER_PID + "=" + arbiterPid + " is set but System.inheritedChannel()"
                    + " is " + (channel == null ? "null" : channel.getClass().getName()) + ", not a listening "
                    + "ServerSocketChannel, so this worker has no socket to serve. Start it through the forksafe "
                    + "arbiter (it passes its socket as fd 0), or unset " + ENV_ARBITER_PID);
        }
        return listening;
    }

    /**
     * A non-negative whole number from {@code environment}'s {@code name}, or 0 when it is not set.
     *
     * @throws IllegalStateException if it is set to something else (only the arbiter sets it)
     */
    public static long nonNegative(Function<String, String> environment, String name) {
        String v = environment.apply(name);
        if (v == null || v.isBlank()) {
            return 0;
        }
        try {
            long n = Long.parseLong(v.strip());
            if (n >= 0) {
                return n;
            }
        } catch (NumberFormatException e) {
            // below
        }
        throw new IllegalStateException("malformed " + name + "=" + v + ": the arbiter sets it to a whole number >= 0; "
                + "unset it or start the worker through the arbiter");
    }

    /** {@code channel}'s local address for messages: {@code /127.0.0.1:8080}, or why it is not known. */
    public static String describe(ServerSocketChannel channel) {
        try {
            java.net.SocketAddress a = channel.getLocalAddress();
            return a == null ? "(unbound)" : a.toString();
        } catch (IOException e) {
            return "(unknown address: " + e + ")";
        }
    }
}
