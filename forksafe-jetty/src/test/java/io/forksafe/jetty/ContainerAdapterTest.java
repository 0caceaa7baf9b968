package io.forksafe.jetty;

import io.forksafe.ForkRegistry;
import io.forksafe.ForksafeStatus;
import io.forksafe.jetty.internal.JettyContainerAdapter;
import io.forksafe.spi.ContainerAdapter;

import org.junit.jupiter.api.Test;

import java.net.URL;
import java.net.URLClassLoader;
import java.util.List;
import java.util.ServiceLoader;

import static org.assertj.core.api.Assertions.assertThat;

/** The ServiceLoader adapter: "Jetty available" with Jetty on the class path, "Jetty not available" without it. */
class ContainerAdapterTest {

    @Test
    void autoconfigureFindsJettyThroughServiceLoader() {
        assertThat(ServiceLoader.load(ContainerAdapter.class).stream().map(ServiceLoader.Provider::type))
                .contains(JettyContainerAdapter.class);
        ForkRegistry registry = new ForkRegistry("auto");
        ForksafeStatus status = registry.autoconfigure(ContainerAdapterTest.class.getClassLoader());
        assertThat(status.autoconfigureLog()).contains("attempting to autoconfigure Jetty", "Jetty available",
                "Jetty hook configured");
        assertThat(status.environment()).isEqualTo("jetty 12.1.14");
        assertThat(status.notes().get("jetty")).contains("ForksafeJetty.install(server)", "etc/forksafe.xml");
    }

    @Test
    void withoutJettyOnTheClassPathTheAdapterSaysNotAvailable() throws Exception {
        URL core = ForkRegistry.class.getProtectionDomain().getCodeSource().getLocation();
        URL jetty = ForksafeJetty.class.getProtectionDomain().getCodeSource().getLocation();
        try (URLClassLoader noJetty = new URLClassLoader(new URL[] {core, jetty},
                ClassLoader.getPlatformClassLoader())) {
            assertThat(noJetty.getResource("org/eclipse/jetty/server/Server.class")).isNull();
            Class<?> registryClass = noJetty.loadClass(ForkRegistry.class.getName());
            Object registry = registryClass.getConstructor(String.class).newInstance("no-jetty");
            Object status = registryClass.getMethod("autoconfigure", ClassLoader.class).invoke(registry, noJetty);
            @SuppressWarnings("unchecked")
            List<String> log = (List<String>) status.getClass().getMethod("autoconfigureLog").invoke(status);
            assertThat(log).contains("attempting to autoconfigure Jetty");
            assertThat(log).anySatisfy(line -> assertThat(line).startsWith("Jetty not available: ")
                    .contains("org.eclipse.jetty.server.Server is not on the class path"));
            assertThat(log).doesNotContain("Jetty available", "Jetty hook configured");
        }
    }

    @Test
    void detectAnswersWithoutThrowingWhenJettyIsAbsent() {
        ContainerAdapter adapter = new JettyContainerAdapter(ClassLoader.getPlatformClassLoader());
        assertThat(adapter.name()).isEqualTo("Jetty");
        ContainerAdapter.Detection d = adapter.detect();
        assertThat(d.available()).isFalse();
        assertThat(d.reason()).contains("jetty-server");
        assertThat(new JettyContainerAdapter().detect().container().toString()).isEqualTo("jetty 12.1.14");
    }
}
