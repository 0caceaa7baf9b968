package io.forksafe.jetty;

import io.forksafe.ForkRegistry;
import io.forksafe.spi.ArbiterContract;
import io.forksafe.testkit.HostAdapterContract;

import java.nio.channels.ServerSocketChannel;
import java.nio.charset.StandardCharsets;
import java.util.Map;

import org.eclipse.jetty.server.Handler;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import org.eclipse.jetty.util.Callback;

/** forksafe-jetty against the host-adapter contract, on an embedded Jetty 12 with forksafe's thread pool. */
class JettyContractTest extends HostAdapterContract {

    @Override
    protected RunningHost start(ForkRegistry registry, ServerSocketChannel inherited) throws Exception {
        Server server = new Server(ForksafeJetty.threadPool(registry, 32, 2, 60_000));
        ServerConnector connector = JettyTestSupport.loopbackConnector(server);
        server.setHandler(new Handler.Abstract() {
            @Override
            public boolean handle(Request request, Response response, Callback callback) throws Exception {
                response.write(true, java.nio.ByteBuffer.wrap(handleContractRequest().getBytes(StandardCharsets.UTF_8)),
                        callback);
                return true;
            }
        });
        ForksafeJetty.Installer installer = ForksafeJetty.installer().registry(registry);
        if (inherited != null) { // as under the arbiter: its pid set, its socket inherited
            installer.environment(Map.of(ArbiterContract.ENV_ARBITER_PID, "42")::get).inheritedChannel(() -> inherited);
        }
        installer.install(server);
        server.start();
        return new RunningHost() {
            @Override
            public int port() {
                return connector.getLocalPort();
            }

            @Override
            public void close() throws Exception {
                server.stop();
            }
        };
    }

    @Override
    protected String statusSection() {
        return "jetty";
    }
}
