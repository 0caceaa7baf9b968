package io.forksafe.tomcat;

import io.forksafe.ForkRegistry;
import io.forksafe.testkit.HostAdapterContract;

import org.apache.catalina.startup.Tomcat;

import java.nio.channels.ServerSocketChannel;

/** forksafe-tomcat against the host-adapter contract, on an embedded Tomcat 11 with forksafe's hooked executor. */
class TomcatContractTest extends HostAdapterContract {

    @Override
    protected RunningHost start(ForkRegistry registry, ServerSocketChannel inherited) throws Exception {
        Tomcat tomcat = TomcatTestSupport.tomcat(this::handleContractRequest);
        ForksafeTomcat.install(tomcat, registry);
        tomcat.start();
        return new RunningHost() {
            @Override
            public int port() {
                return tomcat.getConnector().getLocalPort();
            }

            @Override
            public void close() throws Exception {
                tomcat.stop();
                tomcat.destroy();
            }
        };
    }

    @Override
    protected String statusSection() {
        return "tomcat";
    }

    @Override
    protected boolean servesInheritedSockets() {
        return false;
    }

    @Override
    protected String whyNoInheritedSocket() {
        return "Tomcat NIO serves only System.inheritedChannel() (fd 0), which a test cannot hand to its own JVM; the "
                + "arbiter process tests (integration-tests TomcatWorkerAppProcessTest) serve it in real workers";
    }
}
