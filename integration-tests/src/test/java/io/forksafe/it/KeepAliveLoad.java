package io.forksafe.it;

import java.io.BufferedInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * HTTP/1.1 load over persistent connections, as wrk or a browser makes it: each thread keeps one connection and sends
 * requests on it one after the other, opening a new one when the server closes it ({@code Connection: close}).
 *
 * <p>Failures are counted in two kinds. The <b>keep-alive close race</b>: a request sent on a reused connection at
 * the instant the server closed that idle connection gets no response byte at all. HTTP allows the close (RFC 9112
 * 9.6) and says a client may retry such a request, which HTTP clients do for idempotent requests; this client retries
 * it once on a new connection and counts it in {@link #keepAliveRaces}. Every other problem, including a second
 * failure, a refused connection, a partial or non-200 response, is counted in {@link #failed}.
 * Bounded: each thread stops after two minutes at the latest.
 */
final class KeepAliveLoad implements AutoCloseable {

    private static final Pattern PID = Pattern.compile("pid (\\d+)");

    final AtomicLong success = new AtomicLong();
    final AtomicLong failed = new AtomicLong();
    final AtomicLong keepAliveRaces = new AtomicLong();
    final AtomicLong connectionsOpened = new AtomicLong();
    final Map<String, AtomicLong> byPid = new ConcurrentHashMap<>();
    final List<String> failures = Collections.synchronizedList(new ArrayList<>());
    private final List<Thread> threads = new ArrayList<>();
    private final int port;
    private volatile boolean running = true;

    KeepAliveLoad(int port, int connections) {
        this.port = port;
        for (int i = 0; i < connections; i++) {
            Thread t = new Thread(this::run, "keep-alive-load-" + i);
            t.setDaemon(true);
            threads.add(t);
            t.start();
        }
    }

    private void run() {
        long end = System.nanoTime() + TimeUnit.MINUTES.toNanos(2);
        Socket socket = null;
        long onThisConnection = 0;
        while (running && System.nanoTime() < end) {
            try {
                if (socket == null) {
                    socket = open();
                    onThisConnection = 0;
                }
                Response r;
                try {
                    r = exchange(socket);
                } catch (NoResponse e) {
                    close(socket);
                    socket = null;
                    if (onThisConnection == 0) {
                        throw new IOException("no response on a new connection: " + e.getMessage());
                    }
                    keepAliveRaces.incrementAndGet();
                    socket = open(); // the retry an HTTP client makes for an idempotent request
                    onThisConnection = 0;
                    r = exchange(socket);
                }
                onThisConnection++;
                if (r.status == 200) {
                    success.incrementAndGet();
                    Matcher m = PID.matcher(r.body);
                    if (m.find()) {
                        byPid.computeIfAbsent(m.group(1), k -> new AtomicLong()).incrementAndGet();
                    }
                } else {
                    failed.incrementAndGet();
                    failures.add("status " + r.status + ": " + r.body.strip());
                }
                if (r.close) {
                    close(socket);
                    socket = null;
                }
            } catch (IOException e) {
                failed.incrementAndGet();
                failures.add(e.toString());
                close(socket);
                socket = null;
            }
        }
        close(socket);
    }

    private Socket open() throws IOException {
        Socket s = new Socket();
        s.setTcpNoDelay(true);
        s.setSoTimeout(15_000);
        s.connect(new InetSocketAddress("127.0.0.1", port), 5_000);
        connectionsOpened.incrementAndGet();
        return s;
    }

    private static void close(Socket s) {
        if (s != null) {
            try {
                s.close();
            } catch (IOException ignored) {
                // closing
            }
        }
    }

    private record Response(int status, String body, boolean close) {
    }

    /** No byte of a response arrived: the connection was closed or reset before the server read the request. */
    private static final class NoResponse extends IOException {
        private static final long serialVersionUID = 1L;

        NoResponse(String message) {
            super(message);
        }
    }

    private static Response exchange(Socket s) throws IOException {
        OutputStream out = s.getOutputStream();
        InputStream in = new BufferedInputStream(s.getInputStream());
        try {
            out.write("GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
            out.flush();
        } catch (IOException e) {
            throw new NoResponse("write failed: " + e);
        }
        String statusLine;
        try {
            statusLine = readLine(in, true);
        } catch (NoResponse e) {
            throw e;
        } catch (IOException e) {
            throw new NoResponse(e.toString());
        }
        String[] parts = statusLine.split(" ", 3);
        int status = Integer.parseInt(parts[1]);
        long length = -1;
        boolean chunked = false;
        boolean close = false;
        for (String h = readLine(in, false); !h.isEmpty(); h = readLine(in, false)) {
            String lower = h.toLowerCase(Locale.ROOT);
            if (lower.startsWith("content-length:")) {
                length = Long.parseLong(lower.substring(15).strip());
            } else if (lower.startsWith("transfer-encoding:") && lower.contains("chunked")) {
                chunked = true;
            } else if (lower.startsWith("connection:") && lower.contains("close")) {
                close = true;
            }
        }
        ByteArrayOutputStream body = new ByteArrayOutputStream();
        if (chunked) {
            for (long n = Long.parseLong(readLine(in, false).strip(), 16); n > 0;
                 n = Long.parseLong(readLine(in, false).strip(), 16)) {
                body.write(in.readNBytes((int) n));
                readLine(in, false);
            }
            readLine(in, false);
        } else if (length >= 0) {
            byte[] b = in.readNBytes((int) length);
            if (b.length < length) {
                throw new IOException("response cut after " + b.length + " of " + length + " body bytes");
            }
            body.write(b);
        } else {
            body.write(in.readAllBytes());
            close = true;
        }
        return new Response(status, body.toString(StandardCharsets.UTF_8), close);
    }

    private static String readLine(InputStream in, boolean first) throws IOException {
        StringBuilder sb = new StringBuilder();
        int c;
        while ((c = in.read()) >= 0) {
            if (c == '\n') {
                int n = sb.length();
                return n > 0 && sb.charAt(n - 1) == '\r' ? sb.substring(0, n - 1) : sb.toString();
            }
            sb.append((char) c);
        }
        if (first && sb.length() == 0) {
            throw new NoResponse("connection closed before any response byte");
        }
        throw new IOException("connection closed in the middle of a response line: '" + sb + "'");
    }

    long total() {
        return success.get() + failed.get();
    }

    void awaitSuccesses(long n, long timeoutMillis) throws InterruptedException {
        long target = success.get() + n;
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(timeoutMillis);
        while (success.get() < target && System.nanoTime() < deadline) {
            Thread.sleep(10);
        }
    }

    @Override
    public void close() throws InterruptedException {
        running = false;
        for (Thread t : threads) {
            t.join(20_000);
        }
    }

    @Override
    public String toString() {
        return "success=" + success + " failed=" + failed + " keepAliveRaces=" + keepAliveRaces + " connections="
                + connectionsOpened + " byPid=" + byPid + (failures.isEmpty() ? ""
                : " failures=" + failures.subList(0, Math.min(10, failures.size())));
    }
}
