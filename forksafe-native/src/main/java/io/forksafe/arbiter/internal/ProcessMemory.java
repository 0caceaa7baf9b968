package io.forksafe.arbiter.internal;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * A process's resident memory, as the kernel counts it ({@code VmRSS} in {@code /proc/PID/status}): what the
 * status shows per worker and what {@code --max-rss} compares. Linux only; elsewhere, or for a process that is gone,
 * unknown. Not API.
 */
public final class ProcessMemory {

    private ProcessMemory() {
    }

    /** The resident set size of {@code pid} in bytes, or -1 if unknown (no such process, no {@code /proc}). */
    public static long rssBytes(long pid) {
        if (pid <= 0) {
            return -1;
        }
        try {
            return parseVmRss(Files.readString(Path.of("/proc", Long.toString(pid), "status"),
                    StandardCharsets.ISO_8859_1));
        } catch (IOException | RuntimeException e) {
            return -1;
        }
    }

    /** The {@code VmRSS:  1234 kB} line of a {@code /proc/PID/status} text, in bytes; -1 if it has none. */
    static long parseVmRss(String status) {
        for (String line : status.split("\n")) {
            if (line.startsWith("VmRSS:")) {
                String[] f = line.substring(6).trim().split("\\s+");
                if (f.length == 2 && f[1].equals("kB")) {
                    return Long.parseLong(f[0]) * 1024;
                }
            }
        }
        return -1;
    }
}
