package io.forksafe.spring.internal;

import com.zaxxer.hikari.HikariDataSource;

import io.forksafe.ForkRegistry;
import io.forksafe.hikari.HikariPoolRecipe;
import io.forksafe.spring.ForksafeProperties;

import java.util.ArrayList;
import java.util.List;

import org.springframework.beans.factory.DisposableBean;
import org.springframework.beans.factory.ObjectProvider;
import org.springframework.beans.factory.config.BeanPostProcessor;

/**
 * Installs {@link HikariPoolRecipe} on every {@link HikariDataSource} bean once Boot has bound its properties, turning
 * on {@code allowPoolSuspension} (the recipe needs it; Boot leaves it off) while the pool has not started yet.
 * Not API.
 */
public final class HikariPools implements BeanPostProcessor, DisposableBean {

    private final ObjectProvider<ForkRegistry> registry;
    private final ObjectProvider<ForksafeProperties> properties;
    private final List<HikariPoolRecipe> recipes = new ArrayList<>();

    public HikariPools(ObjectProvider<ForkRegistry> registry, ObjectProvider<ForksafeProperties> properties) {
        this.registry = registry;
        this.properties = properties;
    }

    @Override
    public Object postProcessAfterInitialization(Object bean, String beanName) {
        if (!(bean instanceof HikariDataSource pool)) {
            return bean;
        }
        ForksafeProperties.Hikari settings = properties.getObject().getHikari();
        if (!settings.isEnabled()) {
            return bean;
        }
        if (!pool.isAllowPoolSuspension()) {
            try {
                pool.setAllowPoolSuspension(true);
            } catch (IllegalStateException sealed) {
                throw new IllegalStateException("forksafe: HikariDataSource bean '" + beanName + "' was started "
                        + "before forksafe could allow its suspension, which its fork recipe needs. Set "
                        + "spring.datasource.hikari.allow-pool-suspension=true (or setAllowPoolSuspension(true) where "
                        + "you build it), or turn the recipe off with forksafe.hikari.enabled=false", sealed);
            }
        }
        if (pool.getPoolName() == null) {
            pool.setPoolName(beanName);
        }
        synchronized (recipes) {
            recipes.add(HikariPoolRecipe.install(registry.getObject(), pool, settings.getDrainTimeout()));
        }
        return bean;
    }

    @Override
    public void destroy() {
        synchronized (recipes) {
            recipes.forEach(HikariPoolRecipe::close);
            recipes.clear();
        }
    }
}
