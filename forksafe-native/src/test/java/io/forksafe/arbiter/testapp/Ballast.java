package io.forksafe.arbiter.testapp;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/**
 * Memory a test app allocates and keeps, touched so that it is resident: the {@code /alloc?mb=N} endpoint of
 * {@link TinyHttpWorker} and {@link PreloadApp}, to push a worker past {@code --max-rss}.
 *
 * <pre>{@code
 * long total = Ballast.allocate(256); // MiB kept in all
 * }</pre>
 */
public final class Ballast {

    private static final List<byte[]> KEPT = Collections.synchronizedList(new ArrayList<>());

    private Ballast() {
    }

    /** Allocates {@code mb} MiB more, touching every page, and keeps it; returns the MiB kept in all. */
    public static int allocate(int mb) {
        for (int i = 0; i < mb; i++) {
            byte[] block = new byte[1024 * 1024];
            for (int j = 0; j < block.length; j += 4096) {
                block[j] = 1;
            }
            KEPT.add(block);
        }
        return KEPT.size();
    }

    /** The MiB of {@code "...mb=N..."} in a request path. */
    public static int megabytes(String path) {
        return Integer.parseInt(path.substring(path.indexOf("mb=") + 3).split("[&\\s]")[0]);
    }
}
