package io.forksafe.tomcat;

import org.apache.catalina.Context;
import org.apache.catalina.startup.Tomcat;

import jakarta.servlet.http.HttpServlet;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;

/** An embedded Tomcat on an ephemeral port of 127.0.0.1 whose {@code /} answers with what a callable returns. */
final class TomcatTestSupport {

    private TomcatTestSupport() {
    }

    static Tomcat tomcat(Callable<String> body) throws IOException {
        Tomcat tomcat = new Tomcat();
        Path base = Files.createTempDirectory("forksafe-tomcat");
        base.toFile().deleteOnExit();
        tomcat.setBaseDir(base.toString());
        tomcat.setPort(0);
        tomcat.getConnector().setProperty("address", "127.0.0.1");
        Context app = tomcat.addContext("", null);
        Tomcat.addServlet(app, "app", new HttpServlet() {
            private static final long serialVersionUID = 1L;

            @Override
            protected void doGet(HttpServletRequest req, HttpServletResponse resp) throws IOException {
                try {
                    String text = body.call();
                    resp.setContentType("text/plain");
                    resp.getWriter().write(text);
                } catch (Exception e) {
                    throw new IOException(e);
                }
            }
        });
        app.addServletMappingDecoded("/", "app");
        return tomcat;
    }
}
