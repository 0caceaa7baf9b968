package io.forksafe.posix;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.ConnectException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A bounded HTTP load loop: {@code threads} clients, each sending one request per fresh connection until stopped,
 * counting successes (HTTP 200), refused connections and other failures, and which worker pid answered.
 */
final class LoadLoop implements AutoCloseable {

    final AtomicLong success = new AtomicLong();
    final AtomicLong refused = new AtomicLong();
    final AtomicLong failed = new AtomicLong();
    final Map<String, AtomicLong> byPid = new ConcurrentHashMap<>();
    final List<String> failures = java.util.Collections.synchronizedList(new ArrayList<>());
    private final List<Thread> threads = new ArrayList<>();
    private volatile boolean running = true;
    private final int port;

    LoadLoop(int port, int threadCount) {
        this.port = port;
        for (int i = 0; i < threadCount; i++) {
            Thread t = new Thread(this::run, "load-" + i);
            t.setDaemon(true);
            threads.add(t);
            t.start();
        }
    }

    private void run() {
        long end = System.nanoTime() + 120_000_000_000L; // hard bound: two minutes
        while (running && System.nanoTime() < end) {
            try (Socket s = new Socket()) {
                s.connect(new InetSocketAddress("127.0.0.1", port), 2000);
                s.setSoTimeout(10_000);
                OutputStream out = s.getOutputStream();
                out.write("GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
                out.flush();
                InputStream in = s.getInputStream();
                ByteArrayOutputStream body = new ByteArrayOutputStream();
                in.transferTo(body);
                String r = body.toString(StandardCharsets.US_ASCII);
                if (r.startsWith("HTTP/1.1 200")) {
                    success.incrementAndGet();
                    int i = r.indexOf("pid=");
                    if (i >= 0) {
                        byPid.computeIfAbsent(r.substring(i + 4, r.indexOf(' ', i)), k -> new AtomicLong()).incrementAndGet();
                    }
                } else {
                    failed.incrementAndGet();
                    failures.add("bad response: " + (r.length() > 80 ? r.substring(0, 80) : r));
                }
            } catch (ConnectException e) {
                refused.incrementAndGet();
                failures.add("refused: " + e.getMessage());
            } catch (IOException e) {
                failed.incrementAndGet();
                failures.add(e.toString());
            }
        }
    }

    long total() {
        return success.get() + refused.get() + failed.get();
    }

    /** Waits until at least {@code n} more requests succeeded. */
    void awaitSuccesses(long n, long timeoutMillis) throws InterruptedException {
        long target = success.get() + n;
        long deadline = System.currentTimeMillis() + timeoutMillis;
        while (success.get() < target && System.currentTimeMillis() < deadline) {
            Thread.sleep(10);
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
