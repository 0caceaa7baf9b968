package io.forksafe.uwsgi.internal;

import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

import jnr.ffi.LibraryLoader;
import jnr.ffi.Pointer;
import jnr.ffi.annotations.Delegate;

/**
 * A C-level exit handler (glibc {@code on_exit}) through jnr-ffi, calling back into this JVM with the exit status.
 *
 * <p>Why: uWSGI ends a worker by calling C {@code exit()} from its signal handlers (graceful reload:
 * {@code exit(17)}; stop and brutal reload: {@code exit(30)}; max-requests: {@code exit(0)}). The JVM plugin never
 * destroys the JVM, and uWSGI replaces the JVM's SIGHUP/SIGINT/SIGTERM handlers after the JVM starts, so Java
 * shutdown hooks never run in a uWSGI worker. C exit handlers do run, on the thread that called {@code exit()}:
 * uWSGI's main thread, which created the JVM and is attached to it.
 *
 * <p>Registered once per process (the C registration cannot be undone); listeners are added per registry.
 *
 * <p><b>JVM shutdown guard.</b> The jnr-ffi callback must never run once the JVM itself is shutting down: after
 * {@code System.exit} HotSpot calls C {@code exit()} from its VM thread, which cannot enter Java, and jffi crashes
 * (verified: SIGSEGV in jffi). So a Java shutdown hook first tells listeners
 * ({@code jvmShutdown = true}) and then registers glibc's own {@code _exit} as one more exit handler. Exit handlers
 * run in reverse order of registration, so {@code _exit(status)} ends the process, with the status {@code exit()}
 * was given, before the jnr-ffi callback could run. Java shutdown hooks run only when the JVM shuts itself down
 * ({@code System.exit}, or the last thread ending), never when uWSGI calls {@code exit()}, so uWSGI's exits still reach
 * the callback. {@code Runtime.halt()} skips shutdown hooks and is not covered.
 */
public final class NativeExitHook {

    /** The native callback signature: {@code void (*)(int status, void *arg)}. */
    public interface ExitCallback {
        @Delegate
        void onExit(int status, Pointer arg);
    }

    /** The part of libc used here. */
    public interface LibC {
        int on_exit(ExitCallback callback, Pointer arg);
    }

    /** {@code on_exit} with a plain function pointer, and {@code dlsym} to find {@code _exit}. */
    public interface LibCRaw {
        int on_exit(Pointer function, Pointer arg);

        Pointer dlsym(Pointer handle, String symbol);
    }

    /** Who is told about an exit. */
    public interface Listener {
        /**
         * @param status      the status given to C exit(), or -1 when unknown
         * @param jvmShutdown true when the JVM itself is shutting down (System.exit), false for uWSGI's exit()
         */
        void onExit(int status, boolean jvmShutdown);
    }

    private static final List<Listener> LISTENERS = new CopyOnWriteArrayList<>();
    private static final Object LOCK = new Object();
    // Strong references: the native side holds only a function pointer to the closure.
    private static LibC libc;
    private static LibCRaw libcRaw;
    private static ExitCallback callback;
    private static String failure;

    private NativeExitHook() {
    }

    /**
     * Adds {@code listener}, registering the native handler on first use.
     *
     * @return null on success, otherwise why exit handlers are unavailable
     */
    public static String addListener(Listener listener) {
        synchronized (LOCK) {
            if (callback == null && failure == null) {
                failure = registerNative();
            }
            if (failure != null) {
                return failure;
            }
            LISTENERS.add(listener);
            return null;
        }
    }

    private static String registerNative() {
        try {
            LibC c = LibraryLoader.create(LibC.class).failImmediately().load("c");
            LibCRaw raw = loadRaw();
            Pointer underscoreExit = raw.dlsym(null, "_exit");
            if (underscoreExit == null || underscoreExit.address() == 0) {
                return "glibc _exit not found through dlsym; without it the exit handler is unsafe at JVM shutdown";
            }
            ExitCallback cb = (status, arg) -> notifyListeners(status, false);
            Thread guard = new Thread(() -> {
                notifyListeners(-1, true);
                raw.on_exit(underscoreExit, null);
            }, "forksafe-exit-guard");
            Runtime.getRuntime().addShutdownHook(guard);
            int rc = c.on_exit(cb, null);
            if (rc != 0) {
                Runtime.getRuntime().removeShutdownHook(guard);
                return "glibc on_exit() returned " + rc;
            }
            libc = c;
            libcRaw = raw;
            callback = cb;
            return null;
        } catch (Throwable t) {
            if (t instanceof VirtualMachineError vme) {
                throw vme;
            }
            return "native exit handler unavailable (jnr-ffi/glibc on_exit): " + t;
        }
    }

    private static LibCRaw loadRaw() {
        try {
            return LibraryLoader.create(LibCRaw.class).failImmediately().load("c");
        } catch (UnsatisfiedLinkError beforeGlibc234) {
            // glibc before 2.34 keeps dlsym in libdl
            return LibraryLoader.create(LibCRaw.class).library("dl").library("c").failImmediately().load();
        }
    }

    private static void notifyListeners(int status, boolean jvmShutdown) {
        for (Listener l : LISTENERS) {
            try {
                l.onExit(status, jvmShutdown);
            } catch (Throwable t) {
                // never let a Java failure unwind into C exit(); the registry records hook failures
                if (t instanceof VirtualMachineError vme) {
                    throw vme;
                }
            }
        }
    }
}
