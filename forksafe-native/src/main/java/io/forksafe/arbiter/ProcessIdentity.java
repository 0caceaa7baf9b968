package io.forksafe.arbiter;

import jnr.posix.POSIX;
import jnr.posix.POSIXFactory;

/**
 * This process's real identity (pid and parent pid) read through jnr-posix, with a clean fallback to
 * {@link ProcessHandle} when native access is unavailable. {@link #source()} says which was used, so the status can
 * report the fallback.
 *
 * <pre>{@code
 * ProcessIdentity id = ProcessIdentity.current();
 * System.out.println(id.pid() + " child of " + id.parentPid() + " via " + id.source());
 * }</pre>
 *
 * @param pid       this process's pid
 * @param parentPid the parent's pid, or {@link io.forksafe.WorkerInfo#UNKNOWN_PID}
 * @param source    "jnr-posix" or "ProcessHandle (native access unavailable: ...)"
 */
public record ProcessIdentity(long pid, long parentPid, String source) {

    /** Reads the identity now (never cached: a restored or re-executed process must see its own). */
    public static ProcessIdentity current() {
        try {
            POSIX posix = Posix.get();
            if (posix.isNative()) {
                return new ProcessIdentity(posix.getpid(), posix.getppid(), "jnr-posix");
            }
            return fallback("jnr-posix has no native binding on this platform");
        } catch (Throwable t) {
            if (t instanceof VirtualMachineError vme) {
                throw vme;
            }
            return fallback(t.toString());
        }
    }

    /** {@code true} when the values came from native calls. */
    public boolean isNative() {
        return "jnr-posix".equals(source);
    }

    private static ProcessIdentity fallback(String why) {
        ProcessHandle self = ProcessHandle.current();
        long parent = self.parent().map(ProcessHandle::pid).orElse(io.forksafe.WorkerInfo.UNKNOWN_PID);
        return new ProcessIdentity(self.pid(), parent, "ProcessHandle (native access unavailable: " + why + ")");
    }

    /** Lazily created POSIX binding. */
    static final class Posix {
        private static volatile POSIX instance;

        private Posix() {
        }

        static POSIX get() {
            POSIX p = instance;
            if (p == null) {
                synchronized (Posix.class) {
                    if (instance == null) {
                        instance = POSIXFactory.getNativePOSIX();
                    }
                    p = instance;
                }
            }
            return p;
        }
    }
}
