package io.forksafe.posix.testapp;

import io.forksafe.ForkEvent;
import io.forksafe.ForkRegistry;
import io.forksafe.PostFork;
import io.forksafe.spi.ForkHookProvider;

/**
 * Zero-code hooks for the process tests, loaded in the arbiter and in every worker: "testapp.counter" counts every
 * event (visible per event type in the status JSON), and with {@code TESTAPP_FAIL_POSTFORK=true} a PostFork hook
 * throws, which must make the worker exit with the boot-error code.
 */
public final class TestHooks implements ForkHookProvider {

    @Override
    public void subscribe(ForkRegistry registry) {
        registry.subscribe(ForkEvent.class, "testapp.counter", 0, e -> { });
        if ("true".equals(System.getenv("TESTAPP_FAIL_POSTFORK"))) {
            registry.subscribe(PostFork.class, "testapp.failing", 0, e -> {
                throw new IllegalStateException("testapp: PostFork hook fails on purpose (TESTAPP_FAIL_POSTFORK=true)");
            });
        }
    }
}
