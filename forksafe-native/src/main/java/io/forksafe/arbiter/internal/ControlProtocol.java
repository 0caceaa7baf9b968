package io.forksafe.arbiter.internal;

/**
 * The worker-to-arbiter control channel: a Unix-domain stream socket in a private (0700) directory, one text line
 * per message. The arbiter writes only to promote a standby; a worker sees end-of-stream only when the arbiter is
 * gone.
 *
 * <pre>
 * hello &lt;pid&gt; &lt;slot&gt; &lt;generation&gt;   first line
 * beat                              every heartbeat interval
 * ready                             PostWorkerInit was published for this process
 * event &lt;EventName&gt;                a forksafe event ran in the worker
 * exiting &lt;reason&gt;                  WorkerExit is being published
 * errors [&lt;text&gt; ...]              the worker's configuration errors, all of them (see {@link WorkerReport})
 * hook-failures [&lt;s&gt;,&lt;e&gt;,&lt;n&gt;,&lt;err&gt; ...]  its hooks that failed, all of them (see {@link WorkerReport})
 * hooks [&lt;event&gt;,&lt;runs&gt;,&lt;failures&gt; ...]  its hook runs by event type (at most once a second)
 * notes [&lt;key&gt;,&lt;text&gt; ...]       its notes, all of them (at most once a second)
 * app-metrics [&lt;name&gt;,&lt;type&gt;,&lt;value&gt;[,&lt;label&gt;,&lt;value&gt;]* ...]  the application's metrics (see {@link AppMetrics})
 * standby                           a standby is booted: its server waits for the promotion
 * boot-error &lt;text&gt;                it cannot serve (a restored copy's PostFork failed, a promotion failed)
 * recycle max-requests &lt;count&gt;     it served its --max-requests (plus its jitter): replace it gracefully (once)
 * stuck &lt;ms&gt; &lt;thread&gt;             a request has run &lt;ms&gt;, longer than --request-timeout (started on that thread)
 *
 * arbiter to worker:
 * promote &lt;slot&gt; &lt;generation&gt;      a standby becomes worker-SLOT of that generation and starts serving
 * </pre>
 *
 * The four report lines are sent when they change (checked at each heartbeat, after each event and at exit; the
 * hooks and notes lines at most once a second); each replaces the previous one of its kind. Their fields are percent-encoded, so no message can break a line.
 */
public final class ControlProtocol {

    /** Environment variable: the arbiter's pid; its presence makes a JVM an arbiter worker. */
    public static final String ENV_ARBITER_PID = io.forksafe.spi.ArbiterContract.ENV_ARBITER_PID;
    /** Environment variable: the worker's stable slot (1..n). */
    public static final String ENV_SLOT = "FORKSAFE_WORKER_SLOT";
    /** Environment variable: the worker's generation in its slot (0, 1, ...). */
    public static final String ENV_GENERATION = "FORKSAFE_WORKER_GENERATION";
    /** Environment variable: the control socket path. */
    public static final String ENV_CONTROL = io.forksafe.spi.ArbiterContract.ENV_CONTROL;
    /** Environment variable: heartbeat interval in milliseconds. */
    public static final String ENV_HEARTBEAT_MILLIS = "FORKSAFE_ARBITER_HEARTBEAT_MS";
    /** Environment variable: the listening address, for logs ("127.0.0.1:8080"). */
    public static final String ENV_BIND = "FORKSAFE_ARBITER_BIND";

    /** Environment variable: set in a standby, its number (1..K); its slot is 0 until its promotion. */
    public static final String ENV_STANDBY = "FORKSAFE_ARBITER_STANDBY";
    /** Worker to arbiter: a standby is booted and waits for its promotion. */
    public static final String STANDBY = "standby";
    /** Arbiter to worker: "promote SLOT GENERATION". */
    public static final String PROMOTE = "promote";

    /** Worker to arbiter: "recycle max-requests COUNT", sent once. */
    public static final String RECYCLE_MAX_REQUESTS = "recycle max-requests";
    /** Worker to arbiter: "stuck MILLIS THREAD", its oldest request in flight is past the request timeout. */
    public static final String STUCK = "stuck";
    /** Environment variable: {@code --max-requests}, see {@link io.forksafe.spi.ArbiterContract#ENV_MAX_REQUESTS}. */
    public static final String ENV_MAX_REQUESTS = io.forksafe.spi.ArbiterContract.ENV_MAX_REQUESTS;
    /** Environment variable: {@code --max-requests-jitter}. */
    public static final String ENV_MAX_REQUESTS_JITTER = io.forksafe.spi.ArbiterContract.ENV_MAX_REQUESTS_JITTER;
    /** Environment variable: {@code --request-timeout} in milliseconds. */
    public static final String ENV_REQUEST_TIMEOUT_MILLIS = io.forksafe.spi.ArbiterContract.ENV_REQUEST_TIMEOUT_MILLIS;

    /** Environment variable: the arbiter's graceful timeout in milliseconds, for a server's own stop timeout. */
    public static final String ENV_GRACEFUL_MILLIS = io.forksafe.spi.ArbiterContract.ENV_GRACEFUL_MILLIS;

    /** Exit code of a worker that failed during boot (PostFork hook or main before readiness); as gunicorn. */
    public static final int BOOT_ERROR_EXIT = io.forksafe.spi.ArbiterContract.BOOT_ERROR_EXIT;

    private ControlProtocol() {
    }

    /** The name of standby {@code n} until its promotion ("standby-1"). */
    public static String standbyName(int n) {
        return "standby-" + n;
    }

    /**
     * Writes {@code line} and a newline to {@code channel}, whole (newlines inside it become spaces, so it stays one
     * line), under {@code lock} so that lines from several threads never interleave.
     *
     * @throws java.io.IOException if the channel is closed or broken
     */
    public static void writeLine(java.nio.channels.SocketChannel channel, Object lock, String line)
            throws java.io.IOException {
        java.nio.ByteBuffer buf = java.nio.ByteBuffer.wrap((line.replace('\n', ' ') + "\n")
                .getBytes(java.nio.charset.StandardCharsets.UTF_8));
        synchronized (lock) {
            while (buf.hasRemaining()) {
                channel.write(buf);
            }
        }
    }

    /**
     * {@link #writeLine} for a channel that may not be connected: returns null when the line was written, otherwise
     * why not ("not connected", or "control channel: " and the failure).
     */
    public static String trySend(java.nio.channels.SocketChannel channel, Object lock, String line) {
        if (channel == null) {
            return "not connected";
        }
        try {
            writeLine(channel, lock, line);
            return null;
        } catch (java.io.IOException e) {
            return "control channel: " + e;
        }
    }
}
