package com.example;

import io.forksafe.Forksafe;
import io.forksafe.PostFork;
import io.forksafe.WorkerExit;
import io.forksafe.WorkerInfo;
import io.forksafe.tomcat.ForksafeTomcat;
import jakarta.servlet.http.HttpServlet;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import org.apache.catalina.Context;
import org.apache.catalina.startup.Tomcat;

import java.io.IOException;

public final class TomcatApp {

    public static void main(String[] args) throws Exception {
        // PostFork: first thing in each new worker (an executor thread, or this process under the arbiter)
        Forksafe.subscribe(PostFork.class, e -> System.out.println("PostFork " + e.worker().name()
                + " " + e.worker().kind()));
        // WorkerExit: last thing in it (a thread retiring, or this process on SIGTERM)
        Forksafe.subscribe(WorkerExit.class, e -> System.out.println("WorkerExit " + e.worker().name()
                + " " + e.worker().kind()));

        Tomcat tomcat = new Tomcat();
        tomcat.setPort(Integer.getInteger("http.port", 8080)); // under the arbiter: its socket instead
        tomcat.getConnector().setProperty("address", "127.0.0.1");
        Context app = tomcat.addContext("", null);
        Tomcat.addServlet(app, "hello", new Hello());
        app.addServletMappingDecoded("/", "hello");
        ForksafeTomcat.install(tomcat); // hooked executor, /forksafe/status (loopback only), stop on SIGTERM
        tomcat.start();                 // PostWorkerInit once serving
        tomcat.getServer().await();
    }

    /** Says which worker answered. */
    static final class Hello extends HttpServlet {
        @Override
        protected void doGet(HttpServletRequest req, HttpServletResponse resp) throws IOException {
            WorkerInfo me = Forksafe.registry().processWorker(); // in a restored copy, ProcessHandle lies
            resp.getWriter().write("hello from " + me.name() + " pid " + me.pid() + "\n");
        }
    }
}
