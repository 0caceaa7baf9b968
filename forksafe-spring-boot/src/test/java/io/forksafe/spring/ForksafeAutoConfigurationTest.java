package io.forksafe.spring;

import static org.assertj.core.api.Assertions.assertThat;

import io.forksafe.ForkEvent;
import io.forksafe.ForkHook;
import io.forksafe.ForkRegistry;
import io.forksafe.Forksafe;
import io.forksafe.PostFork;
import io.forksafe.PreFork;
import io.forksafe.testing.ForkSimulator;

import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;

import org.junit.jupiter.api.Test;
import org.springframework.boot.autoconfigure.AutoConfigurations;
import org.springframework.boot.availability.ApplicationAvailability;
import org.springframework.boot.availability.ApplicationAvailabilityBean;
import org.springframework.boot.availability.ReadinessState;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.context.event.EventListener;

/**
 * The auto-configuration in a real ApplicationContext (no web server: the process tests in
 * integration-tests-spring-boot run Jetty and Tomcat): hook beans by type parameter and by {@link ForkHookEvent},
 * the {@code @EventListener} bridge, readiness across a simulated checkpoint and restore, the properties.
 */
class ForksafeAutoConfigurationTest {

    private final ApplicationContextRunner runner = new ApplicationContextRunner()
            .withConfiguration(AutoConfigurations.of(ForksafeAutoConfiguration.class))
            .withBean(ApplicationAvailabilityBean.class);

    /** What the hooks and listeners saw, including the readiness at the time. */
    static final class Seen {
        final List<String> lines = new CopyOnWriteArrayList<>();
    }

    @Configuration(proxyBeanMethods = false)
    static class Hooks {
        @Bean
        Seen seen() {
            return new Seen();
        }

        @Bean
        ForkHook<PreFork> quiesce(Seen seen, ApplicationAvailability availability) {
            return e -> seen.lines.add("hook PreFork " + e.worker().kind() + " readiness="
                    + availability.getReadinessState());
        }

        @Bean
        @ForkHookEvent(PostFork.class)
        ForkHook<ForkEvent> onlyPostFork(Seen seen) {
            return e -> seen.lines.add("qualified " + e.type().displayName());
        }

        @Bean
        Object listener(Seen seen) {
            return new Object() {
                @EventListener
                void on(ForkEvent e) {
                    seen.lines.add("listener " + e.type().displayName());
                }
            };
        }
    }

    @Configuration(proxyBeanMethods = false)
    static class UntypedHook {
        @Bean
        @SuppressWarnings("rawtypes")
        ForkHook untyped() {
            return e -> { };
        }
    }

    @Test
    void readinessRefusesTrafficFromPreForkUntilPostWorkerInitAndHookBeansSubscribeByType() {
        runner.withUserConfiguration(Hooks.class).run(context -> {
            assertThat(context).hasNotFailed();
            ForkRegistry registry = context.getBean(ForkRegistry.class);
            assertThat(registry).isSameAs(Forksafe.registry());
            Seen seen = context.getBean(Seen.class);
            ApplicationAvailability availability = context.getBean(ApplicationAvailability.class);
            seen.lines.clear();

            ForkSimulator.of(registry).simulateRestore(1);

            assertThat(seen.lines).containsExactly(
                    "listener PreFork",   // PreFork runs in reverse order: the bridge subscribed last
                    "hook PreFork RESTORE readiness=REFUSING_TRAFFIC",
                    "qualified PostFork",
                    "listener PostFork",
                    "listener PostWorkerInit");
            assertThat(availability.getReadinessState()).isEqualTo(ReadinessState.ACCEPTING_TRAFFIC);
            assertThat(new ForksafeEndpoint(registry).status()).startsWith("{").contains("\"spring\"");
            Map<?, ?> spring = (Map<?, ?>) registry.status().details().get("spring");
            assertThat(spring.get("hookBeans").toString()).contains("quiesce -> PreFork", "onlyPostFork -> PostFork");
            assertThat(spring.get("readiness").toString()).contains("REFUSING_TRAFFIC", "PreFork (restored-1)",
                    "PostWorkerInit (restored-1)");
        });
    }

    @Test
    void aHookBeanWithoutAnEventTypeFailsTheStartNamingTheFix() {
        runner.withUserConfiguration(UntypedHook.class).run(context -> assertThat(context).hasFailed()
                .getFailure().rootCause().hasMessageContaining("ForkHook bean 'untyped'")
                .hasMessageContaining("@ForkHookEvent(PostFork.class)"));
    }

    @Test
    void propertiesBecomeForksafeSettings() {
        runner.withPropertyValues("forksafe.status.allow-remote=true", "forksafe.graceful-stop=false")
                .run(context -> {
                    ForkRegistry registry = context.getBean(ForkRegistry.class);
                    assertThat(registry.setting("forksafe.status.allowRemote", "?")).isEqualTo("true");
                    assertThat(registry.setting("forksafe.gracefulStop", "?")).isEqualTo("false");
                });
    }

    @Test
    void spring3FailsTheStartNamingTheFix() {
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> ForksafeAutoConfiguration.requireBoot4("3.5.7"))
                .hasMessageContaining("needs Spring Boot 4.0.x").hasMessageContaining("3.5.7");
        ForksafeAutoConfiguration.requireBoot4("4.0.7");
    }

    @Test
    void forksafeEnabledFalseTurnsEverythingOff() {
        runner.withPropertyValues("forksafe.enabled=false")
                .run(context -> assertThat(context).doesNotHaveBean(ForkRegistry.class));
    }

    @Test
    void aMeterBinderSendsTheWorkersMetersToTheArbiterWhenMicrometerIsPresent() {
        runner.run(context -> assertThat(context).hasSingleBean(io.forksafe.arbiter.ArbiterMetricsBinder.class));
        runner.withClassLoader(new org.springframework.boot.test.context.FilteredClassLoader(
                        io.micrometer.core.instrument.binder.MeterBinder.class))
                .run(context -> assertThat(context).doesNotHaveBean(io.forksafe.arbiter.ArbiterMetricsBinder.class));
    }
}
