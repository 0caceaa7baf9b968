package io.forksafe.spi;

import java.io.IOException;
import java.nio.channels.Channel;
import java.nio.channels.ServerSocketChannel;
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
}
