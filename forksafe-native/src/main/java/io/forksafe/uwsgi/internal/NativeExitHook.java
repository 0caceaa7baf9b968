package io.forksafe.uwsgi.internal;

import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.IntConsumer;

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

    private static final List<IntConsumer> LISTENERS = new CopyOnWriteArrayList<>();
    private static final Object LOCK = new Object();
    // Strong references: the native side holds only a function pointer to the closure.
    private static LibC libc;
    private static ExitCallback callback;
    private static String failure;

    private NativeExitHook() {
    }

    /**
     * Adds {@code listener}, registering the native handler on first use.
     *
     * @return null on success, otherwise why exit handlers are unavailable
     */
    public static String addListener(IntConsumer listener) {
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

    /** Removes a listener added with {@link #addListener}. */
    public static void removeListener(IntConsumer listener) {
        LISTENERS.remove(listener);
    }

    private static String registerNative() {
        try {
            LibC c = LibraryLoader.create(LibC.class).failImmediately().load("c");
            ExitCallback cb = (status, arg) -> {
                for (IntConsumer l : LISTENERS) {
                    try {
                        l.accept(status);
                    } catch (Throwable t) {
                        // never let a Java failure unwind into C exit(); the registry records hook failures
                        if (t instanceof VirtualMachineError vme) {
                            throw vme;
                        }
                    }
                }
            };
            int rc = c.on_exit(cb, null);
            if (rc != 0) {
                return "glibc on_exit() returned " + rc;
            }
            libc = c;
            callback = cb;
            return null;
        } catch (Throwable t) {
            if (t instanceof VirtualMachineError vme) {
                throw vme;
            }
            return "native exit handler unavailable (jnr-ffi/glibc on_exit): " + t;
        }
    }

    /** Whether the native handler is registered in this process. */
    public static boolean registered() {
        synchronized (LOCK) {
            return callback != null && libc != null;
        }
    }
}
