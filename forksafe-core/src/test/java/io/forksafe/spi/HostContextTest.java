package io.forksafe.spi;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.forksafe.ContainerInfo;
import io.forksafe.ForkHookException;
import io.forksafe.ForkRegistry;
import io.forksafe.PostFork;
import io.forksafe.WorkerInfo;

import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;

/** The host SPI: one context per registry, registry-owned adapter state, and a user API without host operations. */
class HostContextTest {

    @Test
    void oneContextPerRegistryPublishingToIt() {
        ForkRegistry a = new ForkRegistry("a");
        ForkRegistry b = new ForkRegistry("b");
        assertThat(HostContext.of(a)).isSameAs(HostContext.of(a)).isNotSameAs(HostContext.of(b));
        assertThat(HostContext.of(a).registry()).isSameAs(a);
        List<String> seen = new ArrayList<>();
        a.subscribe(PostFork.class, e -> seen.add(e.worker().name()));
        a.subscribe(PostFork.class, e -> {
            throw new IllegalStateException("a failing hook");
        });
        WorkerInfo w = WorkerInfo.currentProcess(1, "worker-1", 0);
        assertThatThrownBy(() -> HostContext.of(a).postFork(w, ContainerInfo.of("myhost", "1")))
                .isInstanceOf(ForkHookException.class);
        assertThat(seen).containsExactly("worker-1"); // the other hook still ran
        HostContext.of(a).identifyProcess(w);
        assertThat(a.processWorker()).isEqualTo(w);
        assertThat(b.processWorker()).isNotEqualTo(w);
        HostContext.of(a).reportError("myhost", "no listener: add one");
        assertThat(a.status().status()).isEqualTo("myhost error: no listener: add one");
        assertThat(b.status().errors()).isEmpty();
    }

    static final class Attachment {
        int uses;
    }

    @Test
    void adapterStateLivesInItsRegistry() {
        ForkRegistry a = new ForkRegistry("a");
        ForkRegistry b = new ForkRegistry("b");
        Attachment first = HostContext.of(a).state(Attachment.class, Attachment::new);
        first.uses++;
        assertThat(HostContext.of(a).state(Attachment.class, () -> {
            throw new AssertionError("created once per registry");
        })).isSameAs(first);
        Attachment other = HostContext.of(b).state(Attachment.class, Attachment::new);
        assertThat(other).isNotSameAs(first);
        assertThat(other.uses).isZero();
        assertThatThrownBy(() -> HostContext.of(a).state(String.class, () -> null))
                .isInstanceOf(NullPointerException.class).hasMessageContaining("returned null");
    }

    @Test
    void theUserApiHasNoHostOperations() {
        Set<String> publicMethods = new TreeSet<>();
        for (Method m : ForkRegistry.class.getDeclaredMethods()) {
            if (Modifier.isPublic(m.getModifiers())) {
                publicMethods.add(m.getName());
            }
        }
        Set<String> hostOnly = new TreeSet<>();
        Arrays.stream(HostContext.class.getDeclaredMethods()).filter(m -> !Modifier.isStatic(m.getModifiers()))
                .map(Method::getName).filter(n -> !n.equals("registry")).forEach(hostOnly::add);
        assertThat(hostOnly).contains("postFork", "reportError", "statusDetail", "identifyProcess", "publish");
        assertThat(publicMethods).as("ForkRegistry's public methods").doesNotContainAnyElementsOf(hostOnly)
                .contains("subscribe", "status", "processWorker", "markConfigured", "autoconfigure");
    }
}
