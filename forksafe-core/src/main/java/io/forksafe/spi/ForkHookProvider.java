package io.forksafe.spi;

import io.forksafe.ForkRegistry;

/**
 * Zero-code hook registration, the equivalent of Pyramid's {@code pyramid.includes}: a jar lists an implementation
 * in {@code META-INF/services/io.forksafe.spi.ForkHookProvider} (and {@code provides} in its module-info), and
 * forksafe calls it once per registry. A provider that fails to load or throws is reported in the status; the
 * others still load.
 *
 * <pre>{@code
 * public final class PoolHooks implements ForkHookProvider {
 *     public void subscribe(ForkRegistry registry) {
 *         registry.subscribe(PostFork.class, e -> Pools.softEvictAll());
 *     }
 * }
 * }</pre>
 */
public interface ForkHookProvider {

    /** Subscribes this provider's hooks. */
    void subscribe(ForkRegistry registry) throws Exception;
}
