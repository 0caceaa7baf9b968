/**
 * forksafe native: process-level hosts through jnr (uWSGI's forked JVM workers through jnr-posix; the pre-fork arbiter through jnr-ffi alone).
 * Falls back to {@link java.lang.ProcessHandle} when native access is unavailable, and says so in the status.
 */
module io.forksafe.nativeos {
    requires transitive io.forksafe.core;
    requires org.jnrproject.posix;
    requires org.jnrproject.ffi; // uWSGI WorkerExit: a glibc on_exit handler (io.forksafe.uwsgi.internal.NativeExitHook)

    // the pre-fork arbiter (io.forksafe.arbiter.Arbiter; implementation in io.forksafe.arbiter.internal, not exported)
    requires org.jnrproject.constants;
    requires jdk.unsupported;
    requires static java.management;
    requires static micrometer.core; // ArbiterMetricsBinder, for applications that use Micrometer

    exports io.forksafe.arbiter;
    exports io.forksafe.uwsgi;
    // status sections are records in the internal packages; core renders their components
    opens io.forksafe.arbiter.internal to io.forksafe.core;
    opens io.forksafe.uwsgi.internal to io.forksafe.core;

    // uWSGI's forked workers, and the arbiter's worker side (autoconfigured in JVMs the arbiter spawned)
    provides io.forksafe.spi.ContainerAdapter with
            io.forksafe.uwsgi.internal.UwsgiContainerAdapter,
            io.forksafe.arbiter.internal.ArbiterWorkerAdapter;
}
