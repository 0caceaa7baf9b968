package io.forksafe.arbiter.internal;

import java.io.Closeable;
import java.io.IOException;

/** Closing on the way out, where a failure to close changes nothing the caller could act on. */
public final class Closing {

    private Closing() {
    }

    /** Closes {@code c} (if not null), ignoring an {@link IOException}. */
    public static void quietly(Closeable c) {
        if (c == null) {
            return;
        }
        try {
            c.close();
        } catch (IOException ignored) {
            // already closed, or closing anyway
        }
    }
}
