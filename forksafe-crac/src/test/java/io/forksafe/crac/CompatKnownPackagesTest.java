package io.forksafe.crac;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;

import io.forksafe.ForkLocal;
import io.forksafe.ForkRegistry;
import io.forksafe.recipes.CopyCheck;
import io.forksafe.hikari.HikariPoolRecipe;
import io.forksafe.recipes.RandomReseed;

import org.crac.Context;
import org.crac.Core;
import org.crac.Resource;
import org.h2.tools.Server;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.security.SecureRandom;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.Set;
import java.util.TreeSet;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The known-package recipes across a checkpoint/restore driven by the real {@code org.crac.Core.checkpointRestore()}
 * (with the {@code jdk.crac} test double, see {@link CompatCheckpointTest}): a HikariCP pool and a plain JDBC
 * connection in a {@link ForkLocal}, both against a real H2 TCP server on 127.0.0.1, counted on the server.
 */
class CompatKnownPackagesTest {

    private static final int POOL_SIZE = 3;

    private static Server server;
    private static String url;
    private static Connection admin;
    private static HikariDataSource pool;
    /** Registered before forksafe, so CRaC runs its beforeCheckpoint after forksafe's: at the snapshot moment. */
    private static Resource snapshotProbe;
    private static volatile Set<Integer> sessionsAtSnapshot;
    private static volatile long snapshotWaitMillis = -1;

    @BeforeAll
    static void start() throws SQLException {
        assertThat(System.getProperty("org.crac.Core.Compat")).isEqualTo("io.forksafe.crac.testcrac");
        assertThat(System.getProperty("h2.bindAddress")).isEqualTo("127.0.0.1");
        server = Server.createTcpServer("-tcpPort", "0", "-ifNotExists").start();
        url = "jdbc:h2:tcp://127.0.0.1:" + server.getPort() + "/mem:crac";
        admin = DriverManager.getConnection(url, "sa", "sa-secret");
        try (Statement s = admin.createStatement()) {
            s.execute("CREATE USER IF NOT EXISTS app PASSWORD 'app-secret'");
        }
    }

    @AfterAll
    static void stop() throws SQLException {
        if (pool != null) {
            pool.close();
        }
        if (admin != null) {
            admin.close();
        }
        if (server != null) {
            server.stop();
        }
    }

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

    private static long waitFor(BooleanSupplier condition, String what) throws InterruptedException {
        long t0 = System.nanoTime();
        long deadline = t0 + TimeUnit.SECONDS.toNanos(20);
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("timed out waiting for: " + what + " (server sessions now " + sessions() + ")");
            }
            Thread.sleep(2);
        }
        return TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
    }

    @Test
    void noDatabaseConnectionRandomStateOrUuidCrossesACheckpointUnnoticed() throws Exception {
        snapshotProbe = new Resource() {
            @Override
            public void beforeCheckpoint(Context<? extends Resource> context) throws Exception {
                snapshotWaitMillis = waitFor(() -> sessions().isEmpty(), "no APP session at the snapshot");
                sessionsAtSnapshot = sessions();
            }

            @Override
            public void afterRestore(Context<? extends Resource> context) {
            }
        };
        Core.getGlobalContext().register(snapshotProbe);

        ForkRegistry registry = new ForkRegistry("crac-known-packages");
        ForksafeCrac.install(registry);
        HikariConfig config = new HikariConfig();
        config.setJdbcUrl(url);
        config.setUsername("app");
        config.setPassword("app-secret");
        config.setMinimumIdle(POOL_SIZE);
        config.setMaximumPoolSize(POOL_SIZE);
        config.setAllowPoolSuspension(true);
        config.setPoolName("crac-e2e");
        pool = new HikariDataSource(config);
        HikariPoolRecipe.install(registry, pool);
        ForkLocal<Connection> client = ForkLocal.of(registry, "plain-jdbc-client",
                () -> {
                    try {
                        return DriverManager.getConnection(url, "app", "app-secret");
                    } catch (SQLException e) {
                        throw new IllegalStateException(e);
                    }
                });
        SecureRandom tokens = new SecureRandom();
        RandomReseed reseed = RandomReseed.install(registry, tokens);
        CopyCheck check = CopyCheck.install(registry);
        CopyCheck.Captured<UUID> instanceId = check.capture("instance-id", UUID.randomUUID());

        waitFor(() -> sessions().size() == POOL_SIZE, "pool filled");
        int clientSession = sessionIdOf(client.get());
        Set<Integer> beforeCheckpoint = sessions();
        assertThat(beforeCheckpoint).hasSize(POOL_SIZE + 1).contains(clientSession);
        instanceId.get();

        Core.checkpointRestore();

        assertThat(sessionsAtSnapshot).as("APP sessions open on the server at the snapshot").isEmpty();
        waitFor(() -> sessions().size() == POOL_SIZE, "pool refilled after the restore");
        int newClientSession = sessionIdOf(client.get());
        Set<Integer> afterRestore = sessions();
        assertThat(afterRestore).hasSize(POOL_SIZE + 1).contains(newClientSession)
                .doesNotContainAnyElementsOf(beforeCheckpoint);
        try (Connection c = pool.getConnection()) {
            assertThat(beforeCheckpoint).doesNotContain(sessionIdOf(c));
        }
        assertThat(reseed.reseeds()).isEqualTo(1);
        instanceId.get();
        assertThat(registry.status().notes()).containsKey("copyCheck.instance-id");
        assertThat(registry.status().details().get("crac").toString()).contains("restores=1");
        System.out.printf("forksafe-crac e2e: APP sessions before checkpoint %s, at snapshot %s (reached %d ms after "
                        + "forksafe's PreFork returned), after restore %s%n", beforeCheckpoint, sessionsAtSnapshot,
                snapshotWaitMillis, afterRestore);
    }
}
