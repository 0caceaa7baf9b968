package io.forksafe.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.File;
import java.lang.module.ModuleDescriptor;
import java.lang.module.ModuleFinder;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

/** Checks the built jars' JPMS descriptors: only API packages are exported, internals stay hidden. */
class ModuleDescriptorTest {

    private static ModuleDescriptor descriptor(String module) throws Exception {
        // the demo's class path, then this test's (forksafe-servlet and forksafe-hikari are test dependencies here)
        Path[] entries = Arrays.stream((ProcessSupport.demoClasspath() + File.pathSeparator
                        + System.getProperty("java.class.path")).split(File.pathSeparator))
                .filter(e -> !e.isBlank() && !e.endsWith("-tests.jar") && !e.endsWith("test-classes"))
                .map(Path::of).toArray(Path[]::new);
        return ModuleFinder.of(entries).find(module).orElseThrow(
                () -> new AssertionError(module + " not found on " + Arrays.toString(entries))).descriptor();
    }

    @Test
    void coreExportsOnlyApiPackages() throws Exception {
        ModuleDescriptor core = descriptor("io.forksafe.core");
        assertThat(core.isAutomatic()).isFalse();
        assertThat(core.exports().stream().map(ModuleDescriptor.Exports::source).collect(Collectors.toSet()))
                .containsExactlyInAnyOrder("io.forksafe", "io.forksafe.spi", "io.forksafe.testing",
                        "io.forksafe.recipes");
        assertThat(core.packages()).contains("io.forksafe.internal");
        assertThat(core.uses()).contains("io.forksafe.spi.ContainerAdapter", "io.forksafe.spi.ForkHookProvider");
        assertThat(core.requires()).filteredOn(r -> !r.name().equals("java.base"))
                .allSatisfy(r -> assertThat(r.modifiers()).contains(ModuleDescriptor.Requires.Modifier.STATIC));
        assertThat(core.requires()).extracting(ModuleDescriptor.Requires::name)
                .as("the servlet and HikariCP integrations are their own artifacts")
                .doesNotContain("jakarta.servlet", "com.zaxxer.hikari", "java.sql");
    }

    @Test
    void theOptionalIntegrationsExportOnlyTheirOwnPackage() throws Exception {
        assertThat(descriptor("io.forksafe.servlet").exports()).extracting(ModuleDescriptor.Exports::source)
                .containsExactly("io.forksafe.servlet");
        assertThat(descriptor("io.forksafe.hikari").exports()).extracting(ModuleDescriptor.Exports::source)
                .containsExactly("io.forksafe.hikari");
    }

    @Test
    void tomcatExportsOnlyItsApiProvidesTheAdapterAndKeepsTomcatStatic() throws Exception {
        ModuleDescriptor tomcat = descriptor("io.forksafe.tomcat");
        assertThat(tomcat.isAutomatic()).isFalse();
        assertThat(tomcat.exports()).extracting(ModuleDescriptor.Exports::source).containsExactly("io.forksafe.tomcat");
        assertThat(tomcat.packages()).contains("io.forksafe.tomcat.internal");
        assertThat(tomcat.provides()).anySatisfy(p -> {
            assertThat(p.service()).isEqualTo("io.forksafe.spi.ContainerAdapter");
            assertThat(p.providers()).containsExactly("io.forksafe.tomcat.internal.TomcatContainerAdapter");
        });
        assertThat(tomcat.requires()).filteredOn(r -> r.name().startsWith("org.apache.tomcat")).isNotEmpty()
                .allSatisfy(r -> assertThat(r.modifiers()).contains(ModuleDescriptor.Requires.Modifier.STATIC));
    }
}
