package io.forksafe.arbiter;

/**
 * The arbiter could not start because its first worker failed to boot: in {@code --preload} mode the template did
 * not become ready, its {@code PreFork} hooks failed, or CRIU could not dump it. The message says why and names the
 * fix. The command line exits with 3, gunicorn's worker boot error.
 *
 * <pre>{@code
 * try {
 *     arbiter.start();
 * } catch (WorkerBootException e) {
 *     System.err.println(e.getMessage());   // e.g. "the template's PreFork hooks failed, so it was not checkpointed: ..."
 * }
 * }</pre>
 */
public final class WorkerBootException extends RuntimeException {

    private static final long serialVersionUID = 1L;

    /** A boot failure with its reason. */
    public WorkerBootException(String message, Throwable cause) {
        super(message, cause);
    }
}
