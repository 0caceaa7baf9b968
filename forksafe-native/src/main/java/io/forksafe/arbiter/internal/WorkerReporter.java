package io.forksafe.arbiter.internal;

import io.forksafe.ForkRegistry;

import java.util.concurrent.TimeUnit;
import java.util.function.LongSupplier;
import java.util.function.Predicate;

/**
 * The worker side of {@link WorkerReport}: sends the registry's report lines over a control channel when they differ
 * from what was last sent. Errors and failing hooks go at once (a worker dying at boot must say why first); the
 * summary lines (hook runs by event type, notes), which change with every worker thread, at most once a
 * {@link #SUMMARY_INTERVAL_NANOS}: a change inside that interval waits for a later check. Used by the arbiter's
 * workers and by restored preload copies.
 */
public final class WorkerReporter {

    /** The shortest time between two sends of the summary lines. */
    static final long SUMMARY_INTERVAL_NANOS = TimeUnit.SECONDS.toNanos(1);

    private static final String NOTHING_SENT_ERRORS = WorkerReport.NONE.errorsLine();
    private static final String NOTHING_SENT_HOOK_FAILURES = WorkerReport.NONE.hookFailuresLine();
    private static final String NOTHING_SENT_HOOKS = WorkerReport.NONE.hooksLine();
    private static final String NOTHING_SENT_NOTES = WorkerReport.NONE.notesLine();

    private final ForkRegistry registry;
    private final Predicate<String> send;
    private final LongSupplier nanoClock;
    private String sentErrors = NOTHING_SENT_ERRORS;
    private String sentHookFailures = NOTHING_SENT_HOOK_FAILURES;
    private String sentHooks = NOTHING_SENT_HOOKS;
    private String sentNotes = NOTHING_SENT_NOTES;
    private long summarySentAtNanos;
    private boolean summarySent;

    /**
     * @param send writes one line to the control channel; returns false if it could not (it is tried again at
     *             the next check)
     */
    public WorkerReporter(ForkRegistry registry, Predicate<String> send) {
        this(registry, send, System::nanoTime);
    }

    WorkerReporter(ForkRegistry registry, Predicate<String> send, LongSupplier nanoClock) {
        this.registry = registry;
        this.send = send;
        this.nanoClock = nanoClock;
    }

    /** Sends the report lines that changed since the last call (the summary lines only if due). Never throws. */
    public synchronized void reportIfChanged() {
        report(false);
    }

    /** Sends every line that changed, the summary lines too, whenever they were last sent (a worker's exit). */
    public synchronized void flush() {
        report(true);
    }

    private void report(boolean force) {
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
        String hookFailures = r.hookFailuresLine();
        if (!hookFailures.equals(sentHookFailures) && send.test(hookFailures)) {
            sentHookFailures = hookFailures;
        }
        String hooks = r.hooksLine();
        String notes = r.notesLine();
        boolean changed = !hooks.equals(sentHooks) || !notes.equals(sentNotes);
        long now = nanoClock.getAsLong();
        if (changed && (force || !summarySent || now - summarySentAtNanos >= SUMMARY_INTERVAL_NANOS)) {
            summarySent = true;
            summarySentAtNanos = now;
            if (!hooks.equals(sentHooks) && send.test(hooks)) {
                sentHooks = hooks;
            }
            if (!notes.equals(sentNotes) && send.test(notes)) {
                sentNotes = notes;
            }
        }
    }

    /** Forgets what was sent: the next check sends everything (a new connection to a peer that knows nothing). */
    public synchronized void reset() {
        sentErrors = NOTHING_SENT_ERRORS;
        sentHookFailures = NOTHING_SENT_HOOK_FAILURES;
        sentHooks = NOTHING_SENT_HOOKS;
        sentNotes = NOTHING_SENT_NOTES;
        summarySent = false;
    }
}
