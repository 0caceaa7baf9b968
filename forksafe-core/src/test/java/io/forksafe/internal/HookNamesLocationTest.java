package io.forksafe.internal;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.URL;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.CodeSource;
import java.security.ProtectionDomain;
import java.security.cert.Certificate;
import java.util.jar.JarEntry;
import java.util.jar.JarFile;
import java.util.jar.JarOutputStream;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * What counts as forksafe's own code, judged by where an {@code io.forksafe.*} class was loaded from. Each case
 * defines a fresh class in a fresh location, so no verdict is served from the caches.
 */
class HookNamesLocationTest {

    /** A class in forksafe's packages with no dependencies, defined again in each case. */
    static final class Probe {
    }

    @TempDir
    Path tmp;


    private static byte[] probeBytes() throws IOException {
        try (InputStream in = HookNamesLocationTest.class.getResourceAsStream("HookNamesLocationTest$Probe.class")) {
            return in.readAllBytes();
        }
    }

    /** The module-info.class of forksafe-core's main classes. */
    private static byte[] forksafeDescriptor() throws Exception {
        Path classes = Path.of(HookNames.class.getProtectionDomain().getCodeSource().getLocation().toURI());
        return Files.readAllBytes(classes.resolve("module-info.class"));
    }

    /** The module-info.class of JUnit's API jar (module org.junit.jupiter.api). */
    private static byte[] otherDescriptor() throws Exception {
        Path jar = Path.of(Test.class.getProtectionDomain().getCodeSource().getLocation().toURI());
        try (JarFile j = new JarFile(jar.toFile()); InputStream in = j.getInputStream(j.getEntry("module-info.class"))) {
            return in.readAllBytes();
        }
    }

    /** Defines the probe anew, as if loaded from {@code location} (null: no code source). */
    private static Class<?> probeFrom(URL location) throws Exception {
        byte[] b = probeBytes();
        ClassLoader loader = new ClassLoader(ClassLoader.getPlatformClassLoader()) {
            @Override
            protected Class<?> findClass(String name) throws ClassNotFoundException {
                if (!name.equals(Probe.class.getName())) {
                    throw new ClassNotFoundException(name);
                }
                ProtectionDomain pd = location == null ? null
                        : new ProtectionDomain(new CodeSource(location, (Certificate[]) null), null);
                return defineClass(name, b, 0, b.length, pd);
            }
        };
        Class<?> c = loader.loadClass(Probe.class.getName());
        assertThat(c).isNotSameAs(Probe.class);
        return c;
    }

    private Path jar(String name, byte[] descriptor) throws IOException {
        Path jar = tmp.resolve(name);
        try (OutputStream out = Files.newOutputStream(jar); JarOutputStream j = new JarOutputStream(out)) {
            if (descriptor != null) {
                j.putNextEntry(new JarEntry("module-info.class"));
                j.write(descriptor);
                j.closeEntry();
            }
            j.putNextEntry(new JarEntry("README"));
            j.write("x".getBytes());
            j.closeEntry();
        }
        return jar;
    }

    private Path dir(String name, byte[] descriptor) throws IOException {
        Path d = Files.createDirectories(tmp.resolve(name));
        if (descriptor != null) {
            Files.write(d.resolve("module-info.class"), descriptor);
        }
        return d;
    }

    @Test
    void aJarOrDirectoryWithAForksafeModuleDescriptorIsForksafesCode() throws Exception {
        assertThat(HookNames.isForksafeCode(probeFrom(jar("a.jar", forksafeDescriptor()).toUri().toURL()))).isTrue();
        assertThat(HookNames.isForksafeCode(probeFrom(dir("d", forksafeDescriptor()).toUri().toURL()))).isTrue();
    }

    @Test
    void withoutADescriptorOrWithAnotherModulesItIsNot() throws Exception {
        assertThat(HookNames.isForksafeCode(probeFrom(jar("none.jar", null).toUri().toURL()))).isFalse();
        assertThat(HookNames.isForksafeCode(probeFrom(dir("none", null).toUri().toURL()))).isFalse();
        assertThat(HookNames.isForksafeCode(probeFrom(jar("junit.jar", otherDescriptor()).toUri().toURL()))).isFalse();
        assertThat(HookNames.isForksafeCode(probeFrom(dir("junit", otherDescriptor()).toUri().toURL()))).isFalse();
    }

    @Test
    void aLocationThatCannotBeLookedIntoIsJudgedByThePackage() throws Exception {
        assertThat(HookNames.isForksafeCode(probeFrom(null))).as("no code source").isTrue();
        assertThat(HookNames.isForksafeCode(probeFrom(new URL("http://127.0.0.1:1/app.jar")))).as("not a file").isTrue();
        Path notAJar = Files.writeString(tmp.resolve("broken.jar"), "not a zip");
        assertThat(HookNames.isForksafeCode(probeFrom(notAJar.toUri().toURL()))).as("unreadable").isTrue();
    }

    @Test
    void forksafeCoresOwnLocationIsForksafesCode() throws Exception {
        URL core = HookNames.class.getProtectionDomain().getCodeSource().getLocation();
        assertThat(HookNames.isForksafeCode(probeFrom(core))).isTrue();
    }

    @Test
    void theVerdictIsTheSameOnTheSecondAsk() throws Exception {
        Class<?> c = probeFrom(jar("twice.jar", null).toUri().toURL());
        assertThat(HookNames.isForksafeCode(c)).isFalse();
        assertThat(HookNames.isForksafeCode(c)).isFalse();
        Class<?> d = probeFrom(dir("twice", forksafeDescriptor()).toUri().toURL());
        assertThat(HookNames.isForksafeCode(d)).isTrue();
        assertThat(HookNames.isForksafeCode(d)).isTrue();
    }
}
