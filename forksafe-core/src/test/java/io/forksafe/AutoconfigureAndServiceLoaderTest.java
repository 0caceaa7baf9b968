package io.forksafe;

import io.forksafe.spi.HostContext;
import static org.assertj.core.api.Assertions.assertThat;

import io.forksafe.spi.ContainerAdapter;
import io.forksafe.spi.ForkHookProvider;
import java.io.IOException;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class AutoconfigureAndServiceLoaderTest {

    @TempDir
    Path dir;

    static final AtomicInteger GOOD_HOOK_RUNS = new AtomicInteger();

    /** A well-behaved zero-code hook provider. */
    public static final class GoodHooks implements ForkHookProvider {
        @Override
        public void subscribe(ForkRegistry registry) {
            registry.subscribe(PostFork.class, "good-hooks.evict", 0, e -> GOOD_HOOK_RUNS.incrementAndGet());
        }
    }

    /** A provider whose constructor throws: ServiceConfigurationError at load time. */
    public static final class ExplodingConstructorHooks implements ForkHookProvider {
        public ExplodingConstructorHooks() {
            throw new IllegalStateException("cannot construct");
        }

        @Override
        public void subscribe(ForkRegistry registry) {
        }
    }

    /** A provider that loads but fails while subscribing. */
    public static final class FailingHooks implements ForkHookProvider {
        @Override
        public void subscribe(ForkRegistry registry) throws Exception {
            throw new IOException("config file missing");
        }
    }

    /** A present host. */
    public static final class PresentHost implements ContainerAdapter {
        @Override
        public String name() {
            return "Presenthost";
        }

        @Override
        public Detection detect() {
            return Detection.available(ContainerInfo.of("presenthost", "3.1"));
        }

        @Override
        public void configure(HostContext host) {
        ForkRegistry registry = host.registry();
            HostContext.of(registry).note("presenthost", "configured");
        }
    }

    /** An absent host. */
    public static final class AbsentHost implements ContainerAdapter {
        @Override
        public String name() {
            return "Absenthost";
        }

        @Override
        public Detection detect() {
            return Detection.notAvailable("Absenthost classes not on the class path");
        }

        @Override
        public void configure(HostContext host) {
        ForkRegistry registry = host.registry();
            throw new AssertionError("must not be configured");
        }
    }

    /** A present host whose configuration fails. */
    public static final class BrokenHost implements ContainerAdapter {
        @Override
        public String name() {
            return "Brokenhost";
        }

        @Override
        public Detection detect() {
            return Detection.available(ContainerInfo.of("brokenhost", "1"));
        }

        @Override
        public void configure(HostContext host) {
        ForkRegistry registry = host.registry();
            throw new IllegalStateException("run Brokenhost with --master");
        }
    }

    private ClassLoader loaderWith(List<String> hookProviders, List<String> adapters) throws IOException {
        Path services = Files.createDirectories(dir.resolve("META-INF/services"));
        Files.write(services.resolve(ForkHookProvider.class.getName()), hookProviders);
        Files.write(services.resolve(ContainerAdapter.class.getName()), adapters);
        return new URLClassLoader(new URL[] {dir.toUri().toURL()}, getClass().getClassLoader());
    }

    @Test
    void hookProvidersLoadAndBrokenOnesAreReportedWithoutStoppingOthers() throws Exception {
        ClassLoader loader = loaderWith(List.of(
                ExplodingConstructorHooks.class.getName(),
                "com.example.DoesNotExist",
                FailingHooks.class.getName(),
                GoodHooks.class.getName()), List.of());
        ForkRegistry registry = new ForkRegistry();

        int loaded = registry.loadHookProviders(loader);

        assertThat(loaded).isEqualTo(1);
        int before = GOOD_HOOK_RUNS.get();
        HostContext.of(registry).postFork(TestWorkers.process(1), TestWorkers.TEST_HOST);
        assertThat(GOOD_HOOK_RUNS.get()).isEqualTo(before + 1);
        ForksafeStatus status = registry.status();
        assertThat(status.autoconfigureLog()).contains("hook provider " + GoodHooks.class.getName() + " loaded");
        assertThat(status.errors()).anySatisfy(e -> assertThat(e).contains("cannot construct"));
        assertThat(status.errors()).anySatisfy(e -> assertThat(e).contains("com.example.DoesNotExist"));
        assertThat(status.errors()).anySatisfy(e -> assertThat(e)
                .contains(FailingHooks.class.getName()).contains("config file missing"));
        assertThat(status.isError()).isTrue();
        // Loading again does not subscribe twice.
        assertThat(registry.loadHookProviders(loader)).isZero();
    }

    @Test
    void autoconfigureRecordsPyramidStyleLinesAndIsolatesAdapterErrors() throws Exception {
        ClassLoader loader = loaderWith(List.of(), List.of(
                AbsentHost.class.getName(), BrokenHost.class.getName(), PresentHost.class.getName()));
        ForkRegistry registry = new ForkRegistry();

        ForksafeStatus status = registry.autoconfigure(loader);

        assertThat(status.autoconfigureLog()).containsSubsequence(
                "registry_setup",
                "attempting auto-configure",
                "attempting to autoconfigure Absenthost",
                "Absenthost not available: Absenthost classes not on the class path",
                "attempting to autoconfigure Brokenhost",
                "Brokenhost available",
                "Brokenhost error: run Brokenhost with --master",
                "attempting to autoconfigure Presenthost",
                "Presenthost available",
                "Presenthost hook configured");
        assertThat(status.status()).isEqualTo("Brokenhost error: run Brokenhost with --master");
        assertThat(status.environment()).isEqualTo("presenthost 3.1");
        assertThat(status.notes()).containsEntry("presenthost", "configured");
    }

    @Test
    void autoconfigureWithOnlyAPresentHostSaysConfigured() throws Exception {
        ClassLoader loader = loaderWith(List.of(), List.of(AbsentHost.class.getName(), PresentHost.class.getName()));
        ForksafeStatus status = new ForkRegistry().autoconfigure(loader);
        assertThat(status.status()).isEqualTo("Presenthost hook configured");
        assertThat(status.isError()).isFalse();
    }

    @Test
    void autoconfigureWithoutAnyHostSaysHowToFixIt() throws Exception {
        ClassLoader loader = loaderWith(List.of(), List.of(AbsentHost.class.getName()));
        ForksafeStatus status = new ForkRegistry().autoconfigure(loader);
        assertThat(status.status()).startsWith("not configured: no forksafe adapter found a host")
                .contains("markConfigured");
    }

    @Test
    void forksafeAdaptersPropertyRestrictsDiscovery() throws Exception {
        ClassLoader loader = loaderWith(List.of(), List.of(BrokenHost.class.getName(), PresentHost.class.getName()));
        System.setProperty("forksafe.adapters", "presenthost");
        try {
            ForksafeStatus status = new ForkRegistry().autoconfigure(loader);
            assertThat(status.status()).isEqualTo("Presenthost hook configured");
            assertThat(status.autoconfigureLog()).contains("Brokenhost skipped: not in forksafe.adapters=presenthost");
        } finally {
            System.clearProperty("forksafe.adapters");
        }
    }
}
