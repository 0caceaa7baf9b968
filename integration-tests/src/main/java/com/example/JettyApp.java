package com.example;

import io.forksafe.Forksafe;
import io.forksafe.PostFork;
import io.forksafe.WorkerExit;
import io.forksafe.WorkerInfo;
import io.forksafe.jetty.ForksafeJetty;

import org.eclipse.jetty.server.Handler;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import org.eclipse.jetty.server.handler.ContextHandler;
import org.eclipse.jetty.server.handler.ContextHandlerCollection;
import org.eclipse.jetty.util.Callback;
import org.eclipse.jetty.util.Fields;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;

public final class JettyApp {

    public static void main(String[] args) throws Exception {
        // PostFork: first thing in each new worker (a thread of the pool, or this process under the arbiter)
        Forksafe.subscribe(PostFork.class, e -> System.out.println("PostFork " + e.worker().name()
                + " " + e.worker().kind()));
        // WorkerExit: last thing in it (a thread retiring, or this process on SIGTERM)
        Forksafe.subscribe(WorkerExit.class, e -> System.out.println("WorkerExit " + e.worker().name()
                + " " + e.worker().kind()));

        Server server = new Server(ForksafeJetty.threadPool());      // hooked QueuedThreadPool
        ServerConnector http = new ServerConnector(server);           // under the arbiter: serves its socket
        http.setHost("127.0.0.1");
        http.setPort(Integer.getInteger("http.port", 8080));
        server.addConnector(http);
        ContextHandlerCollection contexts = new ContextHandlerCollection();
        contexts.addHandler(ForksafeJetty.statusContext("/forksafe/status")); // JSON; ?format=text; loopback
        contexts.addHandler(new ContextHandler(new Hello(), "/"));
        server.setHandler(contexts);
        ForksafeJetty.install(server);  // PostWorkerInit once serving; graceful stop on SIGTERM, then WorkerExit
        server.start();
        server.join();
    }

    /** Says which worker answered; {@code ?delay=3000} makes a slow request, to watch a graceful stop. */
    static final class Hello extends Handler.Abstract {
        @Override
        public boolean handle(Request request, Response response, Callback callback) throws Exception {
            Fields.Field delay = Request.extractQueryParameters(request).get("delay");
            if (delay != null) {
                System.out.println("slow request: " + delay.getValue() + " ms");
                Thread.sleep(Long.parseLong(delay.getValue()));
            }
            WorkerInfo me = Forksafe.registry().processWorker(); // in a restored copy, ProcessHandle lies
            String body = "hello from " + me.name() + " pid " + me.pid() + "\n";
            response.write(true, ByteBuffer.wrap(body.getBytes(StandardCharsets.UTF_8)), callback);
            return true;
        }
    }
}
