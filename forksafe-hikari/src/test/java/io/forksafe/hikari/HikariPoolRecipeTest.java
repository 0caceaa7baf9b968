package io.forksafe.hikari;

import io.forksafe.spi.HostContext;
import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;

import io.forksafe.ContainerInfo;
import io.forksafe.ForkHookException;
import io.forksafe.ForkRegistry;
import io.forksafe.WorkerInfo;
import io.forksafe.WorkerKind;
import io.forksafe.testing.ForkSimulator;

import org.h2.tools.Server;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.lang.reflect.Proxy;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BooleanSupplier;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * A real HikariCP 6.3.3 pool against a real H2 2.x TCP server on 127.0.0.1. Physical connections are counted on
 * the server: {@code INFORMATION_SCHEMA.SESSIONS}, read through a separate admin connection, lists every open session
 * of the pool's user with its server-side id (ids only grow, so a new connection always has a new id).
 */
class HikariPoolRecipeTest {

    private static final int POOL_SIZE = 4;
    private static final ContainerInfo HOST = ContainerInfo.of("test", "1");

    private static Server server;
    private static String url;
    private static Connection admin;

    private ForkRegistry registry;
    private HikariDataSource pool;

    @BeforeAll
    static void startDatabaseServer() throws SQLException {
        assertThat(System.getProperty("h2.bindAddress")).as("set by surefire: the server listens on loopback only")
                .isEqualTo("127.0.0.1");
        server = Server.createTcpServer("-tcpPort", "0", "-ifNotExists").start();
        url = "jdbc:h2:tcp://127.0.0.1:" + server.getPort() + "/mem:forksafe";
        admin = DriverManager.getConnection(url, "sa", "sa-secret");
        try (Statement s = admin.createStatement()) {
            s.execute("CREATE USER IF NOT EXISTS app PASSWORD 'app-secret'");
            s.execute("CREATE TABLE IF NOT EXISTS t(id INT)");
            s.execute("GRANT SELECT, INSERT ON t TO app");
        }
    }

    @AfterAll
    static void stopDatabaseServer() throws SQLException {
        if (admin != null) {
            admin.close();
        }
        if (server != null) {
            server.stop();
        }
    }

    @BeforeEach
    void createPool() throws Exception {
        // HikariCP closes connections on its own threads: a previous test's pool may still be closing its last ones.
        waitFor(() -> sessions().isEmpty(), "no pool sessions left from an earlier test");
        registry = new ForkRegistry("hikari");
        pool = new HikariDataSource(config(true));
        waitFor(() -> sessions().size() == POOL_SIZE, "pool filled to " + POOL_SIZE + " server sessions");
    }

    @AfterEach
    void closePool() {
        if (pool != null) {
            pool.close();
        }
    }

    private static HikariConfig config(boolean allowSuspension) {
        HikariConfig c = new HikariConfig();
        c.setJdbcUrl(url);
        c.setUsername("app");
        c.setPassword("app-secret");
        c.setMinimumIdle(POOL_SIZE);
        c.setMaximumPoolSize(POOL_SIZE);
        c.setConnectionTimeout(10_000);
        c.setAllowPoolSuspension(allowSuspension);
        c.setPoolName("forksafe-test-" + allowSuspension);
        return c;
    }

    /** The server-side session ids of the pool's user, i.e. its open physical connections. */
    private static Set<Integer> sessions() {
        try (Statement s = admin.createStatement();
             ResultSet rs = s.executeQuery("SELECT SESSION_ID FROM INFORMATION_SCHEMA.SESSIONS WHERE USER_NAME = 'APP'")) {
            Set<Integer> ids = new TreeSet<>();
            while (rs.next()) {
                ids.add(rs.getInt(1));
            }
            return ids;
        } catch (SQLException e) {
            throw new IllegalStateException(e);
        }
    }

    private static int sessionIdOf(Connection c) throws SQLException {
        try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery("SELECT SESSION_ID()")) {
            rs.next();
            return rs.getInt(1);
        }
    }

    private static void waitFor(BooleanSupplier condition, String what) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("timed out waiting for: " + what + " (server sessions now " + sessions() + ")");
            }
            Thread.sleep(5);
        }
    }

    private static WorkerInfo restoredCopy(long generation) {
        long pid = ProcessHandle.current().pid();
        return new WorkerInfo(0, "restored", WorkerKind.RESTORE, pid, pid, generation);
    }

    @Test
    void noConnectionCrossesASimulatedRestore() throws Exception {
        HikariPoolRecipe.install(registry, pool);
        Set<Integer> beforeCopy = sessions();
        assertThat(beforeCopy).hasSize(POOL_SIZE);
        try (Connection c = pool.getConnection()) {
            assertThat(beforeCopy).contains(sessionIdOf(c));
        }

        WorkerInfo copy = restoredCopy(1);
        HostContext.of(registry).preFork(copy.withPid(WorkerInfo.UNKNOWN_PID), HOST);
        // Before the copy: every physical connection is closed on the server, and none is opened while suspended.
        waitFor(() -> sessions().isEmpty(), "all pool sessions closed on the server before the copy");
        Thread.sleep(100);
        assertThat(sessions()).as("no connection opened while the pool is suspended").isEmpty();

        HostContext.of(registry).postFork(copy, HOST);
        waitFor(() -> sessions().size() == POOL_SIZE, "pool refilled after PostFork");
        Set<Integer> afterCopy = sessions();
        assertThat(afterCopy).as("pre-copy connections on the server after PostFork").doesNotContainAnyElementsOf(beforeCopy);
        assertThat(Collections.min(afterCopy)).isGreaterThan(Collections.max(beforeCopy));

        // Whatever the application borrows now, from many threads at once, is a post-copy connection.
        ExecutorService threads = Executors.newFixedThreadPool(POOL_SIZE);
        try {
            List<Future<Integer>> borrowed = new ArrayList<>();
            CountDownLatch allIn = new CountDownLatch(POOL_SIZE);
            for (int i = 0; i < POOL_SIZE; i++) {
                borrowed.add(threads.submit(() -> {
                    try (Connection c = pool.getConnection()) {
                        allIn.countDown();
                        allIn.await(10, TimeUnit.SECONDS);
                        return sessionIdOf(c);
                    }
                }));
            }
            Set<Integer> used = new TreeSet<>();
            for (Future<Integer> f : borrowed) {
                used.add(f.get(20, TimeUnit.SECONDS));
            }
            assertThat(used).hasSize(POOL_SIZE).doesNotContainAnyElementsOf(beforeCopy);
        } finally {
            threads.shutdownNow();
        }
        assertThat(pool.getHikariPoolMXBean().getActiveConnections()).isZero();
        assertThat(registry.status().details().get("HikariPoolRecipe[forksafe-test-true]").toString())
                .contains("suspends=1", "resumes=1", "suspended=false");
    }

    /**
     * HikariCP counts a connection only once it is open and in the pool, and closes evicted ones later on its closer
     * thread. A connection that was being opened when PreFork began must still be closed before PreFork returns.
     * Physical connections are counted on the client here, exactly, through a DataSource whose second connection
     * waits at a gate.
     */
    @Test
    void aConnectionBeingOpenedWhenPreForkBeginsIsClosedBeforePreForkReturns() throws Exception {
        AtomicInteger open = new AtomicInteger();
        AtomicInteger opened = new AtomicInteger();
        CountDownLatch secondInFlight = new CountDownLatch(1);
        CountDownLatch gate = new CountDownLatch(1);
        org.h2.jdbcx.JdbcDataSource h2 = new org.h2.jdbcx.JdbcDataSource();
        h2.setURL(url);
        h2.setUser("app");
        h2.setPassword("app-secret");
        javax.sql.DataSource gated = (javax.sql.DataSource) Proxy.newProxyInstance(getClass().getClassLoader(),
                new Class<?>[] {javax.sql.DataSource.class}, (proxy, method, args) -> {
                    if (!method.getName().equals("getConnection")) {
                        return invoke(method, h2, args);
                    }
                    if (opened.incrementAndGet() == 2) {
                        secondInFlight.countDown();
                        assertThat(gate.await(20, TimeUnit.SECONDS)).as("gate opened").isTrue();
                    }
                    Connection physical = (Connection) invoke(method, h2, args);
                    open.incrementAndGet();
                    AtomicBoolean closed = new AtomicBoolean();
                    return Proxy.newProxyInstance(getClass().getClassLoader(), new Class<?>[] {Connection.class},
                            (p, m, a) -> {
                                if (m.getName().equals("close") && closed.compareAndSet(false, true)) {
                                    Object r = invoke(m, physical, a);
                                    open.decrementAndGet();
                                    return r;
                                }
                                return invoke(m, physical, a);
                            });
                });
        HikariConfig c = config(true);
        c.setJdbcUrl(null);
        c.setUsername(null);
        c.setPassword(null);
        c.setDataSource(gated);
        c.setPoolName("forksafe-gated");
        c.setMinimumIdle(2);
        c.setMaximumPoolSize(2);
        ExecutorService preForkThread = Executors.newSingleThreadExecutor();
        try (HikariDataSource gatedPool = new HikariDataSource(c)) {
            assertThat(secondInFlight.await(20, TimeUnit.SECONDS)).as("the pool is opening its second connection")
                    .isTrue();
            HikariPoolRecipe.install(registry, gatedPool);
            WorkerInfo copy = restoredCopy(1);
            Future<?> preFork = preForkThread.submit(() -> {
                HostContext.of(registry).preFork(copy.withPid(WorkerInfo.UNKNOWN_PID), HOST);
                return null;
            });
            Thread.sleep(300);
            assertThat(preFork).as("PreFork waits for the connection being opened").isNotDone();
            gate.countDown();
            preFork.get(20, TimeUnit.SECONDS);
            assertThat(open.get()).as("physical connections open when PreFork returned (opened %s)", opened.get())
                    .isZero();
            assertThat(opened.get()).isEqualTo(2);

            HostContext.of(registry).postFork(copy, HOST);
            try (Connection afterCopy = gatedPool.getConnection()) {
                assertThat(afterCopy.isValid(5)).isTrue();
            }
            assertThat(opened.get()).as("a new connection after the copy").isGreaterThan(2);
        } finally {
            gate.countDown();
            preForkThread.shutdownNow();
        }
    }

    private static Object invoke(java.lang.reflect.Method m, Object target, Object[] args) throws Throwable {
        try {
            return m.invoke(target, args);
        } catch (java.lang.reflect.InvocationTargetException e) {
            throw e.getCause();
        }
    }

    @Test
    void aBorrowedConnectionIsWaitedForAndClosedWhenReturned() throws Exception {
        HikariPoolRecipe.install(registry, pool, Duration.ofSeconds(10));
        Connection borrowed = pool.getConnection();
        int borrowedSession = sessionIdOf(borrowed);
        CompletableFuture<Void> request = CompletableFuture.runAsync(() -> {
            try {
                Thread.sleep(300); // the request finishes while PreFork waits
                borrowed.close();
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        });
        HostContext.of(registry).preFork(restoredCopy(1).withPid(WorkerInfo.UNKNOWN_PID), HOST);
        request.get(10, TimeUnit.SECONDS);
        waitFor(() -> !sessions().contains(borrowedSession), "the borrowed connection closed on the server");
        waitFor(() -> sessions().isEmpty(), "no pool session left");

        HostContext.of(registry).postFork(restoredCopy(1), HOST);
        try (Connection c = pool.getConnection()) {
            assertThat(sessionIdOf(c)).isGreaterThan(borrowedSession);
        }
    }

    @Test
    void aConnectionHeldPastTheDrainTimeoutFailsPreForkAndPostForkParentResumesThePool() throws Exception {
        HikariPoolRecipe recipe = HikariPoolRecipe.install(registry, pool, Duration.ofMillis(200));
        Connection stuck = pool.getConnection();
        try {
            assertThatThrownBy(() -> HostContext.of(registry).preFork(restoredCopy(1).withPid(WorkerInfo.UNKNOWN_PID), HOST))
                    .isInstanceOf(ForkHookException.class)
                    .satisfies(e -> assertThat(e.getSuppressed()[0])
                            .hasMessageContaining("HikariCP pool 'forksafe-test-true': 1 connection(s) still borrowed")
                            .hasMessageContaining("longer drain timeout"));
            assertThat(recipe.isSuspended()).isTrue();
        } finally {
            stuck.close();
        }
        // The copy did not happen (a checkpoint fails when PreFork fails): the original resumes.
        HostContext.of(registry).postForkParent(restoredCopy(1).withPid(WorkerInfo.UNKNOWN_PID), HOST);
        assertThat(recipe.isSuspended()).isFalse();
        waitFor(() -> sessions().size() == POOL_SIZE, "pool refilled after PostForkParent");
        try (Connection c = pool.getConnection()) {
            assertThat(c.isValid(5)).isTrue();
        }
    }

    @Test
    void workerThreadsShareThePoolSoTheirEventsChangeNothing() throws Exception {
        HikariPoolRecipe.install(registry, pool);
        Set<Integer> before = sessions();
        ForkSimulator.of(registry).simulateWorker(WorkerKind.THREAD, 1);
        Thread.sleep(100);
        assertThat(sessions()).isEqualTo(before);
    }

    @Test
    void aPoolThatCannotBeSuspendedIsRejectedWithTheFix() {
        try (HikariDataSource unsuspendable = new HikariDataSource(config(false))) {
            assertThatThrownBy(() -> HikariPoolRecipe.install(registry, unsuspendable))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("does not allow suspension")
                    .hasMessageContaining("config.setAllowPoolSuspension(true)");
        }
    }
}
