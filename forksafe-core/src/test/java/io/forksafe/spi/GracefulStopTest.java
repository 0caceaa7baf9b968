package io.forksafe.spi;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.forksafe.ForkRegistry;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.channels.Pipe;
import java.nio.channels.ServerSocketChannel;
import java.util.Map;

import org.junit.jupiter.api.Test;

/** The stop timeout adapters give a server, and the arbiter's socket they must serve. */
class GracefulStopTest {

    private static final String ENV = GracefulStop.ARBITER_GRACEFUL_ENV;

    @Test
    void standAloneTheDefaultIsThirtySeconds() {
        Map<String, String> none = Map.of();
        assertThat(GracefulStop.defaultMillis(none::get)).isEqualTo(30_000);
        assertThat(GracefulStop.describe(none::get)).isEqualTo("forksafe's stand-alone default");
    }

    @Test
    void underTheArbiterItIsItsTimeoutLessAFifthAtMostOneSecond() {
        assertThat(GracefulStop.defaultMillis(Map.of(ENV, "2000")::get)).isEqualTo(1_600);
        assertThat(GracefulStop.defaultMillis(Map.of(ENV, " 10000 ")::get)).isEqualTo(9_000);
        assertThat(GracefulStop.defaultMillis(Map.of(ENV, "5000")::get)).isEqualTo(4_000);
        assertThat(GracefulStop.defaultMillis(Map.of(ENV, "1")::get)).isEqualTo(1);
        assertThat(GracefulStop.describe(Map.of(ENV, "2000")::get))
                .isEqualTo("the arbiter's --graceful-timeout (2000 ms) less a margin");
    }

    @Test
    void aValueThatIsNotAPositiveNumberMeansStandAlone() {
        for (String bad : new String[] {"0", "-5", "soon", ""}) {
            assertThat(GracefulStop.defaultMillis(Map.of(ENV, bad)::get)).as(bad).isEqualTo(30_000);
            assertThat(GracefulStop.describe(Map.of(ENV, bad)::get)).as(bad)
                    .isEqualTo("forksafe's stand-alone default");
        }
        assertThatThrownBy(() -> GracefulStop.defaultMillis(null)).hasMessageContaining("pass System::getenv");
    }

    @Test
    void enabledUnlessTheSettingIsFalse() {
        ForkRegistry registry = new ForkRegistry();
        String before = System.getProperty(GracefulStop.SETTING);
        try {
            System.clearProperty(GracefulStop.SETTING);
            assertThat(GracefulStop.enabled(registry)).isTrue();
            System.setProperty(GracefulStop.SETTING, " FALSE ");
            assertThat(GracefulStop.enabled(registry)).isFalse();
            System.setProperty(GracefulStop.SETTING, "true");
            assertThat(GracefulStop.enabled(registry)).isTrue();
        } finally {
            if (before == null) {
                System.clearProperty(GracefulStop.SETTING);
            } else {
                System.setProperty(GracefulStop.SETTING, before);
            }
        }
    }

    @Test
    void theArbitersSocketMustBeAListeningChannel() throws IOException {
        try (ServerSocketChannel listening = ServerSocketChannel.open()) {
            assertThat(ArbiterContract.requireListeningSocket("42", () -> listening)).isSameAs(listening);
            assertThat(ArbiterContract.describe(listening)).isEqualTo("(unbound)");
            listening.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
            assertThat(ArbiterContract.describe(listening))
                    .isEqualTo(listening.getLocalAddress().toString()).startsWith("/127.0.0.1:");
            listening.close();
            assertThat(ArbiterContract.describe(listening)).startsWith("(unknown address: java.nio.channels.");
        }
        assertThatThrownBy(() -> ArbiterContract.requireListeningSocket("42", () -> null))
                .isInstanceOf(IllegalStateException.class)
                .hasMessage("FORKSAFE_ARBITER_PID=42 is set but System.inheritedChannel() is null, not a listening "
                        + "ServerSocketChannel, so this worker has no socket to serve. Start it through the forksafe "
                        + "arbiter (it passes its socket as fd 0), or unset FORKSAFE_ARBITER_PID");
        Pipe pipe = Pipe.open();
        try (Pipe.SourceChannel source = pipe.source(); Pipe.SinkChannel sink = pipe.sink()) {
            assertThatThrownBy(() -> ArbiterContract.requireListeningSocket("7", () -> source))
                    .hasMessageContaining("System.inheritedChannel() is " + source.getClass().getName() + ", not a");
        }
        IOException cause = new IOException("closed");
        assertThatThrownBy(() -> ArbiterContract.requireListeningSocket("7", () -> {
            throw cause;
        })).isInstanceOf(IllegalStateException.class).hasCause(cause)
                .hasMessage("FORKSAFE_ARBITER_PID=7 is set but the inherited channel could not be read ("
                        + cause + "), so this worker has no socket to serve. Start it through the forksafe arbiter, "
                        + "or unset FORKSAFE_ARBITER_PID");
    }
}
