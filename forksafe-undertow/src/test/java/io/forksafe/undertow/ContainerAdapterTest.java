package io.forksafe.undertow;

import io.forksafe.ForkRegistry;
import io.forksafe.ForksafeStatus;
import io.forksafe.spi.ContainerAdapter;
import io.forksafe.undertow.internal.UndertowContainerAdapter;
import org.junit.jupiter.api.Test;

import java.net.URL;
import java.net.URLClassLoader;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;

/** Autoconfigure discovers the Undertow adapter through ServiceLoader and logs what it found. */
class ContainerAdapterTest {

    @Test
    void autoconfigureFindsUndertow() {
        ForkRegistry registry = new ForkRegistry("undertow-autoconfigure");
        ForksafeStatus status = registry.autoconfigure(ContainerAdapterTest.class.getClassLoader());
        assertThat(status.autoconfigureLog()).contains("attempting to autoconfigure Undertow", "Undertow available",
                "Undertow hook configured");
        assertThat(status.status()).isEqualTo("Undertow hook configured");
        assertThat(status.environment()).isEqualTo("undertow " + io.undertow.Version.getVersionString());
        assertThat(status.notes()).containsKeys("undertow.ioThreads", "undertow.wiring");
        assertThat(status.details()).containsKey("undertow");
    }

    @Test
    void withoutUndertowOnTheClassPathTheAdapterSaysNotAvailable() throws Exception {
        // forksafe core and this module's classes, but no Undertow jar: as in an application without Undertow.
        URL core = ForkRegistry.class.getProtectionDomain().getCodeSource().getLocation();
        URL undertowAdapter = UndertowContainerAdapter.class.getProtectionDomain().getCodeSource().getLocation();
        assertThat(Path.of(undertowAdapter.toURI()).toString()).endsWith("classes");
        try (URLClassLoader isolated = new URLClassLoader(new URL[] {core, undertowAdapter},
                ClassLoader.getPlatformClassLoader())) {
            Class<?> registryClass = isolated.loadClass(ForkRegistry.class.getName());
            Object registry = registryClass.getConstructor(String.class).newInstance("no-undertow");
            Object status = registryClass.getMethod("autoconfigure", ClassLoader.class).invoke(registry, isolated);
            @SuppressWarnings("unchecked")
            java.util.List<String> log = (java.util.List<String>) status.getClass().getMethod("autoconfigureLog")
                    .invoke(status);
            assertThat(log).contains("attempting to autoconfigure Undertow")
                    .anyMatch(l -> l.startsWith("Undertow not available")
                            && l.contains("io.undertow.Undertow is not on the class path"));
            assertThat(log).doesNotContain("Undertow available");
        }
        // Sanity: in this class loader the same adapter does detect Undertow.
        ContainerAdapter.Detection here = new UndertowContainerAdapter().detect();
        assertThat(here.available()).isTrue();
    }
}
