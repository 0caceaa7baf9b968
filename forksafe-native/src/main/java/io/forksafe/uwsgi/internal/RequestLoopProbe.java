package io.forksafe.uwsgi.internal;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Set;

/**
 * Tells when a uWSGI worker has entered its request loop, which is the moment its application is loaded.
 *
 * <p>uWSGI's JVM plugin creates the JVM, runs every {@code --jvm-main-class}, loads every {@code --jvm-class} and
 * sets up the JWSGI application, all on the worker's main thread, before the worker starts accepting requests. In
 * the request loop the main thread waits in the kernel ({@code epoll_wait}, {@code accept}, ...) with no Java frames
 * on its stack. So the worker is ready once the main thread has an empty Java stack and is blocked in one of those
 * system calls (read from {@code /proc/self/task/<tid>/syscall}). The Java stack is checked before and after the
 * system call so that Java code doing its own I/O during start-up does not count. A worker that is already serving
 * a request counts too: the bottom frame of the main thread is then the JWSGI entry point named by uWSGI's
 * {@code jwsgi} option ({@code Class:method}), which uWSGI calls only from its request loop (during set-up the
 * bottom frame is the class's {@code <clinit>} or {@code <init>}).
 */
final class RequestLoopProbe {

    /** Result of one probe. */
    enum State { STARTING, IN_REQUEST_LOOP, SERVING_REQUEST, UNKNOWN }

    // Linux system call numbers of the waits uWSGI's loop uses.
    private static final Set<Integer> X86_64_WAITS = Set.of(
            7 /* poll */, 23 /* select */, 43 /* accept */, 232 /* epoll_wait */, 270 /* pselect6 */,
            271 /* ppoll */, 281 /* epoll_pwait */, 288 /* accept4 */, 441 /* epoll_pwait2 */);
    private static final Set<Integer> AARCH64_WAITS = Set.of(
            22 /* epoll_pwait */, 72 /* pselect6 */, 73 /* ppoll */, 202 /* accept */, 242 /* accept4 */,
            441 /* epoll_pwait2 */);

    private final Thread main;
    private final Path syscallFile;
    private final Set<Integer> waits;
    private final String entryClass;
    private final String entryMethod;

    /**
     * @param jwsgi uWSGI's {@code jwsgi} option ({@code com/example/App:application}), or null
     */
    RequestLoopProbe(Thread main, long mainTid, String jwsgi) {
        this.main = main;
        String cls = null;
        String method = null;
        if (jwsgi != null && !jwsgi.isBlank()) {
            String j = jwsgi.strip();
            int colon = j.indexOf(':');
            cls = (colon < 0 ? j : j.substring(0, colon)).replace('/', '.');
            method = colon < 0 ? "application" : j.substring(colon + 1);
        }
        this.entryClass = cls;
        this.entryMethod = method;
        this.syscallFile = Path.of("/proc/self/task/" + mainTid + "/syscall");
        String arch = System.getProperty("os.arch", "").toLowerCase(Locale.ROOT);
        this.waits = arch.equals("amd64") || arch.equals("x86_64") ? X86_64_WAITS
                : arch.equals("aarch64") || arch.equals("arm64") ? AARCH64_WAITS : Set.of();
    }

    /** Whether this platform can be probed at all; null if yes, otherwise why not. */
    String unsupportedReason() {
        if (waits.isEmpty()) {
            return "no system call table for os.arch=" + System.getProperty("os.arch");
        }
        if (!Files.isReadable(syscallFile)) {
            return syscallFile + " is not readable";
        }
        if (main == null) {
            return "the worker's main thread was not found";
        }
        return null;
    }

    State probe() {
        StackTraceElement[] stack = main.getStackTrace();
        if (stack.length != 0) {
            return servesRequest(stack) ? State.SERVING_REQUEST : State.STARTING;
        }
        Integer nr = currentSyscall();
        if (nr == null) {
            return State.UNKNOWN;
        }
        if (!waits.contains(nr)) {
            return State.STARTING;
        }
        return main.getStackTrace().length == 0 ? State.IN_REQUEST_LOOP : State.STARTING;
    }

    /** Whether the bottom frame is the JWSGI entry point, which uWSGI calls only for requests. */
    boolean servesRequest(StackTraceElement[] stack) {
        if (entryClass == null || stack.length == 0) {
            return false;
        }
        StackTraceElement bottom = stack[stack.length - 1];
        return bottom.getClassName().equals(entryClass) && bottom.getMethodName().equals(entryMethod);
    }

    /** The system call the main thread is blocked in, -1 if it is running, null if unreadable. */
    Integer currentSyscall() {
        String s;
        try {
            s = Files.readString(syscallFile).strip();
        } catch (IOException | RuntimeException e) {
            return null;
        }
        if (s.isEmpty()) {
            return null;
        }
        if (s.startsWith("running")) {
            return -1;
        }
        int space = s.indexOf(' ');
        try {
            return Integer.parseInt(space < 0 ? s : s.substring(0, space));
        } catch (NumberFormatException e) {
            return null;
        }
    }
}
