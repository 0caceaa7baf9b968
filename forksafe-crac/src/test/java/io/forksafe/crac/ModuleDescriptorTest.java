package io.forksafe.crac;

import org.junit.jupiter.api.Test;

import java.lang.module.ModuleDescriptor;
import java.lang.module.ModuleFinder;
import java.nio.file.Path;
import java.util.Set;
import java.util.stream.Collectors;

import static org.assertj.core.api.Assertions.assertThat;

/** The compiled descriptor: only the API package is exported; the adapter is a ServiceLoader provider. */
class ModuleDescriptorTest {

    @Test
    void exportsOnlyTheApiPackageAndProvidesTheAdapter() {
        ModuleDescriptor crac = ModuleFinder.of(Path.of("target", "classes")).find("io.forksafe.crac")
                .orElseThrow(() -> new AssertionError("target/classes has no module-info for io.forksafe.crac"))
                .descriptor();
        assertThat(crac.exports().stream().map(ModuleDescriptor.Exports::source).collect(Collectors.toSet()))
                .containsExactly("io.forksafe.crac");
        assertThat(crac.packages()).contains("io.forksafe.crac.internal");
        assertThat(crac.provides()).singleElement().satisfies(p -> {
            assertThat(p.service()).isEqualTo("io.forksafe.spi.ContainerAdapter");
            assertThat(p.providers()).containsExactly("io.forksafe.crac.internal.CracAdapter");
        });
        Set<String> transitive = crac.requires().stream()
                .filter(r -> r.modifiers().contains(ModuleDescriptor.Requires.Modifier.TRANSITIVE))
                .map(ModuleDescriptor.Requires::name).collect(Collectors.toSet());
        assertThat(transitive).containsExactlyInAnyOrder("io.forksafe.core", "org.crac");
    }
}
