package io.forksafe.undertow;

import io.forksafe.ForkRegistry;
import io.forksafe.testkit.HostAdapterContract;
import io.undertow.Undertow;
import io.undertow.server.handlers.BlockingHandler;

import java.net.InetSocketAddress;
import java.nio.channels.ServerSocketChannel;

/** forksafe-undertow against the host-adapter contract, on an embedded Undertow 2.3 with forksafe's task threads. */
class UndertowContractTest extends HostAdapterContract {

    @Override
    protected RunningHost start(ForkRegistry registry, ServerSocketChannel inherited) throws Exception {
        Undertow.Builder builder = ForksafeUndertow.install(Undertow.builder().setIoThreads(1)
                .setWorkerThreads(CONCURRENT + 2), registry)
                .setHandler(new BlockingHandler(ex -> ex.getResponseSender().send(handleContractRequest())));
        if (inherited == null) {
            builder.addHttpListener(0, "127.0.0.1");
        }
        Undertow server = builder.build(); // with an inherited socket: no listener of its own
        if (inherited != null) {
            ForksafeUndertow.adoptChannel(server, inherited);
        }
        ForksafeUndertow.start(server);
        int port = inherited != null ? ((InetSocketAddress) inherited.getLocalAddress()).getPort()
                : ((InetSocketAddress) server.getListenerInfo().get(0).getAddress()).getPort();
        return new RunningHost() {
            @Override
            public int port() {
                return port;
            }

            @Override
            public void close() {
                ForksafeUndertow.stop(server);
            }
        };
    }

    @Override
    protected String statusSection() {
        return "undertow";
    }
}
