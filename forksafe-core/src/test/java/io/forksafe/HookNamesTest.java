package io.forksafe;

import io.forksafe.internal.HookNames;
import io.forksafe.recipes.RandomReseed;
import io.forksafe.testing.ForkSimulator;

import org.junit.jupiter.api.Test;

import java.lang.reflect.Method;

import static org.assertj.core.api.Assertions.assertThat;

/** A hook subscribed without a name is named after its class, or, for a lambda, after where it was subscribed. */
class HookNamesTest {

    private final ForkRegistry registry = new ForkRegistry("hook-names");

    /** The line of the caller: call it on the same line as the subscribe. */
    private static int line() {
        return StackWalker.getInstance().walk(s -> s.skip(1).findFirst().orElseThrow().getLineNumber());
    }

    private static String at(String method, int line) {
        return HookNamesTest.class.getName() + "." + method + "(HookNamesTest.java:" + line + ")";
    }

    private void onPostFork(PostFork event) {
    }

    static final class NamedHook implements ForkHook<PostFork> {
        @Override
        public void onEvent(PostFork event) {
        }
    }

    @Test
    void aLambdaIsNamedAfterWhereItWasSubscribed() {
        Subscription s = registry.subscribe(PostFork.class, e -> { }); int line = line();
        assertThat(s.name()).isEqualTo(at("aLambdaIsNamedAfterWhereItWasSubscribed", line));
    }

    @Test
    void aMethodReferenceIsNamedAfterWhereItWasSubscribed() {
        Subscription s = registry.subscribe(PostFork.class, 5, this::onPostFork); int line = line();
        assertThat(s.name()).isEqualTo(at("aMethodReferenceIsNamedAfterWhereItWasSubscribed", line));
    }

    @Test
    void anAnonymousClassIsNamedAfterWhereItWasSubscribed() {
        ForkHook<PostFork> anonymous = new ForkHook<>() {
            @Override
            public void onEvent(PostFork event) {
            }
        };
        Subscription s = registry.subscribe(PostFork.class, anonymous); int line = line();
        assertThat(s.name()).isEqualTo(at("anAnonymousClassIsNamedAfterWhereItWasSubscribed", line));
    }

    @Test
    void aNamedClassKeepsItsClassName() {
        assertThat(registry.subscribe(PostFork.class, new NamedHook()).name()).isEqualTo(NamedHook.class.getName());
    }

    @Test
    void anExplicitNameWins() {
        assertThat(registry.subscribe(PostFork.class, " pool ", 0, e -> { }).name()).isEqualTo("pool");
        Subscription blank = registry.subscribe(PostFork.class, " ", 0, e -> { }); int line = line();
        assertThat(blank.name()).as("blank means none").isEqualTo(at("anExplicitNameWins", line));
    }

    @Test
    void throughForksafeSubscribeTheCallerIsNamedNotForksafe() {
        try (Subscription s = Forksafe.subscribe(PostFork.class, e -> { })) { int line = line();
            assertThat(s.name()).isEqualTo(at("throughForksafeSubscribeTheCallerIsNamedNotForksafe", line));
        }
    }

    @Test
    void jdkFramesBetweenTheCallerAndForksafeAreSkipped() throws Exception {
        Method subscribe = ForkRegistry.class.getMethod("subscribe", Class.class, ForkHook.class);
        ForkHook<PostFork> hook = e -> { };
        Subscription s = (Subscription) subscribe.invoke(registry, PostFork.class, hook); int line = line();
        assertThat(s.name()).isEqualTo(at("jdkFramesBetweenTheCallerAndForksafeAreSkipped", line));
    }

    @Test
    void theNamedLambdaRunsAndShowsInTheStatusUnderItsName() {
        int[] runs = new int[1];
        Subscription s = registry.subscribe(PostFork.class, e -> runs[0]++);
        ForkSimulator.of(registry).simulateWorker(WorkerKind.PROCESS, 1);
        assertThat(runs[0]).isEqualTo(1);
        assertThat(registry.status().toJson()).contains(s.name()).doesNotContain("$$Lambda");
    }

    @Test
    void forksafesOwnCodeIsToldApartFromTestsInTheSamePackages() {
        assertThat(HookNames.isForksafeCode(ForkRegistry.class)).isTrue();
        assertThat(HookNames.isForksafeCode(Forksafe.class)).isTrue();
        assertThat(HookNames.isForksafeCode(HookNames.class)).isTrue();
        assertThat(HookNames.isForksafeCode(RandomReseed.class)).isTrue();
        assertThat(HookNames.isForksafeCode(ForkSimulator.class)).isTrue();
        // tests and their helpers share forksafe's packages, but not its jar or classes directory
        assertThat(HookNames.isForksafeCode(HookNamesTest.class)).isFalse();
        assertThat(HookNames.isForksafeCode(TestWorkers.class)).isFalse();
        assertThat(HookNames.isForksafeCode(NamedHook.class)).isFalse();
        assertThat(HookNames.isForksafeCode(String.class)).isFalse();
        assertThat(HookNames.isForksafeCode(Test.class)).isFalse();
    }
}
