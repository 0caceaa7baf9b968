package io.forksafe.bench;

import io.forksafe.ForkEvent;
import io.forksafe.ForkRegistry;
import io.forksafe.jetty.ForksafeJetty;
import io.forksafe.undertow.ForksafeUndertow;
import io.undertow.Undertow;
import io.undertow.server.handlers.BlockingHandler;

import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.io.Content;
import org.eclipse.jetty.server.Handler;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import org.eclipse.jetty.util.Callback;
import org.eclipse.jetty.util.thread.QueuedThreadPool;

/**
 * Row 4: requests per second of a hello handler on Jetty and on Undertow, bare against forksafe installed with a hook
 * subscribed to every event, measured by a keep-alive HTTP/1.1 load client on 127.0.0.1 in the same JVM. The bare and
 * the forksafe server of one kind run side by side; each round loads one for {@code --seconds}, then the other, and
 * the variant that goes first alternates between rounds, so drift in the machine does not favour one side. The ratio
 * reported is the median over rounds of (forksafe / bare) of the same round; the ratio of the totals is printed too.
 *
 * <pre>{@code
 * java -cp ... io.forksafe.bench.HttpThroughput --rounds 20 --seconds 1 --connections 8 --out target/bench/http.txt
 * }</pre>
 */
public final class HttpThroughput {

    private static final byte[] HELLO = "hello".getBytes(StandardCharsets.US_ASCII);

    private HttpThroughput() {
    }

    /** A started server on an ephemeral port of 127.0.0.1. */
    interface Running extends AutoCloseable {
        int port();

        @Override
        void close() throws Exception;
    }

    public static void main(String[] args) throws Exception {
        int rounds = 20;
        double seconds = 1;
        double warmupSeconds = 1;
        int connections = 8;
        Path out = null;
        List<String> servers = List.of("jetty", "undertow");
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--rounds" -> rounds = Integer.parseInt(args[++i]);
                case "--seconds" -> seconds = Double.parseDouble(args[++i]);
                case "--warmup" -> warmupSeconds = Double.parseDouble(args[++i]);
                case "--connections" -> connections = Integer.parseInt(args[++i]);
                case "--out" -> out = Path.of(args[++i]);
                case "--servers" -> servers = List.of(args[++i].split(","));
                default -> throw new IllegalArgumentException("unknown option " + args[i]
                        + ": use --rounds N --seconds S --warmup S --connections C --servers jetty,undertow --out FILE");
            }
        }
        if (rounds < 1 || seconds <= 0 || seconds > 60 || connections < 1 || connections > 64) {
            throw new IllegalArgumentException("need rounds >= 1, 0 < seconds <= 60, 1 <= connections <= 64");
        }
        List<String> results = new ArrayList<>();
        for (String server : servers) {
            if (!server.equals("jetty") && !server.equals("undertow")) {
                throw new IllegalArgumentException("unknown server '" + server + "': use jetty and/or undertow");
            }
            double[] ratios = new double[rounds];
            double[] bare = new double[rounds];
            double[] hooked = new double[rounds];
            long bareTotal = 0;
            long hookedTotal = 0;
            LongAdder events = new LongAdder();
            // Both servers run side by side for the whole measurement; only the load moves between them, in short
            // slices. Slow drift of a shared machine (other tenants, frequency, GC) then hits both alike, which
            // restarting a server per measurement did not give: its per-round ratios spread from 0.83 to 1.50.
            try (Running bareServer = start(server, false, events); Running hookedServer = start(server, true, events)) {
                load(bareServer.port(), warmupSeconds, connections);
                load(hookedServer.port(), warmupSeconds, connections);
                for (int round = 0; round < rounds; round++) {
                    boolean forksafeFirst = round % 2 == 1;
                    for (int k = 0; k < 2; k++) {
                        boolean forksafe = (k == 0) == forksafeFirst;
                        long done = load((forksafe ? hookedServer : bareServer).port(), seconds, connections);
                        if (forksafe) {
                            hooked[round] = done / seconds;
                            hookedTotal += done;
                        } else {
                            bare[round] = done / seconds;
                            bareTotal += done;
                        }
                        System.err.printf(Locale.ROOT, "http %-8s round %d %-8s %,10.0f req/s%n", server, round + 1,
                                forksafe ? "forksafe" : "bare", done / seconds);
                    }
                    ratios[round] = hooked[round] / bare[round];
                }
                if (events.sum() == 0) {
                    throw new IllegalStateException(server + ": forksafe was installed but no event reached the hook");
                }
            }
            results.add(String.format(Locale.ROOT, "http.%s.ratio.total=%.4f", server,
                    (double) hookedTotal / bareTotal));
            results.add(String.format(Locale.ROOT, "http.%s.bare.rps=%.0f", server, median(bare)));
            results.add(String.format(Locale.ROOT, "http.%s.forksafe.rps=%.0f", server, median(hooked)));
            results.add(String.format(Locale.ROOT, "http.%s.ratio=%.4f", server, median(ratios)));
            results.add(String.format(Locale.ROOT, "http.%s.ratio.min=%.4f", server, min(ratios)));
            results.add(String.format(Locale.ROOT, "http.%s.ratio.max=%.4f", server, max(ratios)));
            results.add(String.format(Locale.ROOT, "http.%s.rounds=%d", server, rounds));
        }
        results.add("http.connections=" + connections);
        results.add(String.format(Locale.ROOT, "http.seconds=%.1f", seconds));
        if (out != null) {
            Files.createDirectories(out.toAbsolutePath().getParent());
            Files.write(out, results);
        }
        results.forEach(System.out::println);
    }

    static Running start(String server, boolean forksafe, LongAdder events) throws Exception {
        return server.equals("jetty") ? jetty(forksafe, events) : undertow(forksafe, events);
    }

    static Running jetty(boolean forksafe, LongAdder events) throws Exception {
        ForkRegistry registry = new ForkRegistry("bench-http-jetty");
        Server server;
        if (forksafe) {
            registry.subscribe(ForkEvent.class, "bench-counter", 0, e -> events.increment());
            server = new Server(ForksafeJetty.threadPool(registry));
            ForksafeJetty.install(server, registry);
        } else {
            server = new Server(new QueuedThreadPool());
        }
        ServerConnector connector = new ServerConnector(server);
        connector.setHost("127.0.0.1");
        connector.setPort(0);
        server.addConnector(connector);
        server.setHandler(new Handler.Abstract() {
            @Override
            public boolean handle(Request request, Response response, Callback callback) {
                response.getHeaders().put(HttpHeader.CONTENT_TYPE, "text/plain");
                response.getHeaders().put(HttpHeader.CONTENT_LENGTH, HELLO.length);
                response.write(true, java.nio.ByteBuffer.wrap(HELLO), callback);
                return true;
            }
        });
        server.start();
        int port = connector.getLocalPort();
        return new Running() {
            @Override
            public int port() {
                return port;
            }

            @Override
            public void close() throws Exception {
                server.stop();
            }
        };
    }

    static Running undertow(boolean forksafe, LongAdder events) {
        Undertow.Builder builder = Undertow.builder().setIoThreads(2).setWorkerThreads(16)
                .addHttpListener(0, "127.0.0.1")
                .setHandler(new BlockingHandler(ex -> ex.getResponseSender().send("hello")));
        Undertow server;
        if (forksafe) {
            ForkRegistry registry = new ForkRegistry("bench-http-undertow");
            registry.subscribe(ForkEvent.class, "bench-counter", 0, e -> events.increment());
            server = ForksafeUndertow.install(builder, registry).build();
            ForksafeUndertow.start(server);
        } else {
            server = builder.build();
            server.start();
        }
        int port = ((InetSocketAddress) server.getListenerInfo().get(0).getAddress()).getPort();
        return new Running() {
            @Override
            public int port() {
                return port;
            }

            @Override
            public void close() {
                if (forksafe) {
                    ForksafeUndertow.stop(server);
                } else {
                    server.stop();
                }
            }
        };
    }

    /** Keep-alive GETs on {@code connections} sockets for {@code seconds}; returns the completed responses. */
    static long load(int port, double seconds, int connections) throws InterruptedException {
        AtomicLong done = new AtomicLong();
        AtomicLong failed = new AtomicLong();
        long deadline = System.nanoTime() + (long) (seconds * 1e9);
        byte[] request = ("GET / HTTP/1.1\r\nHost: 127.0.0.1:" + port + "\r\n\r\n").getBytes(StandardCharsets.US_ASCII);
        List<Thread> threads = new ArrayList<>();
        for (int c = 0; c < connections; c++) {
            Thread t = new Thread(() -> {
                long n = 0;
                try (Socket s = new Socket()) {
                    s.setTcpNoDelay(true);
                    s.setSoTimeout(10_000);
                    s.connect(new InetSocketAddress("127.0.0.1", port), 5_000);
                    OutputStream os = s.getOutputStream();
                    InputStream is = new BufferedInputStream(s.getInputStream(), 8192);
                    while (System.nanoTime() < deadline) {
                        os.write(request);
                        os.flush();
                        readResponse(is);
                        n++;
                    }
                } catch (IOException e) {
                    failed.incrementAndGet();
                    System.err.println("load connection failed: " + e);
                }
                done.addAndGet(n);
            }, "load-" + c);
            t.start();
            threads.add(t);
        }
        for (Thread t : threads) {
            t.join((long) (seconds * 1000) + 30_000);
        }
        if (failed.get() > 0) {
            throw new IllegalStateException(failed.get() + " load connection(s) failed; see stderr");
        }
        return done.get();
    }

    private static void readResponse(InputStream in) throws IOException {
        int contentLength = -1;
        StringBuilder line = new StringBuilder(64);
        boolean first = true;
        while (true) {
            line.setLength(0);
            int b;
            while ((b = in.read()) != '\n') {
                if (b < 0) {
                    throw new IOException("connection closed by the server mid-response");
                }
                if (b != '\r') {
                    line.append((char) b);
                }
            }
            if (line.length() == 0) {
                break;
            }
            if (first) {
                if (!line.toString().startsWith("HTTP/1.1 200")) {
                    throw new IOException("unexpected status line: " + line);
                }
                first = false;
            } else if (line.length() > 15 && line.substring(0, 15).equalsIgnoreCase("content-length:")) {
                contentLength = Integer.parseInt(line.substring(15).trim());
            }
        }
        if (contentLength < 0) {
            throw new IOException("response without Content-Length");
        }
        for (int i = 0; i < contentLength; i++) {
            if (in.read() < 0) {
                throw new IOException("connection closed by the server mid-body");
            }
        }
    }

    static double median(double[] values) {
        double[] v = values.clone();
        Arrays.sort(v);
        int n = v.length;
        return n % 2 == 1 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
    }

    static double min(double[] values) {
        return Arrays.stream(values).min().orElse(Double.NaN);
    }

    static double max(double[] values) {
        return Arrays.stream(values).max().orElse(Double.NaN);
    }

}
