package io.forksafe.arbiter.internal;

import java.util.Locale;

/**
 * Why a worker (or a standby) ended: the cause the arbiter logs, shows in the status ({@code exitCause} of an ended
 * worker, {@code exitsByCause} of the arbiter) and counts in its metrics. Every worker that ends has exactly one.
 * Not API.
 */
public enum ExitCause {
    /** It exited without being asked: a crash, a kill from outside, or the application's own exit. */
    EXITED,
    /** It was not ready within {@code --boot-timeout}: aborted (thread dump) and replaced. */
    BOOT_TIMEOUT,
    /** It stopped sending heartbeats for {@code --timeout}: aborted (thread dump) and replaced. */
    HEARTBEAT_TIMEOUT,
    /** A request ran longer than {@code --request-timeout}: aborted (thread dump) and replaced. */
    REQUEST_TIMEOUT,
    /** It served {@code --max-requests} (plus its jitter): recycled, its replacement served first. */
    MAX_REQUESTS,
    /** Its resident memory went above {@code --max-rss}: recycled, its replacement served first. */
    MAX_RSS,
    /** A reload (SIGHUP) replaced it with a new generation. */
    RELOAD,
    /** Its slot was removed (SIGTTOU, a smaller {@code workers} count). */
    SCALED_DOWN,
    /** A standby that could not be promoted. */
    PROMOTION_FAILED,
    /** The arbiter stopped. */
    SHUTDOWN;

    /** The lower-case name, as metric labels and the log use it ("heartbeat_timeout"). */
    public String label() {
        return name().toLowerCase(Locale.ROOT);
    }

    /** Whether the arbiter asked the worker to end (every cause but {@link #EXITED}). */
    public boolean requested() {
        return this != EXITED;
    }
}
