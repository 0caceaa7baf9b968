package io.forksafe.crac;

import io.forksafe.ForkRegistry;

import org.crac.Context;
import org.crac.Core;
import org.crac.Resource;
import org.junit.jupiter.api.Test;

import java.lang.ref.WeakReference;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * CRaC's global context holds resources weakly (org.crac wraps each in a WeakReference). A resource nobody else
 * holds disappears at the next GC and then silently misses the checkpoint; forksafe's must not.
 */
class StrongReferenceTest {

    @Test
    void theRegistryKeepsTheResourceAliveAfterTheCallerDropsIt() {
        ForkRegistry registry = new ForkRegistry("crac-gc");
        WeakReference<Resource> ours = new WeakReference<>(ForksafeCrac.install(registry).resource());
        WeakReference<Resource> plain = new WeakReference<>(registerPlainResource());

        long deadline = System.nanoTime() + 10_000_000_000L;
        while (plain.get() != null && System.nanoTime() < deadline) {
            System.gc();
            Thread.onSpinWait();
        }
        // the control: a resource held only by CRaC's global context is gone...
        assertThat(plain.get()).as("a resource only org.crac holds is collected").isNull();
        // ...forksafe's is still there, because the registry holds it
        assertThat(ours.get()).as("forksafe's resource survives GC").isNotNull();
        assertThat(registry.status().details()).containsKey("crac");
    }

    private static Resource registerPlainResource() {
        Resource r = new Resource() {
            @Override
            public void beforeCheckpoint(Context<? extends Resource> context) {
            }

            @Override
            public void afterRestore(Context<? extends Resource> context) {
            }
        };
        Core.getGlobalContext().register(r);
        return r;
    }
}
