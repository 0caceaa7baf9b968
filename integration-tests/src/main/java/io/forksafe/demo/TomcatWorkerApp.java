package io.forksafe.demo;

import io.forksafe.ForkEvent;
import io.forksafe.ForkRegistry;
import io.forksafe.Forksafe;
import io.forksafe.WorkerExit;
import io.forksafe.tomcat.ForksafeTomcat;

import jakarta.servlet.http.HttpServlet;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;

import org.apache.catalina.Context;
import org.apache.catalina.connector.Connector;
import org.apache.catalina.startup.Tomcat;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;

/**
 * An embedded Tomcat worker application, usable stand-alone or as a worker of the forksafe arbiter. It serves a hello
 * servlet on {@code /} and the forksafe status on {@code /forksafe/status}, prints each forksafe event, and stops
 * cleanly on SIGTERM (forksafe's stop at JVM shutdown publishes WorkerExit for every thread and for the process).
 *
 * <p>Stand-alone it binds {@code --host} (default 127.0.0.1) and {@code --port} (default 8080; 0 picks a free port).
 * Under the arbiter, {@code ForksafeTomcat.install} makes the connector serve the arbiter's inherited socket instead.
 * {@code --protocol nio2} uses Tomcat's NIO2 connector, which cannot serve that socket: under the arbiter its boot
 * fails (exit code 3) with the fix. On start it prints
 * {@code TomcatWorkerApp listening on http://<host>:<port> pid <pid>}.
 *
 * <pre>{@code
 * java -cp "$(cat integration-tests/target/demo-classpath.txt):integration-tests/target/classes" \
 *     io.forksafe.demo.TomcatWorkerApp --port 8080
 * }</pre>
 */
public final class TomcatWorkerApp {

    private static final String USAGE = "usage: TomcatWorkerApp [--host 127.0.0.1] [--port 8080] [--protocol nio|nio2]";

    private TomcatWorkerApp() {
    }

    public static void main(String[] args) throws Exception {
        String host = "127.0.0.1";
        int port = 8080;
        String protocol = "HTTP/1.1";
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--host" -> host = value(args, ++i, "--host");
                case "--port" -> {
                    String p = value(args, ++i, "--port");
                    try {
                        port = Integer.parseInt(p);
                    } catch (NumberFormatException e) {
                        throw usage("--port needs a number between 0 and 65535, got '" + p + "'");
                    }
                }
                case "--protocol" -> protocol = switch (value(args, ++i, "--protocol")) {
                    case "nio" -> "HTTP/1.1";
                    case "nio2" -> "org.apache.coyote.http11.Http11Nio2Protocol";
                    default -> throw usage("--protocol is nio or nio2, got '" + args[i] + "'");
                };
                case "--help", "-h" -> {
                    System.out.println(USAGE);
                    return;
                }
                default -> throw usage("unknown argument '" + args[i] + "'");
            }
        }
        if (port < 0 || port > 65535) {
            throw usage("--port needs a number between 0 and 65535, got " + port);
        }

        ForkRegistry registry = Forksafe.registry();
        registry.subscribe(ForkEvent.class, "worker-app.printer", 0, e -> System.out.println("event "
                + e.type().displayName() + " worker=" + e.worker().name() + " kind=" + e.worker().kind()
                + (e instanceof WorkerExit x ? " reason=" + x.reason() : "")));

        Tomcat tomcat = new Tomcat();
        tomcat.setBaseDir(Files.createTempDirectory("tomcat-worker-app").toString());
        Connector connector = new Connector(protocol);
        connector.setPort(port);
        connector.setProperty("address", host);
        tomcat.setConnector(connector);
        Context app = tomcat.addContext("", null);
        Tomcat.addServlet(app, "hello", new Hello());
        app.addServletMappingDecoded("/", "hello");
        ForksafeTomcat.install(tomcat); // hooked executor, arbiter socket, /forksafe/status, stop at JVM shutdown
        tomcat.start();

        System.out.println("TomcatWorkerApp listening on http://" + host + ":" + connector.getLocalPort() + " pid "
                + ProcessHandle.current().pid() + " status " + registry.status().status());
        System.out.flush();
        tomcat.getServer().await();
    }

    private static String value(String[] args, int i, String option) {
        if (i >= args.length) {
            throw usage(option + " needs a value");
        }
        return args[i];
    }

    private static IllegalArgumentException usage(String problem) {
        return new IllegalArgumentException(problem + "; " + USAGE);
    }

    /**
     * Says which process and thread answered. The pid is this worker's as the registry knows it: in a copy restored by
     * {@code --preload} that is the copy's own pid, where {@code ProcessHandle.current().pid()} still gives the
     * template's (the JDK caches it).
     */
    static final class Hello extends HttpServlet {
        private static final long serialVersionUID = 1L;

        @Override
        protected void doGet(HttpServletRequest req, HttpServletResponse resp) throws IOException {
            long pid = Forksafe.registry().processWorker().pid();
            if (pid <= 0) {
                pid = ProcessHandle.current().pid();
            }
            byte[] body = ("hello from pid " + pid + " thread " + Thread.currentThread().getName() + "\n")
                    .getBytes(StandardCharsets.UTF_8);
            resp.setContentType("text/plain; charset=utf-8");
            resp.setContentLength(body.length);
            resp.getOutputStream().write(body);
        }
    }
}
