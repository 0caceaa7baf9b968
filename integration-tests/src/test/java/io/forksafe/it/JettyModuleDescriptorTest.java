package io.forksafe.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.File;
import java.lang.module.ModuleDescriptor;
import java.lang.module.ModuleFinder;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

/** The built forksafe-jetty jar's JPMS descriptor: API exported, internals hidden, adapter provided, Jetty static. */
class JettyModuleDescriptorTest {

    @Test
    void jettyModuleExportsOnlyItsApiAndProvidesTheAdapter() throws Exception {
        Path[] entries = Arrays.stream(ProcessSupport.demoClasspath().split(File.pathSeparator))
                .map(Path::of).toArray(Path[]::new);
        ModuleDescriptor jetty = ModuleFinder.of(entries).find("io.forksafe.jetty").orElseThrow().descriptor();
        assertThat(jetty.isAutomatic()).isFalse();
        assertThat(jetty.exports().stream().map(ModuleDescriptor.Exports::source).collect(Collectors.toSet()))
                .containsExactly("io.forksafe.jetty");
        assertThat(jetty.packages()).contains("io.forksafe.jetty.internal");
        assertThat(jetty.provides()).anySatisfy(p -> {
            assertThat(p.service()).isEqualTo("io.forksafe.spi.ContainerAdapter");
            assertThat(p.providers()).containsExactly("io.forksafe.jetty.internal.JettyContainerAdapter");
        });
        assertThat(jetty.requires()).filteredOn(r -> r.name().startsWith("org.eclipse.jetty"))
                .isNotEmpty()
                .allSatisfy(r -> assertThat(r.modifiers()).contains(ModuleDescriptor.Requires.Modifier.STATIC));
    }
}
