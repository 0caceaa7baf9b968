package io.forksafe.arbiter.internal;

import static org.assertj.core.api.Assertions.assertThat;

import io.forksafe.arbiter.ArbiterConfig;

import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The kept image's key at its edges: how differences are worded and abbreviated, the summary, the stored form, the
 * executable lookup and the class path wildcard. Keys are loaded from properties, as a kept image's key is.
 */
class ImageKeyMutationTest {

    @TempDir
    Path tmp;

    private static final String HEX64 = "0123456789abcdef".repeat(4);

    private static ImageKey key(Map<String, String> inputs) {
        Properties p = new Properties();
        int i = 0;
        for (Map.Entry<String, String> e : inputs.entrySet()) {
            p.setProperty("key." + i + ".name", e.getKey());
            p.setProperty("key." + i + ".value", e.getValue());
            i++;
        }
        return ImageKey.load(p);
    }

    private static Map<String, String> map(String... kv) {
        Map<String, String> m = new LinkedHashMap<>();
        for (int i = 0; i < kv.length; i += 2) {
            m.put(kv[i], kv[i + 1]);
        }
        return m;
    }

    @Test
    void differencesNameWhatIsNewChangedOrGoneAndAbbreviateDigests() {
        ImageKey kept = key(map("java", "/usr/bin/java sha256 " + HEX64, "gone", "", "same", "1"));
        ImageKey now = key(map("java", "/opt/java sha256 " + HEX64, "same", "1", "new", "sha256 " + HEX64.substring(0, 12)));
        assertThat(now.differences(kept)).containsExactly(
                "java changed (/usr/bin/java sha256 0123456789ab… -> /opt/java sha256 0123456789ab…)",
                "new is new (sha256 0123456789ab)",
                "gone is gone (was none)");
        assertThat(key(map("a", "sha256 " + HEX64.substring(0, 13))).differences(key(map())))
                .containsExactly("a is new (sha256 0123456789ab…)");
        assertThat(now.differences(now)).isEmpty();
        assertThat(now.describe(now)).isEmpty();
    }

    @Test
    void describeShowsThreeDifferencesAndCountsTheRest() {
        ImageKey empty = key(map());
        assertThat(key(map("a", "1", "b", "2", "c", "3")).describe(empty))
                .isEqualTo("a is new (1); b is new (2); c is new (3)");
        assertThat(key(map("a", "1", "b", "2", "c", "3", "d", "4", "e", "5")).describe(empty))
                .isEqualTo("a is new (1); b is new (2); c is new (3); and 2 more input(s)");
    }

    @Test
    void theSummaryDigestsEveryInputAndTheStoredFormRoundTrips() {
        ImageKey a = key(map("x", "1", "y", "2"));
        ImageKey b = key(map("x", "1", "y", "3"));
        assertThat(a.summary()).matches("sha256 [0-9a-f]{12} of 2 inputs").isNotEqualTo(b.summary());
        assertThat(a.toString()).isEqualTo("ImageKey[" + a.summary() + "]");
        Properties p = new Properties();
        a.store(p);
        assertThat(p).containsEntry("key.0.name", "x").containsEntry("key.1.value", "2").hasSize(4);
        ImageKey loaded = ImageKey.load(p);
        assertThat(loaded).isEqualTo(a).hasSameHashCodeAs(a).isNotEqualTo(b);
        assertThat(loaded.inputs()).containsExactly(Map.entry("x", "1"), Map.entry("y", "2"));
    }

    @Test
    void anExecutableIsAPathOrTheFirstExecutableOfThatNameOnThePath() throws Exception {
        Path plain = Files.createDirectories(tmp.resolve("plain"));
        Path bin = Files.createDirectories(tmp.resolve("bin"));
        Files.writeString(plain.resolve("tool"), "not executable");
        Path tool = Files.writeString(bin.resolve("tool"), "#!/bin/sh\n");
        Files.setPosixFilePermissions(tool, PosixFilePermissions.fromString("rwxr-xr-x"));
        String path = plain + File.pathSeparator + bin;
        assertThat(ImageKey.executable("tool", path)).isEqualTo(tool.toRealPath());
        assertThat(ImageKey.executable("missing", path)).isNull();
        assertThat(ImageKey.executable("tool", null)).isNull();
        assertThat(ImageKey.executable(tool.toString(), null)).isEqualTo(tool.toRealPath());
        assertThat(ImageKey.executable(bin.resolve("nope").toString(), path)).isNull();
        assertThat(ImageKey.executable(bin.toString() + "/", path)).as("a directory").isNull();
    }

    @Test
    void aWildcardEntryHashesItsJarsOnlyAndAMissingEntrySaysSo() throws Exception {
        Path lib = Files.createDirectories(tmp.resolve("lib"));
        Files.writeString(lib.resolve("a.jar"), "a");
        Files.writeString(lib.resolve("B.JAR"), "b");
        Files.writeString(lib.resolve("notes.txt"), "n");
        Map<String, String> env = Map.of("PATH", "/usr/bin");
        ArbiterConfig.Builder b = ArbiterConfig.builder().preload(true).bind("127.0.0.1:8080").app("x.Main")
                .jvmOptions(List.of()).imageDir(tmp.resolve("img"))
                .classpath(lib + File.separator + "*" + File.pathSeparator + tmp.resolve("none.jar"));
        ImageKey first = ImageKey.of(b.build(), List.of(), env::get, "4.2.1");
        String wildcard = first.inputs().get("class path entry " + lib + File.separator + "*");
        assertThat(wildcard).matches("sha256 [0-9a-f]{64}");
        assertThat(first.inputs().get("class path entry " + tmp.resolve("none.jar"))).isEqualTo("missing");

        Files.writeString(lib.resolve("notes.txt"), "changed");
        assertThat(ImageKey.of(b.build(), List.of(), env::get, "4.2.1").inputs())
                .as("a file that is not a jar is not in the key").containsEntry("class path entry " + lib
                        + File.separator + "*", wildcard);
        Files.writeString(lib.resolve("B.JAR"), "b2");
        assertThat(ImageKey.of(b.build(), List.of(), env::get, "4.2.1").inputs().get("class path entry " + lib
                + File.separator + "*")).as("a jar, in any case, is").isNotEqualTo(wildcard);

        ImageKey missingDir = ImageKey.of(b.classpath(tmp.resolve("nodir") + File.separator + "*").build(), List.of(),
                env::get, "4.2.1");
        assertThat(missingDir.inputs()).containsEntry("class path entry " + tmp.resolve("nodir") + File.separator
                + "*", "missing");
    }
}
