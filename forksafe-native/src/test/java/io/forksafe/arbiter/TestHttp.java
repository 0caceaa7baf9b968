package io.forksafe.arbiter;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.function.BooleanSupplier;

/**
 * The tests' HTTP client and process-test helpers: one GET over a fresh connection to 127.0.0.1, bounded by connect
 * and read timeouts; the "key=value ..." bodies of the test apps; a free port; a bounded wait.
 */
public final class TestHttp {

    private TestHttp() {
    }

    /** A GET over a fresh connection: {status line, body}, the body de-chunked when the reply was chunked. */
    public static String[] get(int port, String path) throws IOException {
        return get(port, path, 10_000);
    }

    /** As {@link #get(int, String)}, with the given read timeout. */
    public static String[] get(int port, String path, int readTimeoutMillis) throws IOException {
        Reply r = send("127.0.0.1", port, "GET", path, Map.of(), readTimeoutMillis);
        return new String[] {r.statusLine(), r.body()};
    }

    /**
     * One HTTP/1.1 exchange.
     *
     * @param statusLine the first line, e.g. {@code HTTP/1.1 200 OK}
     * @param headers    the response headers, names in lower case
     * @param body       the body, de-chunked
     */
    public record Reply(String statusLine, Map<String, String> headers, String body) {

        /** The status code. */
        public int status() {
            return Integer.parseInt(statusLine.split(" ")[1]);
        }

        /** The Content-Type header, or "". */
        public String contentType() {
            return headers.getOrDefault("content-type", "");
        }
    }

    /** A GET to 127.0.0.1 with extra request headers. */
    public static Reply get(int port, String path, Map<String, String> headers) throws IOException {
        return send("127.0.0.1", port, "GET", path, headers, 10_000);
    }

    /** One request over a fresh connection, bounded by connect and read timeouts. */
    public static Reply send(String host, int port, String method, String path, Map<String, String> headers,
                             int readTimeoutMillis) throws IOException {
        try (Socket s = new Socket()) {
            s.connect(new InetSocketAddress(host, port), 2000);
            s.setSoTimeout(readTimeoutMillis);
            StringBuilder request = new StringBuilder(method + " " + path + " HTTP/1.1\r\nHost: " + host
                    + "\r\nConnection: close\r\n");
            headers.forEach((k, v) -> request.append(k).append(": ").append(v).append("\r\n"));
            s.getOutputStream().write(request.append("\r\n").toString().getBytes(StandardCharsets.US_ASCII));
            ByteArrayOutputStream all = new ByteArrayOutputStream();
            s.getInputStream().transferTo(all);
            String r = all.toString(StandardCharsets.UTF_8);
            int headerEnd = r.indexOf("\r\n\r\n");
            if (headerEnd < 0) {
                throw new IOException("incomplete HTTP response from port " + port + ": " + r);
            }
            Map<String, String> names = new LinkedHashMap<>();
            String[] lines = r.substring(0, headerEnd).split("\r\n");
            for (int i = 1; i < lines.length; i++) {
                int colon = lines[i].indexOf(':');
                if (colon > 0) {
                    names.put(lines[i].substring(0, colon).strip().toLowerCase(Locale.ROOT),
                            lines[i].substring(colon + 1).strip());
                }
            }
            return new Reply(lines[0], names, dechunk(r.substring(0, headerEnd), r.substring(headerEnd + 4)));
        }
    }

    /** The body of a GET that must answer 200. */
    public static String body(int port, String path) throws IOException {
        String[] r = get(port, path);
        if (!r[0].startsWith("HTTP/1.1 200")) {
            throw new IOException("GET " + path + " on port " + port + " answered " + r[0] + ": " + r[1]);
        }
        return r[1];
    }

    /** The fields of a test app's "slot=1 generation=0 pid=..." body, in order. */
    public static Map<String, String> fields(String body) {
        Map<String, String> m = new LinkedHashMap<>();
        for (String kv : body.strip().split(" ")) {
            int eq = kv.indexOf('=');
            if (eq > 0) {
                m.put(kv.substring(0, eq), kv.substring(eq + 1));
            }
        }
        return m;
    }

    /** GETs {@code /} until each of slots 1..{@code slots} has answered once (20 s at most); the first answer of each. */
    public static Map<Integer, Map<String, String>> firstResponsePerSlot(int port, int slots) throws IOException {
        Map<Integer, Map<String, String>> bySlot = new LinkedHashMap<>();
        long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
        while (bySlot.size() < slots && System.nanoTime() < deadline) {
            Map<String, String> m = fields(body(port, "/"));
            bySlot.putIfAbsent(Integer.parseInt(m.get("slot")), m);
        }
        if (bySlot.size() != slots) {
            throw new AssertionError("responses from " + slots + " slots expected within 20 s, got slots "
                    + bySlot.keySet());
        }
        return bySlot;
    }

    /** A port that was free on 127.0.0.1 a moment ago. */
    public static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }

    /** Polls {@code condition} every 5 ms; fails naming {@code what} after {@code timeout}. */
    public static void waitFor(BooleanSupplier condition, Duration timeout, String what) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("timed out after " + timeout.toMillis() + " ms waiting for " + what);
            }
            Thread.sleep(5);
        }
    }

    private static String dechunk(String headers, String body) {
        if (!headers.toLowerCase(Locale.ROOT).contains("transfer-encoding: chunked")) {
            return body;
        }
        StringBuilder out = new StringBuilder();
        int i = 0;
        while (i < body.length()) {
            int eol = body.indexOf("\r\n", i);
            int size = Integer.parseInt(body.substring(i, eol).trim(), 16);
            if (size == 0) {
                break;
            }
            out.append(body, eol + 2, eol + 2 + size);
            i = eol + 2 + size + 2;
        }
        return out.toString();
    }

    /**
     * Waits (at most 5 s) until every thread of {@code pid} is stopped (state T in /proc/pid/task/N/stat): kill(SIGSTOP)
     * returns before that, and a thread still running could accept a connection meanwhile.
     */
    public static void awaitStopped(long pid) throws InterruptedException {
        waitFor(() -> allThreadsStopped(pid), java.time.Duration.ofSeconds(5), "every thread of pid " + pid + " to stop");
    }

    /** Whether every thread of {@code pid} is stopped (state T in /proc/pid/task/N/stat). */
    static boolean allThreadsStopped(long pid) {
        try (var tasks = java.nio.file.Files.list(java.nio.file.Path.of("/proc/" + pid + "/task"))) {
            for (var t : tasks.toList()) {
                String stat = java.nio.file.Files.readString(t.resolve("stat"));
                if (stat.charAt(stat.lastIndexOf(')') + 2) != 'T') {
                    return false;
                }
            }
            return true;
        } catch (java.io.IOException e) {
            return false;
        }
    }

    /**
     * The connections to {@code port} that process {@code pid} has accepted and holds open (ESTABLISHED rows of
     * /proc/pid/net/tcp whose inode is one of its descriptors; the listening socket is not counted).
     */
    public static int establishedConnections(int port, long pid) {
        try {
            java.util.Set<String> inodes = new java.util.HashSet<>();
            try (var fds = java.nio.file.Files.list(java.nio.file.Path.of("/proc/" + pid + "/fd"))) {
                fds.forEach(fd -> {
                    try {
                        String link = java.nio.file.Files.readSymbolicLink(fd).toString();
                        if (link.startsWith("socket:[")) {
                            inodes.add(link.substring(8, link.length() - 1));
                        }
                    } catch (IOException ignored) {
                        // closed meanwhile
                    }
                });
            }
            int established = 0;
            for (String table : java.util.List.of("tcp", "tcp6")) {
                for (String line : java.nio.file.Files.readAllLines(java.nio.file.Path.of("/proc/" + pid + "/net/" + table))) {
                    String[] f = line.trim().split("\\s+");
                    if (f.length < 10 || !f[1].contains(":") || !inodes.contains(f[9]) || !f[3].equals("01")) {
                        continue;
                    }
                    if (Integer.parseInt(f[1].substring(f[1].indexOf(':') + 1), 16) == port) {
                        established++;
                    }
                }
            }
            return established;
        } catch (IOException | RuntimeException e) {
            throw new AssertionError("cannot read the connections of pid " + pid + " from /proc", e);
        }
    }

    /** A worker killed by {@link #killCountingInFlight}: the connections it held, and when SIGKILL was sent. */
    public record Kill(int inFlight, long killedAtNanos) {
    }

    /**
     * SIGSTOPs {@code pid}, waits until every thread of it stopped, counts the connections to {@code port} it holds
     * (the requests a kill may fail), then SIGKILLs it.
     */
    public static Kill killCountingInFlight(long pid, int port) throws InterruptedException {
        io.forksafe.arbiter.internal.Libc.get().kill((int) pid, jnr.constants.platform.Signal.SIGSTOP.intValue());
        awaitStopped(pid);
        int inFlight = establishedConnections(port, pid);
        long killedAt = System.nanoTime();
        io.forksafe.arbiter.internal.Libc.get().kill((int) pid, jnr.constants.platform.Signal.SIGKILL.intValue());
        return new Kill(inFlight, killedAt);
    }
}
