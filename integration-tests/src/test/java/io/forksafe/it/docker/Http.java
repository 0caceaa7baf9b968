package io.forksafe.it.docker;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.ConnectException;
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

/** Plain HTTP/1.1 over a fresh 127.0.0.1 connection per request, and a bounded load loop. */
final class Http {

    private Http() {
    }

    record Reply(String statusLine, String body) {
        int code() {
            String[] parts = statusLine.split(" ");
            return parts.length > 1 ? Integer.parseInt(parts[1]) : -1;
        }
    }

    /** GET {@code path} on 127.0.0.1:{@code port}; read timeout 30 s. */
    static Reply get(int port, String path) throws IOException {
        return get(port, path, 30_000);
    }

    static Reply get(int port, String path, int readTimeoutMillis) throws IOException {
        try (Socket s = new Socket()) {
            s.connect(new InetSocketAddress("127.0.0.1", port), 2000);
            s.setSoTimeout(readTimeoutMillis);
            s.getOutputStream().write(("GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
                    .getBytes(StandardCharsets.US_ASCII));
            ByteArrayOutputStream all = new ByteArrayOutputStream();
            s.getInputStream().transferTo(all);
            String r = all.toString(StandardCharsets.UTF_8);
            int headerEnd = r.indexOf("\r\n\r\n");
            if (headerEnd < 0) {
                throw new IOException("incomplete HTTP response (" + r.length() + " bytes): " + r);
            }
            return new Reply(r.substring(0, r.indexOf("\r\n")),
                    dechunk(r.substring(0, headerEnd), r.substring(headerEnd + 4)));
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
     * {@code n} threads sending GET / back to back, each on a fresh connection, for at most 2 minutes: successes,
     * refused connections and other failures are counted, and successes by the worker pid in the body.
     */
    static final class Load implements AutoCloseable {
        private static final Pattern PID = Pattern.compile("pid (\\d+)");
        final AtomicLong success = new AtomicLong();
        final AtomicLong refused = new AtomicLong();
        final AtomicLong failed = new AtomicLong();
        final Map<String, AtomicLong> byPid = new ConcurrentHashMap<>();
        final List<String> failures = Collections.synchronizedList(new ArrayList<>());
        private final List<Thread> threads = new ArrayList<>();
        private volatile boolean running = true;

        Load(int port, int n) {
            for (int i = 0; i < n; i++) {
                Thread t = new Thread(() -> {
                    long end = System.nanoTime() + TimeUnit.MINUTES.toNanos(2);
                    while (running && System.nanoTime() < end) {
                        try {
                            Reply r = get(port, "/", 10_000);
                            if (r.code() == 200) {
                                success.incrementAndGet();
                                Matcher m = PID.matcher(r.body());
                                if (m.find()) {
                                    byPid.computeIfAbsent(m.group(1), k -> new AtomicLong()).incrementAndGet();
                                }
                            } else {
                                failed.incrementAndGet();
                                failures.add(r.statusLine());
                            }
                        } catch (ConnectException e) {
                            refused.incrementAndGet();
                            failures.add(e.toString());
                        } catch (IOException e) {
                            failed.incrementAndGet();
                            failures.add(e.toString());
                        }
                    }
                }, "load-" + i);
                t.setDaemon(true);
                threads.add(t);
                t.start();
            }
        }

        /** Waits (up to 30 s) until {@code n} more requests succeeded. */
        void awaitSuccesses(long n) throws InterruptedException {
            long target = success.get() + n;
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            while (success.get() < target && System.nanoTime() < deadline) {
                Thread.sleep(10);
            }
            if (success.get() < target) {
                throw new AssertionError("the load did not reach " + target + " successes within 30 s: " + this);
            }
        }

        @Override
        public void close() throws InterruptedException {
            running = false;
            for (Thread t : threads) {
                t.join(15_000);
            }
        }

        @Override
        public String toString() {
            return "success=" + success + " refused=" + refused + " failed=" + failed + " byPid=" + byPid
                    + (failures.isEmpty() ? "" : " failures=" + failures.subList(0, Math.min(5, failures.size())));
        }
    }
}
