package io.forksafe.it.example;

import com.sun.net.httpserver.HttpServer;

import io.forksafe.ContainerInfo;
import io.forksafe.ForkRegistry;
import io.forksafe.HookedThreadFactory;
import io.forksafe.spi.HostContext;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.Executors;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;

/**
 * An example adapter, for a host forksafe does not ship: the JDK's own HTTP server ({@code com.sun.net.httpserver}).
 * It is built only on what core offers adapter authors: {@link HostContext} (the host SPI) and
 * {@link HookedThreadFactory} (the worker-thread lifecycle for any pool), and it passes the host-adapter contract
 * ({@code JdkHttpServerContractTest}). About fifty lines: what a third adapter costs.
 *
 * <pre>{@code
 * HttpServer server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
 * JdkHttpServerForksafe forksafe = JdkHttpServerForksafe.install(server, registry);
 * server.start();
 * forksafe.started();    // PostWorkerInit for this process
 * forksafe.stop(5);      // stops the server, then WorkerExit for every thread and for the process
 * }</pre>
 */
public final class JdkHttpServerForksafe {

    static final String HOST = "jdk-httpserver";

    private final HttpServer server;
    private final HostContext host;
    private final ContainerInfo container = ContainerInfo.of(HOST, System.getProperty("java.version"));
    private final HookedThreadFactory threads;
    private final ThreadPoolExecutor pool;

    private JdkHttpServerForksafe(HttpServer server, ForkRegistry registry, int maxThreads) {
        this.server = server;
        this.host = HostContext.of(registry);
        this.threads = HookedThreadFactory.hooked(registry, HOST, Executors.defaultThreadFactory());
        this.pool = new ThreadPoolExecutor(maxThreads, maxThreads, 60, TimeUnit.SECONDS, new LinkedBlockingQueue<>(),
                threads);
    }

    /** Runs {@code server}'s exchanges on a hooked pool of {@code 16} threads and reports to {@code registry}. */
    public static JdkHttpServerForksafe install(HttpServer server, ForkRegistry registry) {
        JdkHttpServerForksafe f = new JdkHttpServerForksafe(server, registry, 16);
        server.setExecutor(f.pool);
        f.host.statusDetail(HOST, f::status);
        f.host.configured(HOST, f.container);
        return f;
    }

    /** After {@code server.start()}: this process serves (PostWorkerInit). */
    public void started() {
        host.postWorkerInit(host.registry().processWorker(), container);
    }

    /** Stops the server (waiting up to {@code seconds} for exchanges), its threads (each publishes WorkerExit) and the process. */
    public void stop(int seconds) throws InterruptedException {
        server.stop(seconds);
        pool.shutdown();
        pool.awaitTermination(seconds, TimeUnit.SECONDS);
        threads.awaitRetired(seconds * 1000L);
        host.workerExit(host.registry().processWorker(), container, "server stopped");
    }

    private Map<String, Object> status() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("address", String.valueOf(server.getAddress()));
        m.put("threads", pool.getPoolSize());
        m.put("threadsCreated", threads.counts().threadsCreated());
        m.put("threadsRetired", threads.counts().threadsRetired());
        return m;
    }
}
