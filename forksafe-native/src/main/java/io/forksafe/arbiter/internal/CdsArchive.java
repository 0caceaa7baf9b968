package io.forksafe.arbiter.internal;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.List;

/**
 * The workers' shared class-data archive (a JDK 13+ dynamic AppCDS archive), so that worker JVMs map the same
 * read-only class metadata pages instead of each parsing and holding its own copy, as forked workers share their
 * parent's pages.
 *
 * <p>While the archive file does not exist, exactly one worker at a time records it: it runs with
 * {@code -XX:ArchiveClassesAtExit=<archive>.part} and the JVM writes the classes it loaded when it exits (a graceful
 * stop, a rolling restart or a scale-down). Once that worker has been reaped, the arbiter renames the part file into
 * place, atomically, so no worker ever maps a half-written archive. Every worker spawned after that gets
 * {@code -XX:SharedArchiveFile=<archive>}. The JDK checks the archive against the JVM and class path and silently
 * runs without it on a mismatch ({@code -Xshare:auto}); delete the file to record a new one.
 */
public final class CdsArchive {

    private final Path archive;
    private final Path part;
    private long recorderPid;
    private String lastEvent = "no worker spawned yet";

    public CdsArchive(Path archive) {
        this.archive = archive.toAbsolutePath();
        this.part = this.archive.resolveSibling(this.archive.getFileName() + ".part");
    }

    /** The archive path. */
    public Path path() {
        return archive;
    }

    /** Whether a complete archive exists. */
    public boolean exists() {
        try {
            return Files.isRegularFile(archive) && Files.size(archive) > 0;
        } catch (IOException e) {
            return false;
        }
    }

    /** The JVM options for the next worker: map the archive, record it, or (another worker records) nothing. */
    public synchronized List<String> nextWorkerOptions() {
        if (exists()) {
            return List.of("-XX:SharedArchiveFile=" + archive);
        }
        if (recorderPid == 0) {
            return List.of("-XX:ArchiveClassesAtExit=" + part);
        }
        return List.of();
    }

    /** Records which worker got {@code options} from {@link #nextWorkerOptions()}. */
    public synchronized void spawned(long pid, List<String> options) {
        if (!options.isEmpty() && options.get(0).startsWith("-XX:ArchiveClassesAtExit=")) {
            recorderPid = pid;
            lastEvent = "worker pid " + pid + " records the archive when it exits";
        } else if (!options.isEmpty()) {
            lastEvent = "workers map the archive";
        }
    }

    /**
     * A worker was reaped. If it was the recorder, moves its archive into place.
     *
     * @return a line for the arbiter's log, or null if the worker was not the recorder
     */
    public synchronized String exited(long pid) {
        if (pid != recorderPid || recorderPid == 0) {
            return null;
        }
        recorderPid = 0;
        try {
            if (Files.isRegularFile(part) && Files.size(part) > 0) {
                Files.move(part, archive, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
                lastEvent = "archive written by worker pid " + pid + " (" + Files.size(archive) / 1024 + " KiB)";
                return "AppCDS archive " + archive + " written (" + Files.size(archive) / 1024
                        + " KiB); workers spawned from now on map it";
            }
            Files.deleteIfExists(part);
            lastEvent = "worker pid " + pid + " exited without writing the archive; the next worker records it";
            return "AppCDS: worker pid " + pid + " exited without writing " + part
                    + " (killed, or the JVM cannot dump: it needs the default CDS archive, so no -Xshare:off);"
                    + " the next worker records it";
        } catch (IOException e) {
            lastEvent = "cannot move " + part + " to " + archive + ": " + e.getMessage();
            return "AppCDS: " + lastEvent + ": check the directory's permissions";
        }
    }

    /** A status section. */
    /** The archive as the arbiter's status shows it ({@code cdsArchive}). */
    public record Status(String path, boolean exists, Long recorderPid, String lastEvent) {
    }

    public synchronized Status status() {
        return new Status(archive.toString(), exists(), recorderPid == 0 ? null : recorderPid, lastEvent);
    }
}
