/**
 * forksafe native: process-level hosts through jnr-posix (uWSGI's forked JVM workers, the pre-fork arbiter).
 * Falls back to {@link java.lang.ProcessHandle} when native access is unavailable, and says so in the status.
 */
module io.forksafe.nativeos {
    requires transitive io.forksafe.core;
    requires org.jnrproject.posix;
    requires jdk.httpserver;

    exports io.forksafe.posix;
}
