package io.forksafe.arbiter.internal;

import io.forksafe.ForkRegistry;

import java.util.function.Predicate;

/**
 * The worker side of {@link WorkerReport}: sends the registry's errors and failing hooks over a control channel
 * when they differ from what was last sent. Used by the arbiter's workers and by restored preload copies.
 */
public final class WorkerReporter {

    private static final String NOTHING_SENT_ERRORS = WorkerReport.NONE.errorsLine();
    private static final String NOTHING_SENT_HOOKS = WorkerReport.NONE.hookFailuresLine();

    private final ForkRegistry registry;
    private final Predicate<String> send;
    private String sentErrors = NOTHING_SENT_ERRORS;
    private String sentHooks = NOTHING_SENT_HOOKS;

    /**
     * @param send writes one line to the control channel; returns false if it could not (it is tried again at
     *             the next check)
     */
    public WorkerReporter(ForkRegistry registry, Predicate<String> send) {
        this.registry = registry;
        this.send = send;
    }

    /** Sends the report lines that changed since the last call. Never throws. */
    public synchronized void reportIfChanged() {
        WorkerReport r;
        try {
            r = WorkerReport.of(registry.status());
        } catch (RuntimeException e) {
            return; // a status detail supplier failed: the next check tries again
        }
        String errors = r.errorsLine();
        if (!errors.equals(sentErrors) && send.test(errors)) {
            sentErrors = errors;
        }
        String hooks = r.hookFailuresLine();
        if (!hooks.equals(sentHooks) && send.test(hooks)) {
            sentHooks = hooks;
        }
    }

    /** Forgets what was sent: the next check sends everything (a new connection to a peer that knows nothing). */
    public synchronized void reset() {
        sentErrors = NOTHING_SENT_ERRORS;
        sentHooks = NOTHING_SENT_HOOKS;
    }
}
