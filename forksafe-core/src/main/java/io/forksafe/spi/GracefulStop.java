package io.forksafe.spi;

import io.forksafe.ForkRegistry;

import java.util.Objects;
import java.util.function.Function;

/**
 * The graceful stop that host adapters give a server when its user chose none, so that a server written as the
 * README shows finishes its in-flight requests on SIGTERM and publishes {@code WorkerExit}.
 *
 * <p>Under the forksafe arbiter, the worker must be done before the arbiter's {@code --graceful-timeout} ends (then
 * the arbiter sends SIGKILL), so the default is that timeout, which the arbiter passes in
 * {@value #ARBITER_GRACEFUL_ENV}, less a margin of a fifth (at most one second). Stand-alone it is
 * {@value #STANDALONE_MILLIS} ms, gunicorn's {@code graceful_timeout}. The setting {@value #SETTING}{@code =false}
 * tells adapters to leave the server's stop exactly as its user configured it.
 *
 * <pre>{@code
 * if (GracefulStop.enabled(registry)) {
 *     server.setStopTimeout(GracefulStop.defaultMillis(System::getenv));
 * }
 * }</pre>
 */
public final class GracefulStop {

    /** Set by the arbiter in each worker: its {@code --graceful-timeout} in milliseconds. */
    public static final String ARBITER_GRACEFUL_ENV = ArbiterContract.ENV_GRACEFUL_MILLIS;
    /** {@code forksafe.gracefulStop=false}: adapters do not change the server's stop settings. */
    public static final String SETTING = "forksafe.gracefulStop";
    /** The default outside an arbiter, in milliseconds. */
    public static final long STANDALONE_MILLIS = 30_000;

    private GracefulStop() {
    }

    /** Whether adapters should apply their safe stop defaults (unless {@value #SETTING}{@code =false}). */
    public static boolean enabled(ForkRegistry registry) {
        return !"false".equalsIgnoreCase(registry.setting(SETTING, "true").strip());
    }

    /**
     * The stop timeout to use when the user set none: the arbiter's graceful timeout less its margin, or
     * {@value #STANDALONE_MILLIS} ms when {@value #ARBITER_GRACEFUL_ENV} is absent or not a positive number.
     */
    public static long defaultMillis(Function<String, String> environment) {
        Objects.requireNonNull(environment, "environment must not be null: pass System::getenv");
        long arbiter = arbiterMillis(environment);
        return arbiter > 0 ? arbiter - Math.min(1_000, arbiter / 5) : STANDALONE_MILLIS;
    }

    /** Where {@link #defaultMillis} came from, for logs and the status. */
    public static String describe(Function<String, String> environment) {
        long arbiter = arbiterMillis(environment);
        return arbiter > 0 ? "the arbiter's --graceful-timeout (" + arbiter + " ms) less a margin"
                : "forksafe's stand-alone default";
    }

    private static long arbiterMillis(Function<String, String> environment) {
        String value = environment.apply(ARBITER_GRACEFUL_ENV);
        if (value == null) {
            return -1;
        }
        try {
            return Long.parseLong(value.strip());
        } catch (NumberFormatException e) {
            return -1;
        }
    }
}
