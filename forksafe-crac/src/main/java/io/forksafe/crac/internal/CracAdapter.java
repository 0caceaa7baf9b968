package io.forksafe.crac.internal;

import io.forksafe.spi.HostContext;
import io.forksafe.ContainerInfo;
import io.forksafe.ForkRegistry;
import io.forksafe.spi.ContainerAdapter;

/** Lets {@code Forksafe.autoconfigure()} install the CRaC bridge when the JVM has a CRaC implementation. */
public final class CracAdapter implements ContainerAdapter {

    @Override
    public String name() {
        return "crac";
    }

    @Override
    public Detection detect() {
        CracDetection d = CracDetection.detect();
        if (!d.available()) {
            return Detection.notAvailable(d.reason() + "; call ForksafeCrac.install() to record the no-op in the status");
        }
        return Detection.available(ContainerInfo.of("crac", d.implementation() + " on " + Runtime.version()));
    }

    @Override
    public void configure(HostContext host) {
        ForkRegistry registry = host.registry();
        RestoreBridge.install(registry, false);
    }
}
