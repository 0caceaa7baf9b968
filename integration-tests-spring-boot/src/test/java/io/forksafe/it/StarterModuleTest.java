package io.forksafe.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.File;
import java.lang.module.ModuleDescriptor;
import java.lang.module.ModuleFinder;
import java.nio.file.Path;
import java.util.Arrays;

import org.junit.jupiter.api.Test;

/**
 * Spring Boot has no module descriptors, so the starter is an automatic module with a stable name (set in its
 * manifest, not derived from the file name), and ships its auto-configuration list and property metadata.
 */
class StarterModuleTest {

    @Test
    void theStarterIsTheAutomaticModuleIoForksafeSpring() throws Exception {
        Path[] jars = Arrays.stream(ProcessSupport.demoClasspath().split(File.pathSeparator))
                .filter(e -> e.contains("forksafe-spring-boot")).map(Path::of).toArray(Path[]::new);
        assertThat(jars).as("the starter jar on the app's class path").hasSize(1);
        ModuleDescriptor starter = ModuleFinder.of(jars).find("io.forksafe.spring").orElseThrow(
                () -> new AssertionError("no module io.forksafe.spring in " + jars[0]
                        + ": set Automatic-Module-Name in forksafe-spring-boot's jar manifest")).descriptor();
        assertThat(starter.isAutomatic()).isTrue();
        assertThat(starter.packages()).contains("io.forksafe.spring", "io.forksafe.spring.internal");
        try (java.util.jar.JarFile jar = new java.util.jar.JarFile(jars[0].toFile())) {
            assertThat(jar.getEntry("META-INF/spring/org.springframework.boot.autoconfigure.AutoConfiguration.imports"))
                    .isNotNull();
            String metadata = new String(jar.getInputStream(jar.getEntry("META-INF/spring-configuration-metadata.json"))
                    .readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
            assertThat(metadata).contains("\"forksafe.hikari.drain-timeout\"", "\"forksafe.readiness.enabled\"",
                    "\"forksafe.status.allow-remote\"", "\"forksafe.events.include-threads\"");
        }
    }
}
