package io.forksafe.internal;

import io.forksafe.ForkRegistry;
import io.forksafe.spi.HostContext;

import java.util.Objects;
import java.util.function.Function;

/**
 * The bridge from {@link HostContext#of} to the registry's own host context, which {@link ForkRegistry} installs when
 * it is initialized (the JDK's {@code SharedSecrets} pattern: the SPI needs the registry's non-public side, which
 * lives in another package). Not API.
 */
public final class HostAccess {

    private static volatile Function<ForkRegistry, HostContext> hostOf;

    private HostAccess() {
    }

    /** Called once, by ForkRegistry's static initializer. */
    public static void install(Function<ForkRegistry, HostContext> access) {
        synchronized (HostAccess.class) {
            if (hostOf != null) {
                throw new IllegalStateException("the host access is installed by ForkRegistry, once");
            }
            hostOf = Objects.requireNonNull(access);
        }
    }

    public static HostContext of(ForkRegistry registry) {
        Objects.requireNonNull(registry, "registry must not be null");
        return hostOf.apply(registry); // set: a ForkRegistry instance exists, so its class was initialized
    }
}
