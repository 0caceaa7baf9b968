package io.forksafe.spi;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Map;
import org.junit.jupiter.api.Test;

/** The one place that says what the arbiter's environment means to an adapter. */
class ArbiterContractTest {

    @Test
    void thePidAloneMeansTheSocketIsTheArbiters_withTheControlSocketItIsASupervisedWorker() {
        Map<String, String> socketOnly = Map.of(ArbiterContract.ENV_ARBITER_PID, " 42 ");
        assertThat(ArbiterContract.arbiterPid(socketOnly::get)).isEqualTo("42");
        assertThat(ArbiterContract.sharesArbiterSocket(socketOnly::get)).isTrue();
        assertThat(ArbiterContract.isSupervisedWorker(socketOnly::get)).isFalse();

        Map<String, String> supervised = Map.of(ArbiterContract.ENV_ARBITER_PID, "42",
                ArbiterContract.ENV_CONTROL, "/tmp/x/control.sock");
        assertThat(ArbiterContract.isSupervisedWorker(supervised::get)).isTrue();
    }

    @Test
    void blankOrMissingValuesMeanNoArbiter() {
        Map<String, String> blank = Map.of(ArbiterContract.ENV_ARBITER_PID, "  ", ArbiterContract.ENV_CONTROL, "x");
        assertThat(ArbiterContract.arbiterPid(blank::get)).isNull();
        assertThat(ArbiterContract.sharesArbiterSocket(blank::get)).isFalse();
        assertThat(ArbiterContract.isSupervisedWorker(blank::get)).isFalse();
        assertThat(ArbiterContract.isSupervisedWorker(Map.of(ArbiterContract.ENV_ARBITER_PID, "1",
                ArbiterContract.ENV_CONTROL, "")::get)).isFalse();
        assertThat(ArbiterContract.sharesArbiterSocket(Map.<String, String>of()::get)).isFalse();
    }

    @Test
    void inATestJvmFdZeroIsNoListeningSocket_andTheBootErrorIsGunicorns() {
        assertThat(ArbiterContract.inheritedListeningSocket()).isNull();
        assertThat(ArbiterContract.BOOT_ERROR_EXIT).isEqualTo(3);
        assertThat(GracefulStop.ARBITER_GRACEFUL_ENV).isEqualTo(ArbiterContract.ENV_GRACEFUL_MILLIS);
    }
}
