package io.forksafe.arbiter.internal;

import java.nio.charset.StandardCharsets;

/**
 * systemd's readiness protocol ({@code sd_notify(3)}) without libsystemd: one datagram per state change, sent with
 * {@code socket(AF_UNIX, SOCK_DGRAM)} and {@code sendto} through {@link Libc} to the socket that {@code $NOTIFY_SOCKET}
 * names (a path, or an abstract name starting with {@code @}). The JDK's Unix domain sockets are stream-only, so this
 * is the one place that needs the native binding for it. Without {@code $NOTIFY_SOCKET} (not under a
 * {@code Type=notify} unit) every call does nothing. Not API.
 *
 * <pre>{@code
 * SystemdNotify notify = SystemdNotify.fromEnvironment();
 * String problem = notify.send("READY=1\nSTATUS=serving");   // null when sent or not under systemd
 * }</pre>
 */
public final class SystemdNotify {

    /** The variable systemd sets for a {@code Type=notify} service; workers do not inherit it. */
    public static final String ENV = "NOTIFY_SOCKET";

    private static final int SOCK_DGRAM = 2;

    private final String socket;

    private SystemdNotify(String socket) {
        this.socket = socket;
    }

    /** The notifier for {@code $NOTIFY_SOCKET}, inactive when it is unset or empty. */
    public static SystemdNotify fromEnvironment() {
        String s = System.getenv(ENV);
        return new SystemdNotify(s == null || s.isEmpty() ? null : s);
    }

    /** Whether the arbiter runs under a service manager that listens for notifications. */
    public boolean active() {
        return socket != null;
    }

    /** READY=1 with a status line and the arbiter's pid; null when sent (or inactive), otherwise why not. */
    public String ready(String status) {
        return send("READY=1\nSTATUS=" + status + "\nMAINPID=" + ProcessHandle.current().pid());
    }

    /** STOPPING=1; null when sent (or inactive), otherwise why not. */
    public String stopping() {
        return send("STOPPING=1\nSTATUS=stopping");
    }

    /**
     * Sends {@code state} (newline-separated {@code KEY=VALUE} assignments) as one datagram.
     *
     * @return null when sent or inactive, otherwise the reason it was not (the caller logs it: a lost notification
     *         makes systemd time the start out, which it reports on its own)
     */
    public String send(String state) {
        if (socket == null) {
            return null;
        }
        byte[] address;
        try {
            address = SocketHandoff.sockaddrUn(socket, "systemd names a shorter one");
        } catch (IllegalArgumentException e) {
            return "cannot notify " + ENV + "=" + socket + ": " + e.getMessage();
        }
        Libc.C c = Libc.get();
        int fd = c.socket(SocketHandoff.AF_UNIX, SOCK_DGRAM | SocketHandoff.SOCK_CLOEXEC, 0);
        if (fd < 0) {
            return "cannot notify " + ENV + "=" + socket + ": socket(AF_UNIX, SOCK_DGRAM) failed: " + Libc.lastError();
        }
        try {
            byte[] message = state.getBytes(StandardCharsets.UTF_8);
            long sent = c.sendto(fd, message, message.length, 0, address, address.length);
            return sent == message.length ? null : "cannot notify " + ENV + "=" + socket + ": sendto failed: "
                    + Libc.lastError();
        } finally {
            c.close(fd);
        }
    }
}
