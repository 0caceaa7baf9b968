package io.forksafe.arbiter.internal;

import io.forksafe.arbiter.PreloadUnavailableException;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import java.util.Set;
import java.util.stream.Stream;

/**
 * The home of a kept preload image ({@code --image-dir DIR}), shared by consecutive arbiter runs, one at a time:
 *
 * <pre>
 * DIR/lock                 held (FileChannel.tryLock) while an arbiter uses DIR; holds its pid
 * DIR/control.sock         the arbiter's control socket   } fixed paths: the template's environment, and so the
 * DIR/listener.sock        the socket handoff             } image, names them; the next run binds the same ones
 * DIR/native/              jffi's native stub, mapped by the template (the image refers to it by path)
 * DIR/image-&lt;n&gt;/          CRIU's files and, written last by an atomic rename, image.properties (the
 *                          Image fields and the {@link ImageKey}); a directory without it is never restored
 * DIR/restore-&lt;slot&gt;-&lt;gen&gt;/ each restore's working directory and restore.log, removed when the copy ends
 * </pre>
 *
 * DIR is created with mode 0700, and refused if it is not a directory, not owned by this user, or writable by its
 * group or others: whoever can write there can make the arbiter restore any process image as root.
 */
public final class ImageDir implements AutoCloseable {

    /** The metadata file of a complete image. */
    static final String METADATA = "image.properties";
    /** Digests of the key's files from the last start, to read only what changed. */
    static final String DIGESTS = "digests.properties";
    /** The longest path a Unix socket address holds (sun_path is 108 bytes, NUL included). */
    static final int MAX_SOCKET_PATH = 107;
    private static final String[] SOCKETS = {"control.sock", "listener.sock"};

    private final Path dir;
    private final FileChannel lockChannel;
    private final FileLock lock;

    private ImageDir(Path dir, FileChannel lockChannel, FileLock lock) {
        this.dir = dir;
        this.lockChannel = lockChannel;
        this.lock = lock;
    }

    /**
     * Checks {@code dir} as an image directory before anything is started: the socket paths in it fit a Unix socket
     * address, and, if it exists, it is a directory of this user's that nobody else may write.
     *
     * @throws IllegalArgumentException naming the problem and the fix
     */
    public static void check(Path dir) {
        Path abs = dir.toAbsolutePath().normalize();
        for (String s : SOCKETS) {
            int length = abs.resolve(s).toString().getBytes(StandardCharsets.UTF_8).length;
            if (length > MAX_SOCKET_PATH) {
                throw new IllegalArgumentException("--image-dir " + dir + " is too long: the socket " + abs.resolve(s)
                        + " in it would be " + length + " bytes, and a Unix socket path holds at most "
                        + MAX_SOCKET_PATH + "; choose a shorter directory");
            }
        }
        if (!Files.exists(abs, LinkOption.NOFOLLOW_LINKS)) {
            return; // created 0700 at start
        }
        if (!Files.isDirectory(abs)) {
            throw new IllegalArgumentException("--image-dir " + dir + " exists and is not a directory: remove it or "
                    + "choose another path");
        }
        try {
            Path real = abs.toRealPath();
            String owner = Files.getOwner(real).getName();
            String me = System.getProperty("user.name");
            if (!owner.equals(me)) {
                throw new IllegalArgumentException("--image-dir " + dir + " is owned by " + owner + ", not by " + me
                        + " who runs the arbiter: another user could plant an image there; chown " + me + " " + dir
                        + " (and chmod 700), or choose a directory of your own");
            }
            Set<PosixFilePermission> perms = Files.getPosixFilePermissions(real);
            if (perms.contains(PosixFilePermission.GROUP_WRITE) || perms.contains(PosixFilePermission.OTHERS_WRITE)) {
                throw new IllegalArgumentException("--image-dir " + dir + " is writable by "
                        + (perms.contains(PosixFilePermission.OTHERS_WRITE) ? "others" : "its group") + " (mode "
                        + PosixFilePermissions.toString(perms) + "): whoever can write there can make the arbiter "
                        + "restore any process image; chmod 700 " + dir);
            }
        } catch (UnsupportedOperationException e) {
            throw new IllegalArgumentException("--image-dir " + dir + " is on a file system without POSIX owners and "
                    + "modes, so it cannot be kept private: choose a directory on a local Linux file system", e);
        } catch (IOException e) {
            throw new IllegalArgumentException("--image-dir " + dir + " cannot be inspected (" + e.getMessage()
                    + "): fix its permissions or choose another directory", e);
        }
    }

    /**
     * Creates {@code dir} (0700) if needed, checks it again and takes its lock for this arbiter's lifetime. Leftovers
     * of a previous run that cannot be used (sockets, restore directories, images without metadata) are removed.
     *
     * @throws PreloadUnavailableException (exit 2) if it is unsafe or another arbiter holds it
     */
    static ImageDir open(Path dir) throws IOException {
        Path abs = dir.toAbsolutePath().normalize();
        if (!Files.exists(abs, LinkOption.NOFOLLOW_LINKS)) {
            Files.createDirectories(abs.getParent());
            try {
                Files.createDirectory(abs, PosixFilePermissions.asFileAttribute(
                        PosixFilePermissions.fromString("rwx------")));
            } catch (java.nio.file.FileAlreadyExistsException raced) {
                // checked below as any existing directory
            }
            Files.setPosixFilePermissions(abs, PosixFilePermissions.fromString("rwx------")); // whatever the umask
        }
        try {
            check(abs);
        } catch (IllegalArgumentException e) {
            throw new PreloadUnavailableException("a private image directory: " + e.getMessage());
        }
        Path lockFile = abs.resolve("lock");
        FileChannel ch = FileChannel.open(lockFile, StandardOpenOption.CREATE, StandardOpenOption.READ,
                StandardOpenOption.WRITE);
        FileLock lock;
        try {
            lock = ch.tryLock();
        } catch (java.nio.channels.OverlappingFileLockException inThisJvm) {
            lock = null; // another arbiter in this JVM holds it
        } catch (IOException | RuntimeException e) {
            ch.close();
            throw e;
        }
        if (lock == null) {
            String holder = Files.readString(lockFile).strip();
            ch.close();
            throw new PreloadUnavailableException("exclusive use of the image directory " + dir + ": another arbiter"
                    + (holder.isEmpty() ? "" : " (pid " + holder + ")") + " uses it now; stop it, or give each "
                    + "arbiter its own --image-dir");
        }
        ch.truncate(0);
        ch.write(java.nio.ByteBuffer.wrap((ProcessHandle.current().pid() + "\n").getBytes(StandardCharsets.UTF_8)));
        ImageDir home = new ImageDir(abs, ch, lock);
        home.removeLeftovers();
        return home;
    }

    Path path() {
        return dir;
    }

    /** Where the arbiter's control socket is bound: a fixed path, which the image names. */
    Path controlSocket() {
        return dir.resolve(SOCKETS[0]);
    }

    Path listenerSocket() {
        return dir.resolve(SOCKETS[1]);
    }

    /** A complete image: its directory and its metadata. */
    record Kept(Path dir, int generation, Properties metadata) {
    }

    /** The newest complete image (highest generation with its metadata), or null; older ones are removed. */
    Kept newest() throws IOException {
        List<Kept> complete = new ArrayList<>();
        for (Path d : images()) {
            Path meta = d.resolve(METADATA);
            if (Files.isRegularFile(meta)) {
                Properties p = new Properties();
                try (InputStream in = Files.newInputStream(meta)) {
                    p.load(in);
                }
                complete.add(new Kept(d, generationOf(d), p));
            }
        }
        complete.sort(java.util.Comparator.comparingInt(Kept::generation));
        for (int i = 0; i < complete.size() - 1; i++) {
            deleteTree(complete.get(i).dir); // superseded (a run that ended before it removed them)
        }
        return complete.isEmpty() ? null : complete.get(complete.size() - 1);
    }

    /** The next free image generation. */
    int nextGeneration() throws IOException {
        int next = 0;
        for (Path d : images()) {
            next = Math.max(next, generationOf(d) + 1);
        }
        return next;
    }

    /**
     * The file digests an earlier start computed ({@link ImageKey#of(io.forksafe.arbiter.ArbiterConfig, List,
     * java.util.function.Function, String, java.util.Map)}): each keyed by path, size, times and inode, so a start
     * reads again only the files that changed. Empty if there are none or they cannot be read. The directory is
     * private (0700, this user's), so nobody else can plant a digest.
     */
    java.util.Map<String, String> knownDigests() {
        Properties p = new Properties();
        try (java.io.InputStream in = Files.newInputStream(dir.resolve(DIGESTS))) {
            p.load(in);
        } catch (IOException e) {
            return new java.util.HashMap<>();
        }
        java.util.Map<String, String> out = new java.util.HashMap<>();
        p.forEach((k, v) -> out.put(String.valueOf(k), String.valueOf(v)));
        return out;
    }

    /** Replaces the known digests (atomically; a failure only costs the next start a full read). */
    void saveKnownDigests(java.util.Map<String, String> digests) {
        Properties p = new Properties();
        p.putAll(digests);
        Path tmp = dir.resolve(DIGESTS + ".tmp");
        try {
            try (OutputStream out = Files.newOutputStream(tmp)) {
                p.store(out, "sha256 of the image key's files, by path, size, mtime, ctime and inode");
            }
            Files.move(tmp, dir.resolve(DIGESTS), StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException e) {
            // the next start computes them again
        }
    }

    /** Makes {@code image} complete: writes its metadata to a temporary file, then renames it into place. */
    static void writeMetadata(Path image, Properties p) throws IOException {
        Path tmp = image.resolve(METADATA + ".tmp");
        try (OutputStream out = Files.newOutputStream(tmp)) {
            p.store(out, "forksafe preload image: restored only while its key matches (docs/preload.md)");
        }
        try (FileChannel c = FileChannel.open(tmp, StandardOpenOption.WRITE)) {
            c.force(true);
        }
        try {
            Files.move(tmp, image.resolve(METADATA), StandardCopyOption.ATOMIC_MOVE);
        } catch (AtomicMoveNotSupportedException e) {
            throw new IOException("cannot rename " + tmp + " into place atomically: " + e.getMessage(), e);
        }
    }

    private List<Path> images() throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            return s.filter(d -> d.getFileName().toString().matches("image-\\d+") && Files.isDirectory(d)).toList();
        }
    }

    private static int generationOf(Path image) {
        return Integer.parseInt(image.getFileName().toString().substring("image-".length()));
    }

    private void removeLeftovers() throws IOException {
        for (String s : SOCKETS) {
            Files.deleteIfExists(dir.resolve(s));
        }
        try (Stream<Path> s = Files.list(dir)) {
            for (Path d : s.toList()) {
                String name = d.getFileName().toString();
                if (name.startsWith("restore-")
                        || (name.matches("image-\\d+") && !Files.exists(d.resolve(METADATA)))) {
                    deleteTree(d); // a restore's leftovers, or an image whose dump never completed
                }
            }
        }
    }

    static void deleteTree(Path root) {
        try (Stream<Path> walk = Files.walk(root)) {
            walk.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        } catch (IOException | java.io.UncheckedIOException ignored) {
            // best effort; a part may already be gone (a restore's clean-up runs on its own thread)
        }
    }

    /** Releases the lock; the image stays for the next run. */
    @Override
    public void close() {
        for (String s : SOCKETS) {
            try {
                Files.deleteIfExists(dir.resolve(s));
            } catch (IOException ignored) {
                // the next run removes it
            }
        }
        try {
            lock.release();
        } catch (IOException ignored) {
            // closing the channel releases it too
        }
        Closing.quietly(lockChannel);
    }
}
