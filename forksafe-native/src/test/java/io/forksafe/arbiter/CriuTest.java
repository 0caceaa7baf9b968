package io.forksafe.arbiter;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The preload mode refuses to start, naming the missing piece, where CRIU cannot run. */
class CriuTest {

    @TempDir
    Path dir;

    @org.junit.jupiter.api.BeforeEach
    void checksAfterThePrivilegeCheck() {
        // The privilege check comes first; without root these tests would only see its message.
        org.junit.jupiter.api.Assumptions.assumeTrue(Criu.privileged(), "needs root or CAP_SYS_ADMIN+CAP_CHECKPOINT_RESTORE");
    }

    private Path script(String name, String body) throws IOException {
        Path p = dir.resolve(name);
        Files.writeString(p, "#!/bin/sh\n" + body + "\n");
        Files.setPosixFilePermissions(p, PosixFilePermissions.fromString("rwxr-xr-x"));
        return p;
    }

    private static java.util.function.Function<String, String> env(Map<String, String> m) {
        return m::get;
    }

    @Test
    void aMissingBinaryIsNamedWithTheFix() {
        assertThatThrownBy(() -> Criu.requireUsable(env(Map.of(Criu.ENV_CRIU, dir.resolve("nope").toString()))))
                .isInstanceOf(PreloadUnavailableException.class)
                .hasMessageStartingWith("forksafe --preload cannot run here; missing: ")
                .hasMessageContaining("FORKSAFE_CRIU=" + dir.resolve("nope"));
    }

    @Test
    void anOldCriuIsRefusedWithTheReason() throws IOException {
        Path old = script("criu", "echo 'Version: 3.17.1'");
        assertThatThrownBy(() -> Criu.requireUsable(env(Map.of(Criu.ENV_CRIU, old.toString()))))
                .isInstanceOf(PreloadUnavailableException.class)
                .hasMessageContaining("CRIU >= 4.2")
                .hasMessageContaining("is 3.17.1")
                .hasMessageContaining(".ci/criu.sh");
    }

    @Test
    void aKernelThatFailsCriuCheckIsNamed() throws IOException {
        Path fake = script("criu", "case \"$1\" in --version) echo 'Version: 4.2.1';; check) echo 'Error: "
                + "no time namespace'; exit 1;; esac");
        assertThatThrownBy(() -> Criu.requireUsable(env(Map.of(Criu.ENV_CRIU, fake.toString()))))
                .isInstanceOf(PreloadUnavailableException.class)
                .hasMessageContaining("kernel support")
                .hasMessageContaining("no time namespace");
    }

    @Test
    void aBinaryThatPrintsNoVersionIsRefused() throws IOException {
        Path fake = script("criu", "echo hello");
        assertThatThrownBy(() -> Criu.requireUsable(env(Map.of(Criu.ENV_CRIU, fake.toString()))))
                .isInstanceOf(PreloadUnavailableException.class)
                .hasMessageContaining("printed no version");
    }

    @Test
    void aWorkingCriuReportsItsVersion() throws IOException {
        Path fake = script("criu", "case \"$1\" in --version) echo 'Version: 4.2.1';; check) echo 'Looks good.';; esac");
        Criu criu = Criu.requireUsable(env(Map.of(Criu.ENV_CRIU, fake.toString(), "PATH", "/usr/bin:/bin")));
        assertThat(criu.version()).isEqualTo("4.2.1");
        assertThat(criu.binary()).isEqualTo(fake);
        assertThat(criu.unshare().getFileName().toString()).isEqualTo("unshare");
    }
}
