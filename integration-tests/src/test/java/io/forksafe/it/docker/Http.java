package io.forksafe.it.docker;

import java.io.IOException;
import java.net.ConnectException;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import io.forksafe.arbiter.TestHttp;

/** Plain HTTP/1.1 over a fresh 127.0.0.1 connection per request ({@link TestHttp}), and a bounded load loop. */
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
        String[] r = TestHttp.get(port, path, readTimeoutMillis);
        return new Reply(r[0], r[1]);
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
