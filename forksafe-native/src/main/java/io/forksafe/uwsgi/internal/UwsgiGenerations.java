package io.forksafe.uwsgi.internal;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Comparator;
import java.util.Optional;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * Counts the JVMs each worker slot of one uWSGI master has started, so that a worker's generation grows on every
 * respawn and reload: uWSGI does not tell the JVM. One small file per slot, in a directory per master (its pid and
 * its start time, so a reused pid starts again from 0), read and bumped under a file lock. The directory is
 * {@code <java.io.tmpdir>/forksafe-uwsgi-<user>}, or {@code -Dforksafe.uwsgi.stateDir=...}; directories of masters
 * that are gone are removed.
 */
final class UwsgiGenerations {

    /** System property naming the directory that keeps the counters. */
    static final String PROPERTY = "forksafe.uwsgi.stateDir";

    private static final Pattern MASTER_DIR = Pattern.compile("(\\d+)-(\\d+)");

    /** The slot's generation, and where it came from (the counter file, or why it is 0). */
    record Generation(long value, String source) {
    }

    private UwsgiGenerations() {
    }

    /** The default directory: the property, else one per user under {@code java.io.tmpdir}. */
    static Path defaultBase() {
        String explicit = System.getProperty(PROPERTY);
        if (explicit != null && !explicit.isBlank()) {
            return Path.of(explicit.strip());
        }
        return Path.of(System.getProperty("java.io.tmpdir"), "forksafe-uwsgi-" + System.getProperty("user.name", "x"));
    }

    /**
     * Counts one more JVM start for {@code slot} under the master {@code masterPid}: returns 0 for the slot's first
     * JVM, 1 for its first replacement, and so on. Never throws: if the counter cannot be kept, the generation is 0
     * and the source says why.
     */
    static Generation next(Path base, long masterPid, int slot) {
        Optional<Long> started = startTime(masterPid);
        if (started.isEmpty()) {
            return new Generation(0, "0: the master's start time is unreadable (/proc/" + masterPid + "/stat)");
        }
        try {
            ensurePrivateDirectory(base);
            removeGoneMasters(base, masterPid);
            Path dir = base.resolve(masterPid + "-" + started.get());
            try {
                Files.createDirectory(dir);
            } catch (FileAlreadyExistsException e) {
                // another worker of this master made it
            }
            Path counter = dir.resolve("slot-" + slot);
            try (FileChannel ch = FileChannel.open(counter, StandardOpenOption.CREATE, StandardOpenOption.READ,
                    StandardOpenOption.WRITE, LinkOption.NOFOLLOW_LINKS);
                 FileLock lock = ch.lock()) {
                ByteBuffer buf = ByteBuffer.allocate(32);
                ch.read(buf, 0);
                String text = new String(buf.array(), 0, buf.position(), StandardCharsets.US_ASCII).strip();
                long starts = text.isEmpty() ? 0 : Long.parseLong(text);
                ch.truncate(0);
                ch.write(ByteBuffer.wrap(Long.toString(starts + 1).getBytes(StandardCharsets.US_ASCII)), 0);
                ch.force(false);
                return new Generation(starts, counter.toString());
            }
        } catch (IOException | RuntimeException e) {
            return new Generation(0, "0: cannot keep the counter in " + base + " (" + e + "); set -D" + PROPERTY
                    + " to a directory this user owns");
        }
    }

    /** Creates {@code base} with mode 0700, or checks that the existing one is a real directory of this user. */
    private static void ensurePrivateDirectory(Path base) throws IOException {
        if (!Files.exists(base, LinkOption.NOFOLLOW_LINKS)) {
            try {
                Files.createDirectories(base, PosixFilePermissions.asFileAttribute(
                        PosixFilePermissions.fromString("rwx------")));
            } catch (FileAlreadyExistsException e) {
                // made meanwhile by another worker: checked below
            }
        }
        if (!Files.isDirectory(base, LinkOption.NOFOLLOW_LINKS)) {
            throw new IOException(base + " is not a directory (or is a symbolic link)");
        }
        String owner = Files.getOwner(base, LinkOption.NOFOLLOW_LINKS).getName();
        String me = System.getProperty("user.name");
        if (me != null && !owner.equals(me)) {
            throw new IOException(base + " belongs to " + owner + ", not to " + me);
        }
    }

    /** Removes the counters of masters that no longer run (pid gone, or reused by a process started later). */
    private static void removeGoneMasters(Path base, long currentMaster) {
        try (DirectoryStream<Path> dirs = Files.newDirectoryStream(base)) {
            for (Path d : dirs) {
                var m = MASTER_DIR.matcher(d.getFileName().toString());
                if (!m.matches() || Long.parseLong(m.group(1)) == currentMaster) {
                    continue;
                }
                Optional<Long> start = startTime(Long.parseLong(m.group(1)));
                if (start.isEmpty() || start.get() != Long.parseLong(m.group(2))) {
                    deleteTree(d);
                }
            }
        } catch (IOException | RuntimeException e) {
            // best effort: a leftover directory holds a few bytes
        }
    }

    private static void deleteTree(Path dir) {
        try (Stream<Path> all = Files.walk(dir)) {
            all.sorted(Comparator.reverseOrder()).forEach(p -> {
                try {
                    Files.deleteIfExists(p);
                } catch (IOException e) {
                    // another worker removed it, or it is in use: leave it
                }
            });
        } catch (IOException | RuntimeException e) {
            // gone already
        }
    }

    /** Field 22 of {@code /proc/<pid>/stat}: the process's start time in clock ticks after boot. */
    static Optional<Long> startTime(long pid) {
        try {
            String stat = Files.readString(Path.of("/proc/" + pid + "/stat"), StandardCharsets.US_ASCII);
            String[] after = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
            return Optional.of(Long.parseLong(after[19]));
        } catch (IOException | RuntimeException e) {
            return Optional.empty();
        }
    }
}
