package io.forksafe.arbiter;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class ProcessIdentityTest {

    @Test
    void nativeIdentityMatchesTheJdkView() {
        ProcessIdentity id = ProcessIdentity.current();
        assertThat(id.isNative()).as("jnr-posix should load on Linux x86_64: %s", id.source()).isTrue();
        assertThat(id.pid()).isEqualTo(ProcessHandle.current().pid());
        assertThat(id.parentPid()).isEqualTo(ProcessHandle.current().parent().orElseThrow().pid());
    }
}
