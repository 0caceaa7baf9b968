package io.forksafe.arbiter;

import static org.assertj.core.api.Assertions.assertThat;

import io.forksafe.arbiter.internal.ListenSocket;

import java.net.BindException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.InetAddress;
import java.nio.file.Files;
import java.nio.file.Path;

import org.junit.jupiter.api.Test;

/** The listening socket's descriptor lookup and its errors, without spawning anything. */
class SupervisorStatusTest {

    @Test
    void theListeningSocketsDescriptorIsFoundWithoutAddExports() throws Exception {
        try (ListenSocket s = ListenSocket.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 16)) {
            assertThat(s.address().getPort()).isPositive();
            assertThat(s.fdSource()).isEqualTo("/proc");
            String target = Files.readSymbolicLink(Path.of("/proc/self/fd/" + s.fd())).toString();
            assertThat(target).startsWith("socket:[");
            assertThat(ListenSocket.describe(s.address())).isEqualTo("127.0.0.1:" + s.address().getPort());
        }
    }

    @Test
    void aPortInUseGetsAMessageNamingTheAddressAndTheFix() throws Exception {
        try (ServerSocket taken = new ServerSocket(0, 50, InetAddress.getLoopbackAddress())) {
            InetSocketAddress a = new InetSocketAddress(InetAddress.getLoopbackAddress(), taken.getLocalPort());
            try (ListenSocket s = ListenSocket.bind(a, 16)) {
                throw new AssertionError("bound a port in use: " + s.address());
            } catch (BindException e) {
                assertThat(e.getMessage()).isEqualTo("127.0.0.1:" + taken.getLocalPort()
                        + " is already in use: stop the process listening there or choose another --bind");
            }
        }
    }
}
