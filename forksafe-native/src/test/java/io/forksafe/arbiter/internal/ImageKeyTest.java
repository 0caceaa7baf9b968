package io.forksafe.arbiter.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.forksafe.arbiter.ArbiterConfig;
import io.forksafe.arbiter.PreloadUnavailableException;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.function.Consumer;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The kept image's key ({@link ImageKey}): what it covers, how a mismatch is described, and {@link ImageDir}'s checks. */
class ImageKeyTest {

    @TempDir
    Path tmp;

    private final Map<String, String> env = new HashMap<>(Map.of("PATH", "/usr/bin"));

    private ImageKey key(Path jar, Path classes, Consumer<ArbiterConfig.Builder> more) throws IOException {
        ArbiterConfig.Builder b = ArbiterConfig.builder().preload(true).bind("127.0.0.1:8080")
                .app("com.example.App", List.of("a")).jvmOptions(List.of("-Xmx64m"))
                .classpath(jar + java.io.File.pathSeparator + classes).imageDir(tmp.resolve("img"))
                .imageKeyEnvironment("APP_PROFILE");
        more.accept(b);
        return ImageKey.of(b.build(), List.of("-XX:-UsePerfData"), env::get, "4.2.1");
    }

    @Test
    void knownDigestsAreReusedOnlyForFilesWhoseSizeTimesAndInodeAreUnchanged() throws Exception {
        Path jar = Files.writeString(tmp.resolve("app.jar"), "jar bytes v1");
        Path classes = Files.createDirectories(tmp.resolve("classes"));
        ArbiterConfig config = ArbiterConfig.builder().preload(true).bind("127.0.0.1:8080").app("com.example.App")
                .classpath(jar + java.io.File.pathSeparator + classes).imageDir(tmp.resolve("img")).build();
        Map<String, String> known = new HashMap<>();
        ImageKey first = ImageKey.of(config, List.of(), env::get, "4.2.1", known);
        assertThat(known).as("a digest per file read").isNotEmpty()
                .anySatisfy((k, v) -> assertThat(k).startsWith(jar.toAbsolutePath() + "\t"));
        Map<String, String> afterFirst = Map.copyOf(known);
        assertThat(ImageKey.of(config, List.of(), env::get, "4.2.1", known)).isEqualTo(first);
        assertThat(known).isEqualTo(afterFirst);

        // a planted digest for the jar's current stamp is believed: that is what makes a start read nothing again
        String jarKey = afterFirst.keySet().stream().filter(k -> k.startsWith(jar.toAbsolutePath() + "\t"))
                .findFirst().orElseThrow();
        Map<String, String> planted = new HashMap<>(afterFirst);
        planted.put(jarKey, "00".repeat(32));
        assertThat(ImageKey.of(config, List.of(), env::get, "4.2.1", planted).inputs()
                .get("class path entry " + jar)).isEqualTo("sha256 " + "00".repeat(32));

        // the same size and modification time, other bytes: the status-change time differs, so the jar is read again
        java.nio.file.attribute.FileTime mtime = Files.getLastModifiedTime(jar);
        Files.writeString(jar, "jar bytes v2");
        Files.setLastModifiedTime(jar, mtime);
        assertThat(Files.size(jar)).isEqualTo("jar bytes v1".length());
        ImageKey changed = ImageKey.of(config, List.of(), env::get, "4.2.1", planted);
        assertThat(changed).isNotEqualTo(first);
        assertThat(changed.describe(first)).contains("class path entry " + jar + " changed");
    }

    @Test
    void theKeyCoversTheClassPathsContentTheJvmTheOptionsTheAppAndTheNamedEnvironment() throws Exception {
        Path jar = Files.writeString(tmp.resolve("app.jar"), "jar bytes v1");
        Path classes = Files.createDirectories(tmp.resolve("classes"));
        Files.createDirectories(classes.resolve("com/example"));
        Files.writeString(classes.resolve("com/example/App.class"), "class v1");
        ImageKey k = key(jar, classes, b -> { });

        assertThat(k.inputs()).containsKeys("java binary", "java version", "JVM options",
                "JVM options the arbiter adds", "class path", "class path entry " + jar, "class path entry " + classes,
                "main class", "arguments", "working directory", "environment variable APP_PROFILE",
                "arbiter settings", "forksafe arbiter", "criu", "kernel");
        assertThat(k.inputs().get("java binary")).contains(" sha256 ");
        assertThat(k.inputs().get("java version")).contains(Runtime.version().feature() + "");
        assertThat(k.inputs().get("environment variable APP_PROFILE")).isEqualTo("unset");
        assertThat(key(jar, classes, b -> { })).isEqualTo(k);
        assertThat(k.differences(key(jar, classes, b -> { }))).isEmpty();

        // a jar's bytes
        assertThat(k.filesUnchanged()).isTrue();
        Files.writeString(jar, "jar bytes v2 (longer)");
        assertThat(k.filesUnchanged()).as("a stat tells the jar changed").isFalse();
        ImageKey jarChanged = key(jar, classes, b -> { });
        assertThat(jarChanged.describe(k)).matches("class path entry " + java.util.regex.Pattern.quote(jar.toString())
                + " changed \\(sha256 [0-9a-f]{12}… -> sha256 [0-9a-f]{12}…\\)");

        // a file in a class directory, and a new one
        Files.writeString(classes.resolve("com/example/App.class"), "class v2");
        ImageKey classChanged = key(jar, classes, b -> { });
        assertThat(classChanged.describe(jarChanged)).startsWith("class path entry " + classes + " changed (sha256 ");
        Files.writeString(classes.resolve("com/example/Other.class"), "");
        assertThat(classChanged.filesUnchanged()).as("a file added to a class directory").isFalse();
        assertThat(key(jar, classes, b -> { }).describe(classChanged)).startsWith("class path entry " + classes);

        ImageKey now = key(jar, classes, b -> { });
        assertThat(key(jar, classes, b -> b.addJvmOption("-Dx=1")).describe(now))
                .isEqualTo("JVM options changed (-Xmx64m -> -Xmx64m -Dx=1)");
        assertThat(key(jar, classes, b -> b.app("com.example.Other", List.of("a"))).describe(now))
                .isEqualTo("main class changed (com.example.App -> com.example.Other)");
        assertThat(key(jar, classes, b -> b.app("com.example.App", List.of("b"))).describe(now))
                .isEqualTo("arguments changed (a -> b)");
        // the request limits are in the template's environment and decide whether its adapters count
        ImageKey limited = key(jar, classes, b -> b.maxRequests(1000).maxRequestsJitter(50));
        assertThat(limited.describe(now)).startsWith("arbiter settings changed (")
                .contains("FORKSAFE_ARBITER_MAX_REQUESTS=1000");
        assertThat(key(jar, classes, b -> b.maxRequests(1000).maxRequestsJitter(50)).differences(limited)).isEmpty();
        assertThat(key(jar, classes, b -> b.maxRss(1L << 30)).differences(now))
                .as("--max-rss is the arbiter's alone: the image is the same").isEmpty();

        // named variables: by digest, never by value (they may be secrets); --env ones are always in the key
        env.put("APP_PROFILE", "prod-secret");
        ImageKey set = key(jar, classes, b -> { });
        assertThat(set.describe(now)).matches("environment variable APP_PROFILE changed \\(unset -> sha256 "
                + "[0-9a-f]{12}…\\)");
        env.put("APP_PROFILE", "staging-secret");
        ImageKey staging = key(jar, classes, b -> { });
        assertThat(staging.describe(set)).startsWith("environment variable APP_PROFILE changed (sha256 ")
                .doesNotContain("secret");
        assertThat(key(jar, classes, b -> b.environment("DB", "x")).describe(staging))
                .startsWith("environment variable DB is new (sha256 ");
        assertThat(staging.describe(key(jar, classes, b -> b.environment("DB", "x"))))
                .startsWith("environment variable DB is gone (was sha256 ");
        // another JDK, CRIU or arbiter setting
        assertThat(ImageKey.of(ArbiterConfig.builder().preload(true).bind("127.0.0.1:8080").app("com.example.App",
                        List.of("a")).jvmOptions(List.of("-Xmx64m")).classpath(jar + ":" + classes)
                        .imageDir(tmp.resolve("img")).imageKeyEnvironment("APP_PROFILE").javaCommand("/nonexistent/java")
                        .build(), List.of("-XX:-UsePerfData"), env::get, "4.2.1").describe(set))
                .startsWith("java binary changed (").contains("-> not found: /nonexistent/java)");
    }

    @Test
    void theKeySurvivesTheMetadataFileAndAMismatchListsThreeInputsThenCounts() throws Exception {
        Path jar = Files.writeString(tmp.resolve("app.jar"), "v1");
        Path classes = Files.createDirectories(tmp.resolve("classes"));
        ImageKey k = key(jar, classes, b -> { });
        Properties p = new Properties();
        k.store(p);
        java.io.StringWriter w = new java.io.StringWriter();
        p.store(w, null);
        Properties read = new Properties();
        read.load(new java.io.StringReader(w.toString()));
        assertThat(ImageKey.load(read)).isEqualTo(k);
        assertThat(ImageKey.load(read).inputs().keySet()).containsExactlyElementsOf(k.inputs().keySet());
        assertThat(k.summary()).matches("sha256 [0-9a-f]{12} of " + k.inputs().size() + " inputs");

        Files.writeString(jar, "v2");
        ImageKey many = key(jar, classes, b -> b.addJvmOption("-Dx=1").app("B", List.of("z")));
        assertThat(many.differences(k)).hasSize(4);
        assertThat(many.describe(k)).startsWith("JVM options changed").endsWith("; and 1 more input(s)");
    }

    @Test
    void anImageDirectoryOthersMayWriteIsRefusedAndOneArbiterAtATimeHoldsIt() throws Exception {
        Path open = Files.createDirectory(tmp.resolve("open"));
        Files.setPosixFilePermissions(open, PosixFilePermissions.fromString("rwxrwxrwx"));
        assertThatThrownBy(() -> ImageDir.check(open)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("is writable by others (mode rwxrwxrwx)").hasMessageContaining("chmod 700 " + open);
        Files.setPosixFilePermissions(open, PosixFilePermissions.fromString("rwxrwx---"));
        assertThatThrownBy(() -> ImageDir.check(open)).hasMessageContaining("is writable by its group");
        assertThatThrownBy(() -> ImageDir.open(open)).isInstanceOf(PreloadUnavailableException.class)
                .hasMessageContaining("chmod 700");
        Path file = Files.writeString(tmp.resolve("file"), "");
        assertThatThrownBy(() -> ImageDir.check(file)).hasMessageContaining("is not a directory");
        Path deep = tmp.resolve("x".repeat(120));
        assertThatThrownBy(() -> ImageDir.check(deep)).hasMessageContaining("a Unix socket path holds at most 107")
                .hasMessageContaining("choose a shorter directory");

        Path fresh = tmp.resolve("new/images");
        try (ImageDir home = ImageDir.open(fresh)) {
            assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(fresh))).isEqualTo("rwx------");
            assertThat(home.controlSocket()).isEqualTo(fresh.resolve("control.sock"));
            assertThatThrownBy(() -> ImageDir.open(fresh)).isInstanceOf(PreloadUnavailableException.class)
                    .hasMessageContaining("another arbiter (pid " + ProcessHandle.current().pid() + ") uses it now")
                    .hasMessageContaining("give each arbiter its own --image-dir");
            // an image without its metadata (a dump that never completed) is never used, and removed
            Files.createDirectories(fresh.resolve("image-4"));
            assertThat(home.newest()).isNull();
        }
        try (ImageDir again = ImageDir.open(fresh)) {
            assertThat(Files.exists(fresh.resolve("image-4"))).isFalse();
            Path image = Files.createDirectories(fresh.resolve("image-5"));
            Path older = Files.createDirectories(fresh.resolve("image-2"));
            Properties p = new Properties();
            p.setProperty("generation", "5");
            ImageDir.writeMetadata(image, p);
            ImageDir.writeMetadata(older, new Properties());
            assertThat(again.newest().dir()).isEqualTo(image);
            assertThat(Files.exists(older)).as("a superseded image is removed").isFalse();
            assertThat(again.nextGeneration()).isEqualTo(6);
        }
    }
}
