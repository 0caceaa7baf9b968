package com.example;

import io.forksafe.Forksafe;
import io.forksafe.PostFork;
import io.forksafe.WorkerExit;
import io.forksafe.WorkerInfo;
import io.forksafe.undertow.ForksafeUndertow;
import io.undertow.Handlers;
import io.undertow.Undertow;
import io.undertow.server.HttpServerExchange;
import io.undertow.server.handlers.BlockingHandler;

import java.util.Deque;

public final class UndertowApp {

    public static void main(String[] args) {
        // PostFork: first thing in each new worker (a task thread, or this process under the arbiter)
        Forksafe.subscribe(PostFork.class, e -> System.out.println("PostFork " + e.worker().name()
                + " " + e.worker().kind()));
        // WorkerExit: last thing in it (a task thread retiring, or this process on SIGTERM)
        Forksafe.subscribe(WorkerExit.class, e -> System.out.println("WorkerExit " + e.worker().name()
                + " " + e.worker().kind()));

        Undertow server = ForksafeUndertow.install(Undertow.builder())           // hooked task threads
                .addHttpListener(Integer.getInteger("http.port", 8080), "127.0.0.1") // arbiter: its socket instead
                .setHandler(Handlers.path(new BlockingHandler(UndertowApp::hello))
                        .addExactPath("/forksafe/status", ForksafeUndertow.statusHandler())) // loopback only
                .build();
        ForksafeUndertow.start(server); // PostWorkerInit once serving; graceful stop on SIGTERM, then WorkerExit
    }

    /** Says which worker answered; {@code ?delay=3000} makes a slow request, to watch a graceful stop. */
    static void hello(HttpServerExchange exchange) throws InterruptedException {
        Deque<String> delay = exchange.getQueryParameters().get("delay");
        if (delay != null) {
            System.out.println("slow request: " + delay.getFirst() + " ms");
            Thread.sleep(Long.parseLong(delay.getFirst()));
        }
        WorkerInfo me = Forksafe.registry().processWorker(); // in a restored copy, ProcessHandle lies
        exchange.getResponseSender().send("hello from " + me.name() + " pid " + me.pid() + "\n");
    }
}
