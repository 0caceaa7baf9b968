package io.forksafe.arbiter;

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

/**
 * A bounded HTTP load loop: {@code threads} clients, each sending one request per fresh connection until stopped (at
 * most two minutes), counting successes (HTTP 200), refused connections and other failures, and which worker pid
 * answered (read from the body with a pattern whose first group is the pid).
 */
public final class LoadLoop implements AutoCloseable {

    /** Bodies like {@code "hello from pid=123 ..."} (the tests' own worker). */
    public static final Pattern PID_EQUALS = Pattern.compile("pid=(\\d+)");
    /** Bodies like {@code "hello from pid 123 ..."} (the demo apps). */
    public static final Pattern PID_SPACE = Pattern.compile("pid (\\d+)");

    public final AtomicLong success = new AtomicLong();
    public final AtomicLong refused = new AtomicLong();
    public final AtomicLong failed = new AtomicLong();
    public final Map<String, AtomicLong> byPid = new ConcurrentHashMap<>();
    public final List<String> failures = Collections.synchronizedList(new ArrayList<>());
    /** When each refused or failed request ended ({@link System#nanoTime()}). */
    public final List<Long> failureNanos = Collections.synchronizedList(new ArrayList<>());
    private final List<Thread> threads = new ArrayList<>();
    private final int port;
    private final Pattern pid;
    private volatile boolean running = true;

    /** Load with bodies that name the pid as {@code pid=N}. */
    public LoadLoop(int port, int threadCount) {
        this(port, threadCount, PID_EQUALS);
    }

    public LoadLoop(int port, int threadCount, Pattern pid) {
        this.port = port;
        this.pid = pid;
        for (int i = 0; i < threadCount; i++) {
            Thread t = new Thread(this::run, "load-" + i);
            t.setDaemon(true);
            threads.add(t);
            t.start();
        }
    }

    private void run() {
        long end = System.nanoTime() + TimeUnit.MINUTES.toNanos(2); // hard bound
        while (running && System.nanoTime() < end) {
            try {
                String[] r = TestHttp.get(port, "/");
                if (r[0].startsWith("HTTP/1.1 200")) {
                    success.incrementAndGet();
                    Matcher m = pid.matcher(r[1]);
                    if (m.find()) {
                        byPid.computeIfAbsent(m.group(1), k -> new AtomicLong()).incrementAndGet();
                    }
                } else {
                    failureNanos.add(System.nanoTime());
                    failed.incrementAndGet();
                    failures.add("bad response: " + r[0]);
                }
            } catch (ConnectException e) {
                failureNanos.add(System.nanoTime());
                refused.incrementAndGet();
                failures.add("refused: " + e.getMessage());
            } catch (IOException e) {
                failureNanos.add(System.nanoTime());
                failed.incrementAndGet();
                failures.add(e.toString());
            }
        }
    }

    public long total() {
        return success.get() + refused.get() + failed.get();
    }

    /** Waits (at most {@code timeoutMillis}) until at least {@code n} more requests succeeded. */
    public void awaitSuccesses(long n, long timeoutMillis) throws InterruptedException {
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
            t.join(15_000);
        }
    }

    @Override
    public String toString() {
        return "success=" + success + " refused=" + refused + " failed=" + failed + " byPid=" + byPid
                + (failures.isEmpty() ? "" : " failures=" + failures.subList(0, Math.min(5, failures.size())));
    }
}
