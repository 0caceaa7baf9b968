package io.forksafe.arbiter.testapp;

import io.forksafe.spi.HostContext;
import io.forksafe.ForkEvent;
import io.forksafe.ForkRegistry;
import io.forksafe.PostFork;
import io.forksafe.PostWorkerInit;
import io.forksafe.spi.ForkHookProvider;

/**
 * Zero-code hooks for the process tests, loaded in the arbiter and in every worker: "testapp.counter" counts every
 * event (visible per event type in the status JSON), and with {@code TESTAPP_FAIL_POSTFORK=true} a PostFork hook
 * throws, which must make the worker exit with the boot-error code. With {@code TESTAPP_REPORT_ERROR=true} the worker
 * reports a configuration error and a note (while its providers load, before it connects to the arbiter; in a preload template,
 * before the checkpoint), and with {@code TESTAPP_FAIL_POSTWORKERINIT=true} a PostWorkerInit hook throws in a worker
 * (slot 1 or more: arbiter workers and preload copies, not the template; {@code =2}: in slot 2 only); both texts are
 * hostile (quotes, a newline, {@code <script>}, {@code %}, commas), as {@link #HOSTILE}. With
 * {@code TESTAPP_METRICS=true} a worker exports Micrometer meters to the arbiter ({@link AppMeters}).
 */
public final class TestHooks implements ForkHookProvider {

    /** Text that must not break the control channel, the JSON status or the one-line text dump. */
    public static final String HOSTILE = "bad \"setting\", 100% ~\nsecond line\r\n<script>alert(1)</script> \u2028end";

    @Override
    public void subscribe(ForkRegistry registry) {
        registry.subscribe(ForkEvent.class, "testapp.counter", 0, e -> { });
        if ("true".equals(System.getenv("TESTAPP_FAIL_POSTFORK"))) {
            registry.subscribe(PostFork.class, "testapp.failing", 0, e -> {
                throw new IllegalStateException("testapp: PostFork hook fails on purpose (TESTAPP_FAIL_POSTFORK=true)");
            });
        }
        if ("true".equals(System.getenv("TESTAPP_REPORT_ERROR"))) {
            HostContext.of(registry).reportError("testapp", HOSTILE);
            HostContext.of(registry).note("testapp.note", "a note: " + HOSTILE);
        }
        if ("true".equals(System.getenv("TESTAPP_METRICS"))) {
            registry.subscribe(PostWorkerInit.class, "testapp.metrics", 0, e -> {
                if (e.worker().slot() > 0) {
                    AppMeters.bind(registry, e.worker().slot());
                }
            });
        }
        String failInit = System.getenv("TESTAPP_FAIL_POSTWORKERINIT");
        if ("true".equals(failInit) || (failInit != null && failInit.matches("\\d+"))) {
            registry.subscribe(PostWorkerInit.class, "testapp.failing-init", 0, e -> {
                // not in a preload template (slot 0), which must get warm; a number: only in that slot
                if (e.worker().slot() > 0 && (failInit.equals("true") || failInit.equals(String.valueOf(e.worker().slot())))) {
                    throw new IllegalStateException("testapp: PostWorkerInit fails on purpose: " + HOSTILE);
                }
            });
        }
    }
}
