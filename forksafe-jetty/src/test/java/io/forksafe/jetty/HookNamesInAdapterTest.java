package io.forksafe.jetty;

import io.forksafe.ForkRegistry;
import io.forksafe.PostFork;
import io.forksafe.jetty.internal.JettyContainerAdapter;

import org.junit.jupiter.api.Test;

import java.lang.reflect.Method;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * An adapter's classes count as forksafe's own code when a hook is named after where it was subscribed; this
 * module's tests, in the same packages, do not.
 */
class HookNamesInAdapterTest {

    /** Core's internal package is not exported to this module: reach the check at run time, as forksafe does. */
    private static boolean isForksafeCode(Class<?> type) throws Exception {
        Method check = Class.forName("io.forksafe.internal.HookNames").getMethod("isForksafeCode", Class.class);
        return (boolean) check.invoke(null, type);
    }

    @Test
    void theAdaptersClassesAreForksafesOwnItsTestsAreNot() throws Exception {
        assertThat(isForksafeCode(ForksafeJetty.class)).isTrue();
        assertThat(isForksafeCode(ForksafeThreadPool.class)).isTrue();
        assertThat(isForksafeCode(JettyContainerAdapter.class)).isTrue();
        assertThat(isForksafeCode(HookNamesInAdapterTest.class)).isFalse();
        assertThat(isForksafeCode(JettyTestSupport.class)).isFalse();
    }

    @Test
    void aLambdaSubscribedHereIsNamedAfterThisTest() {
        String name = new ForkRegistry("jetty-names").subscribe(PostFork.class, e -> { }).name();
        assertThat(name).startsWith(HookNamesInAdapterTest.class.getName()
                + ".aLambdaSubscribedHereIsNamedAfterThisTest(HookNamesInAdapterTest.java:");
    }
}
