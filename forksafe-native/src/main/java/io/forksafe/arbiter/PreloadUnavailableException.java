package io.forksafe.arbiter;

/**
 * This machine cannot run the preload mode (checkpoint/restore with CRIU). The message names the missing piece and
 * how to provide it; the arbiter never falls back to spawning silently.
 *
 * <pre>{@code
 * try { Criu.requireUsable(); } catch (PreloadUnavailableException e) { System.err.println(e.getMessage()); }
 * }</pre>
 */
public final class PreloadUnavailableException extends IllegalStateException {

    private static final long serialVersionUID = 1L;

    /** @param missing the missing piece and its fix */
    public PreloadUnavailableException(String missing) {
        super("forksafe --preload cannot run here; missing: " + missing);
    }
}
