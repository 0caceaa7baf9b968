package io.forksafe.jetty;

import static org.assertj.core.api.Assertions.assertThat;

import io.forksafe.ForkRegistry;
import org.eclipse.jetty.server.Server;
import org.junit.jupiter.api.Test;

/** Jetty's own diagnostics ({@code server.dump()}, Jetty's Dumpable tree) show forksafe's view of the server. */
class ServerDumpTest {

    @Test
    void serverDumpShowsForksafesStatusAndThePoolsThreadFigures() throws Exception {
        ForkRegistry registry = new ForkRegistry("dump-test");
        Server server = new Server(ForksafeJetty.threadPool(registry));
        JettyTestSupport.loopbackConnector(server);
        ForksafeJetty.install(server, registry);
        server.start();
        try {
            String dump = server.dump();
            assertThat(dump).contains("forksafe dump-test: Jetty hook configured")
                    .contains("processWorker: WorkerInfo[")
                    .contains("gracefulStop: forksafe set stopAtShutdown=true")
                    .containsPattern("forksafe: registry dump-test, threadsCreated=[1-9][0-9]*, threadsRetired=0");
        } finally {
            server.stop();
        }
    }
}
