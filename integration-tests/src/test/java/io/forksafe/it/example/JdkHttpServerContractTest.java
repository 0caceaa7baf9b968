package io.forksafe.it.example;

import com.sun.net.httpserver.HttpServer;

import io.forksafe.ForkRegistry;
import io.forksafe.testkit.HostAdapterContract;

import java.net.InetSocketAddress;
import java.nio.channels.ServerSocketChannel;
import java.nio.charset.StandardCharsets;

/** The example adapter for the JDK's HTTP server, a host forksafe does not ship, passes the host-adapter contract. */
class JdkHttpServerContractTest extends HostAdapterContract {

    @Override
    protected RunningHost start(ForkRegistry registry, ServerSocketChannel inherited) throws Exception {
        HttpServer server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        server.createContext("/", exchange -> {
            byte[] body;
            try {
                body = handleContractRequest().getBytes(StandardCharsets.UTF_8);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                body = new byte[0];
            }
            exchange.sendResponseHeaders(200, body.length);
            exchange.getResponseBody().write(body);
            exchange.close();
        });
        JdkHttpServerForksafe forksafe = JdkHttpServerForksafe.install(server, registry);
        server.start();
        forksafe.started();
        return new RunningHost() {
            @Override
            public int port() {
                return server.getAddress().getPort();
            }

            @Override
            public void close() throws Exception {
                forksafe.stop(1); // HttpServer.stop waits up to this long even when idle
            }
        };
    }

    @Override
    protected String statusSection() {
        return JdkHttpServerForksafe.HOST;
    }

    @Override
    protected boolean countsRequests() {
        return false; // it cannot serve the arbiter's socket, so the arbiter never recycles it
    }

    @Override
    protected boolean servesInheritedSockets() {
        return false;
    }

    @Override
    protected String whyNoInheritedSocket() {
        return "the JDK's HttpServer binds its own socket (HttpServer.create): it has no way to serve an already bound "
                + "ServerSocketChannel, so it cannot run as an arbiter worker";
    }
}
