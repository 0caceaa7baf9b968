package io.forksafe.jetty;

import io.forksafe.ForkRegistry;

import org.eclipse.jetty.server.handler.ContextHandler;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Bad arguments fail fast with messages that name the problem and the fix. */
class BadInputTest {

    @Test
    void nullRegistryIsRejectedWithTheFix() {
        assertThatThrownBy(() -> ForksafeJetty.threadPool((ForkRegistry) null))
                .isInstanceOf(NullPointerException.class).hasMessageContaining("pass Forksafe.registry()");
        assertThatThrownBy(() -> ForksafeJetty.installer().registry(null))
                .isInstanceOf(NullPointerException.class).hasMessageContaining("registry must not be null");
        assertThatThrownBy(() -> ForksafeJetty.install(null)).isInstanceOf(NullPointerException.class)
                .hasMessageContaining("server must not be null");
    }

    @Test
    void poolSizesAreCheckedByJetty() {
        assertThatThrownBy(() -> ForksafeJetty.threadPool(new ForkRegistry(), 2, 8, 1000))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("less than min threads");
    }

    @Test
    void statusContextNeedsAnAbsolutePath() {
        assertThatThrownBy(() -> ForksafeJetty.statusContext("forksafe/status"))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("must start with '/'").hasMessageContaining("\"/forksafe/status\"");
        ContextHandler ok = ForksafeJetty.statusContext("/forksafe/status", ForksafeJetty.statusHandler(
                new ForkRegistry()));
        assertThat(ok.getContextPath()).isEqualTo("/forksafe/status");
        assertThat(ok.getAllowNullPathInContext()).isTrue();
    }
}
