package io.forksafe.spring;

import io.forksafe.ForkRegistry;
import io.forksafe.Forksafe;
import io.forksafe.spi.HostContext;
import io.forksafe.spring.internal.HikariPools;
import io.forksafe.spring.internal.JettyIntegration;
import io.forksafe.spring.internal.PreloadTemplateReadiness;
import io.forksafe.spring.internal.SpringBridge;
import io.forksafe.spring.internal.StopServingFirst;
import io.forksafe.spring.internal.TomcatIntegration;

import org.springframework.beans.factory.ObjectProvider;
import org.springframework.boot.SpringBootVersion;
import org.springframework.beans.factory.config.ConfigurableListableBeanFactory;
import org.springframework.boot.actuate.autoconfigure.endpoint.condition.ConditionalOnAvailableEndpoint;
import org.springframework.boot.autoconfigure.AutoConfiguration;
import org.springframework.boot.autoconfigure.condition.ConditionalOnBooleanProperty;
import org.springframework.boot.autoconfigure.condition.ConditionalOnClass;
import org.springframework.boot.autoconfigure.condition.ConditionalOnMissingBean;
import org.springframework.boot.autoconfigure.condition.ConditionalOnWebApplication;
import org.springframework.boot.context.properties.EnableConfigurationProperties;
import org.springframework.context.ApplicationContext;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;

/**
 * The forksafe starter's auto-configuration; adding {@code io.forksafe:forksafe-spring-boot} is all an application
 * does. It provides:
 * <ul>
 *   <li>the {@link ForkRegistry} bean: {@link Forksafe#registry()}, with the {@code forksafe.*} properties applied,
 *       then {@link ForkRegistry#autoconfigure()} (an arbiter worker or restored copy is identified here);</li>
 *   <li>the embedded server's adapter: Jetty ({@code spring-boot-starter-jetty}) or Tomcat (with
 *       {@code forksafe-tomcat}): worker-thread events, the arbiter's socket, PostWorkerInit once the server
 *       serves, WorkerExit when it stops;</li>
 *   <li>{@code HikariPoolRecipe} on every {@code HikariDataSource} bean;</li>
 *   <li>every {@link io.forksafe.ForkHook} bean subscribed (see {@link ForkHookEvent}), and forksafe events published
 *       into the context for {@code @EventListener} methods;</li>
 *   <li>readiness {@code REFUSING_TRAFFIC} from a PreFork of this process until its PostWorkerInit;</li>
 *   <li>the Actuator endpoint {@link ForksafeEndpoint} ({@code /actuator/forksafe}) when Actuator is present.</li>
 * </ul>
 *
 * <pre>{@code
 * @Bean
 * ForkHook<PostFork> reseed(SecureRandom random) {
 *     return e -> random.setSeed(SecureRandom.getSeed(32));
 * }
 * }</pre>
 */
@AutoConfiguration
@ConditionalOnBooleanProperty(name = "forksafe.enabled", matchIfMissing = true)
@EnableConfigurationProperties(ForksafeProperties.class)
public class ForksafeAutoConfiguration {

    /** The process-wide registry, configured from {@code forksafe.*} and autoconfigured. */
    @Bean
    @ConditionalOnMissingBean
    public ForkRegistry forksafeRegistry(ForksafeProperties properties) {
        requireBoot4(SpringBootVersion.getVersion());
        ForkRegistry registry = Forksafe.registry();
        HostContext.of(registry).putSettings(properties.coreSettings());
        registry.autoconfigure(ForksafeAutoConfiguration.class.getClassLoader());
        return registry;
    }

    /**
     * Boot 3 keeps the embedded servers in other packages: there the server adapters would silently not install, so
     * the start fails instead, naming the fix.
     */
    static void requireBoot4(String version) {
        if (version != null && !version.startsWith("4.")) {
            throw new IllegalStateException("forksafe-spring-boot needs Spring Boot 4.0.x, this application runs "
                    + "Spring Boot " + version + ": upgrade to Boot 4, or use forksafe's adapters directly "
                    + "(ForksafeJetty.install, ForksafeTomcat.customize, HikariPoolRecipe.install) on Boot 3");
        }
    }

    /** Hook beans, the event bridge, readiness and the {@code spring} status section. */
    @Bean
    public SpringBridge forksafeSpringBridge(ForkRegistry registry, ForksafeProperties properties,
                                             ApplicationContext context, ConfigurableListableBeanFactory beanFactory) {
        return new SpringBridge(registry, properties, context, beanFactory);
    }

    /** The preload template's checkpoint waits for ApplicationReadyEvent. */
    @Bean
    public PreloadTemplateReadiness forksafePreloadTemplateReadiness(ForkRegistry registry) {
        return new PreloadTemplateReadiness(registry);
    }

    /** HikariCP pools: present when HikariCP is. */
    @Configuration(proxyBeanMethods = false)
    @ConditionalOnClass(name = {"com.zaxxer.hikari.HikariDataSource", "io.forksafe.hikari.HikariPoolRecipe"})
    static class Hikari {

        @Bean
        static HikariPools forksafeHikariPools(ObjectProvider<ForkRegistry> registry,
                                               ObjectProvider<ForksafeProperties> properties) {
            return new HikariPools(registry, properties);
        }
    }

    /**
     * Micrometer: under the forksafe arbiter, the worker's meters reach the arbiter's {@code /metrics}, labelled by
     * worker (Boot binds every {@code MeterBinder} bean to its meter registry; outside the arbiter it does nothing).
     */
    @Configuration(proxyBeanMethods = false)
    @ConditionalOnClass(name = "io.micrometer.core.instrument.binder.MeterBinder")
    static class Metrics {

        @Bean
        @ConditionalOnMissingBean
        io.forksafe.arbiter.ArbiterMetricsBinder forksafeArbiterMetrics(ForkRegistry registry) {
            return new io.forksafe.arbiter.ArbiterMetricsBinder(registry);
        }
    }

    /** Boot's embedded Jetty (spring-boot-starter-jetty). */
    @Configuration(proxyBeanMethods = false)
    @ConditionalOnWebApplication(type = ConditionalOnWebApplication.Type.SERVLET)
    @ConditionalOnClass(name = {"org.springframework.boot.jetty.servlet.JettyServletWebServerFactory",
            "org.eclipse.jetty.server.Server", "io.forksafe.jetty.ForksafeJetty"})
    static class Jetty {

        @Bean
        JettyIntegration forksafeJetty(ForkRegistry registry, SpringBridge bridge) {
            return new JettyIntegration(registry, bridge);
        }

        @Bean
        StopServingFirst forksafeJettyStopServingFirst(ApplicationContext context) {
            return new StopServingFirst(context, JettyIntegration::stopServing);
        }
    }

    /** Boot's embedded Tomcat (spring-boot-starter-tomcat, Boot's default server). */
    @Configuration(proxyBeanMethods = false)
    @ConditionalOnWebApplication(type = ConditionalOnWebApplication.Type.SERVLET)
    @ConditionalOnClass(name = {"org.springframework.boot.tomcat.servlet.TomcatServletWebServerFactory",
            "org.apache.catalina.startup.Tomcat", "io.forksafe.tomcat.ForksafeTomcat"})
    static class Tomcat {

        @Bean
        TomcatIntegration forksafeTomcat(ForkRegistry registry, SpringBridge bridge) {
            return new TomcatIntegration(registry, bridge);
        }

        @Bean
        StopServingFirst forksafeTomcatStopServingFirst(ApplicationContext context) {
            return new StopServingFirst(context, TomcatIntegration::stopServing);
        }
    }

    /** {@code /actuator/forksafe}, when Actuator is present and the endpoint is available. */
    @Configuration(proxyBeanMethods = false)
    @ConditionalOnClass(name = "org.springframework.boot.actuate.endpoint.annotation.Endpoint")
    static class Actuator {

        @Bean
        @ConditionalOnMissingBean
        @ConditionalOnAvailableEndpoint
        ForksafeEndpoint forksafeEndpoint(ForkRegistry registry) {
            return new ForksafeEndpoint(registry);
        }
    }
}
