package io.forksafe.uwsgi;

import io.forksafe.spi.HostContext;
import io.forksafe.ForkRegistry;
import io.forksafe.Forksafe;
import io.forksafe.uwsgi.internal.UwsgiContainerAdapter;
import io.forksafe.uwsgi.internal.UwsgiRuntime;

/**
 * Initialises forksafe as each uWSGI worker's JVM starts, with no application code: uWSGI's JVM plugin loads the
 * class named by {@code --jvm-class} (or calls {@code main} of {@code --jvm-main-class}) in every worker JVM right
 * after creating it, before the JWSGI application is set up. Loading this class runs
 * {@link Forksafe#autoconfigure()}, which loads {@link io.forksafe.spi.ForkHookProvider} hooks from the class path
 * and lets the uWSGI adapter publish {@link io.forksafe.PostFork} for this worker.
 *
 * <pre>{@code
 * uwsgi --plugins jvm_openjdk17,jwsgi_openjdk17 --master --processes 2 ... \
 *       --jvm-class io/forksafe/uwsgi/UwsgiBootstrap --jwsgi com/example/App:application
 * }</pre>
 *
 * uWSGI hands class names to JNI {@code FindClass}, so they are written with slashes. Loaded outside a uWSGI worker
 * this class sets the status to a "uWSGI error" naming the fix.
 */
public final class UwsgiBootstrap {

    static {
        bootstrap(Forksafe.registry());
    }

    private UwsgiBootstrap() {
    }

    /** Entry point for {@code --jvm-main-class io/forksafe/uwsgi/UwsgiBootstrap}; the work is done on class load. */
    public static void main(String[] args) {
        // class initialisation already configured forksafe
    }

    static void bootstrap(ForkRegistry registry) {
        ClassLoader cl = Thread.currentThread().getContextClassLoader();
        UwsgiRuntime rt = UwsgiRuntime.locate(cl != null ? cl : UwsgiBootstrap.class.getClassLoader());
        registry.autoconfigure();
        if (!rt.present()) {
            HostContext.of(registry).reportError(UwsgiContainerAdapter.HOST, "io.forksafe.uwsgi.UwsgiBootstrap ran outside a uWSGI "
                    + "worker (" + rt.absentReason() + "); load it inside uWSGI with --jvm-class "
                    + "io/forksafe/uwsgi/UwsgiBootstrap (slashes: uWSGI passes it to JNI FindClass), or drop it and "
                    + "call Forksafe.autoconfigure()");
        }
    }
}
