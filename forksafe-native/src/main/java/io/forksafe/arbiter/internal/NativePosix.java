package io.forksafe.arbiter.internal;

import jnr.constants.platform.Errno;
import jnr.posix.POSIX;
import jnr.posix.POSIXFactory;

/** The jnr-posix binding the arbiter needs; fails with a clear message where native access is unavailable. */
public final class NativePosix {

    private static volatile POSIX instance;

    private NativePosix() {
    }

    /**
     * The native binding.
     *
     * @throws IllegalStateException if jnr-posix has no native binding here (the arbiter cannot spawn or reap)
     */
    public static POSIX get() {
        POSIX p = instance;
        if (p == null) {
            synchronized (NativePosix.class) {
                if (instance == null) {
                    POSIX created = POSIXFactory.getNativePOSIX();
                    if (!created.isNative()) {
                        throw new IllegalStateException("the forksafe arbiter needs native POSIX access through "
                                + "jnr-posix (posix_spawnp, waitpid, kill), which is unavailable on "
                                + System.getProperty("os.name") + "/" + System.getProperty("os.arch")
                                + ": run it on Linux or macOS with jnr-posix and jffi on the class path");
                    }
                    instance = created;
                }
                p = instance;
            }
        }
        return p;
    }

    /** The text of the last errno. */
    public static String lastError() {
        int errno = get().errno();
        Errno e = Errno.valueOf(errno);
        return e != null && e.defined() ? e.name() + " (" + e.description() + ")" : "errno " + errno;
    }
}
