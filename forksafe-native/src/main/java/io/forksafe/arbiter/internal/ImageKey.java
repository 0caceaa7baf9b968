package io.forksafe.arbiter.internal;

import io.forksafe.arbiter.ArbiterConfig;

import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Properties;
import java.util.TreeSet;
import java.util.function.Function;
import java.util.stream.Stream;

/**
 * What a preload image was made from ({@code --image-dir}): a kept image is restored only if every input is the same
 * now. The inputs, in order: the java binary (real path and SHA-256 of its bytes) and the JDK's version (its
 * {@code release} file, or {@code java -version}); the worker JVM options, the class path as written and the SHA-256
 * of each entry's content (a jar's bytes; a directory's files sorted by relative path, each path and its bytes); the
 * main class and its arguments; the working directory; each environment variable set with {@code --env} or named
 * with {@code --image-key-env} (SHA-256 of its value, or {@code unset}: values may be secrets, so neither the log nor
 * the image's metadata holds them); the arbiter settings baked into the template's environment (heartbeat interval,
 * graceful timeout, and the request limits {@code --max-requests}, its jitter and {@code --request-timeout} when set);
 * the arbiter's own code (forksafe-native), the CRIU version and the kernel release.
 */
public final class ImageKey {

    /** Prefix of a digest value; {@link #describe} abbreviates it. */
    static final String SHA = "sha256 ";
    static final String UNSET = "unset";
    /** Prefix of the key's entries in {@code image.properties}. */
    private static final String PROPERTY_PREFIX = "key.";

    private final Map<String, String> inputs;
    /** Size and modification time of every file and directory hashed, to tell cheaply whether one changed since. */
    private final Map<Path, String> stamps;

    private ImageKey(Map<String, String> inputs, Map<Path, String> stamps) {
        this.inputs = inputs;
        this.stamps = stamps;
    }

    /**
     * The key of the template {@code config} would boot now.
     *
     * @param arbiterJvmOptions the JVM options the arbiter adds before the user's
     * @param environment the arbiter's environment (System::getenv), which the template inherits
     * @param criuVersion the CRIU that dumps and restores
     */
    public static ImageKey of(ArbiterConfig config, List<String> arbiterJvmOptions,
                              Function<String, String> environment, String criuVersion) throws IOException {
        return of(config, arbiterJvmOptions, environment, criuVersion, new java.util.HashMap<>());
    }

    /**
     * As {@link #of(ArbiterConfig, List, Function, String)}, reusing the digest of every file whose size,
     * modification time, status-change time ({@code ctime}, which the kernel sets on every write and no tool can set
     * back) and inode are those recorded in {@code knownDigests} at an earlier start; the file is read only otherwise.
     * {@code knownDigests} is updated: afterwards it holds exactly the digests of this key's files.
     */
    public static ImageKey of(ArbiterConfig config, List<String> arbiterJvmOptions,
                              Function<String, String> environment, String criuVersion,
                              Map<String, String> knownDigests) throws IOException {
        Map<String, String> k = new LinkedHashMap<>();
        Hashing stamps = new Hashing(knownDigests);
        Path java = executable(config.javaCommand(), environment.apply("PATH"));
        k.put("java binary", java == null ? "not found: " + config.javaCommand()
                : java + " " + SHA + digestFile(java, stamps));
        k.put("java version", java == null ? "unknown" : javaVersion(java, stamps));
        k.put("JVM options", String.join(" ", config.jvmOptions()));
        k.put("JVM options the arbiter adds", String.join(" ", arbiterJvmOptions));
        k.put("class path", config.classpath());
        for (String entry : config.classpath().split(File.pathSeparator)) {
            if (!entry.isEmpty()) {
                k.put("class path entry " + entry, digestEntry(entry, stamps));
            }
        }
        k.put("main class", config.mainClass());
        k.put("arguments", String.join(" ", config.args()));
        k.put("working directory", Path.of("").toAbsolutePath().toString());
        TreeSet<String> names = new TreeSet<>(config.environment().keySet());
        names.addAll(config.imageKeyEnvironment());
        for (String name : names) {
            String value = config.environment().containsKey(name) ? config.environment().get(name)
                    : environment.apply(name);
            k.put("environment variable " + name, value == null ? UNSET
                    : SHA + digest(value.getBytes(StandardCharsets.UTF_8)));
        }
        // the request limits are in the template's environment, and decide whether its adapters count (only when set,
        // so that an image kept without them keeps its key)
        Map<String, String> limits = RequestLimits.environment(config);
        k.put("arbiter settings", "heartbeat " + config.heartbeatInterval().toMillis() + " ms, graceful timeout "
                + config.gracefulTimeout().toMillis() + " ms" + (limits.isEmpty() ? "" : ", request limits " + limits));
        k.put("forksafe arbiter", forksafeCode(stamps));
        k.put("criu", criuVersion);
        k.put("kernel", System.getProperty("os.name") + " " + System.getProperty("os.version"));
        knownDigests.clear();
        knownDigests.putAll(stamps.used);
        return new ImageKey(k, stamps.stamps);
    }

    /** What one key computation hashed (for {@link #filesUnchanged}), and the digests known from an earlier one. */
    private static final class Hashing {
        final Map<Path, String> stamps = new LinkedHashMap<>();
        final Map<String, String> known;
        final Map<String, String> used = new java.util.TreeMap<>();

        Hashing(Map<String, String> known) {
            this.known = Map.copyOf(known);
        }

        void put(Path p, String stamp) {
            stamps.put(p, stamp);
        }
    }

    /** Size, modification and status-change times in nanoseconds, and inode: null where there is no unix view. */
    private static String fullStamp(Path p) {
        try {
            Map<String, Object> a = Files.readAttributes(p, "unix:size,lastModifiedTime,ctime,ino");
            return a.get("size") + " " + ((java.nio.file.attribute.FileTime) a.get("lastModifiedTime"))
                    .to(java.util.concurrent.TimeUnit.NANOSECONDS) + " " + ((java.nio.file.attribute.FileTime)
                    a.get("ctime")).to(java.util.concurrent.TimeUnit.NANOSECONDS) + " " + a.get("ino");
        } catch (IOException | UnsupportedOperationException | IllegalArgumentException e) {
            return null;
        }
    }

    /**
     * Whether every file and directory this key hashed still has the size and modification time it had then (a
     * stat of each, not a digest): false if one may have changed since, and the key must be computed again.
     */
    public boolean filesUnchanged() {
        for (Map.Entry<Path, String> e : stamps.entrySet()) {
            if (!stamp(e.getKey()).equals(e.getValue())) {
                return false;
            }
        }
        return true;
    }

    private static String stamp(Path p) {
        try {
            java.nio.file.attribute.BasicFileAttributes a = Files.readAttributes(p,
                    java.nio.file.attribute.BasicFileAttributes.class);
            return a.size() + " " + a.lastModifiedTime().toInstant();
        } catch (IOException e) {
            return "gone";
        }
    }

    /** The inputs in order: name to value (a path, a version, or {@code sha256 <hex>}). */
    public Map<String, String> inputs() {
        return java.util.Collections.unmodifiableMap(inputs);
    }

    /** One digest of every input, as the status shows it: {@code sha256 <12 hex> of <n> inputs}. */
    public String summary() {
        StringBuilder all = new StringBuilder();
        inputs.forEach((name, value) -> all.append(name).append('\0').append(value).append('\0'));
        return SHA + digest(all.toString().getBytes(StandardCharsets.UTF_8)).substring(0, 12) + " of "
                + inputs.size() + " inputs";
    }

    /**
     * What differs from {@code kept} (the key an image was made with), one phrase per input, in this key's order
     * (inputs only the kept key has come last); empty when the keys are equal.
     */
    public List<String> differences(ImageKey kept) {
        List<String> d = new ArrayList<>();
        for (Map.Entry<String, String> e : inputs.entrySet()) {
            String was = kept.inputs.get(e.getKey());
            if (was == null) {
                d.add(e.getKey() + " is new (" + abbreviate(e.getValue()) + ")");
            } else if (!was.equals(e.getValue())) {
                d.add(e.getKey() + " changed (" + abbreviate(was) + " -> " + abbreviate(e.getValue()) + ")");
            }
        }
        for (String name : kept.inputs.keySet()) {
            if (!inputs.containsKey(name)) {
                d.add(name + " is gone (was " + abbreviate(kept.inputs.get(name)) + ")");
            }
        }
        return d;
    }

    /** {@link #differences} as one line: the first three, and how many more. */
    public String describe(ImageKey kept) {
        List<String> d = differences(kept);
        if (d.size() <= 3) {
            return String.join("; ", d);
        }
        return String.join("; ", d.subList(0, 3)) + "; and " + (d.size() - 3) + " more input(s)";
    }

    /** Writes the key into {@code p} (entries {@code key.<n>.name} and {@code key.<n>.value}, in order). */
    void store(Properties p) {
        int i = 0;
        for (Map.Entry<String, String> e : inputs.entrySet()) {
            p.setProperty(PROPERTY_PREFIX + i + ".name", e.getKey());
            p.setProperty(PROPERTY_PREFIX + i + ".value", e.getValue());
            i++;
        }
    }

    /** The key {@link #store} wrote into {@code p}. */
    static ImageKey load(Properties p) {
        Map<String, String> k = new LinkedHashMap<>();
        for (int i = 0; p.getProperty(PROPERTY_PREFIX + i + ".name") != null; i++) {
            k.put(p.getProperty(PROPERTY_PREFIX + i + ".name"),
                    Objects.requireNonNullElse(p.getProperty(PROPERTY_PREFIX + i + ".value"), ""));
        }
        return new ImageKey(k, Map.of());
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof ImageKey other && inputs.equals(other.inputs);
    }

    @Override
    public int hashCode() {
        return inputs.hashCode();
    }

    @Override
    public String toString() {
        return "ImageKey[" + summary() + "]";
    }

    private static String abbreviate(String value) {
        // "/usr/bin/java sha256 0123456789abcdef..." -> "/usr/bin/java sha256 0123456789ab…"
        int at = value.indexOf(SHA);
        if (at < 0 || value.length() - at - SHA.length() <= 12) {
            return value.isEmpty() ? "none" : value;
        }
        return value.substring(0, at + SHA.length() + 12) + "…";
    }

    /** The real path of {@code command}: a path, or a name looked up on {@code path}; null if not found. */
    static Path executable(String command, String path) throws IOException {
        if (command.contains("/")) {
            Path p = Path.of(command);
            return Files.isRegularFile(p) ? p.toRealPath() : null;
        }
        for (String dir : (path == null ? "" : path).split(File.pathSeparator)) {
            Path p = Path.of(dir.isEmpty() ? "." : dir, command);
            if (Files.isRegularFile(p) && Files.isExecutable(p)) {
                return p.toRealPath();
            }
        }
        return null;
    }

    /** The JDK's {@code release} file (JAVA_RUNTIME_VERSION and its digest), else {@code java -version}. */
    private static String javaVersion(Path java, Hashing stamps) throws IOException {
        Path home = java.getParent() == null ? null : java.getParent().getParent();
        Path release = home == null ? null : home.resolve("release");
        if (release != null && Files.isRegularFile(release)) {
            Properties r = new Properties();
            try (InputStream in = Files.newInputStream(release)) {
                r.load(in);
            }
            String v = r.getProperty("JAVA_RUNTIME_VERSION", r.getProperty("JAVA_VERSION", "?"))
                    .replace("\"", "");
            return v + " (" + release + " " + SHA + digestFile(release, stamps) + ")";
        }
        Process p = new ProcessBuilder(java.toString(), "-version").redirectErrorStream(true).start();
        byte[] out = p.getInputStream().readAllBytes();
        try {
            p.waitFor();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted while running " + java + " -version", e);
        }
        String first = new String(out, StandardCharsets.UTF_8).lines().findFirst().orElse("?");
        return first + " (java -version " + SHA + digest(out) + ")";
    }

    /** The digest of forksafe-native's own code, as this arbiter runs it (a jar, or a classes directory). */
    private static String forksafeCode(Hashing stamps) throws IOException {
        java.security.CodeSource source = ImageKey.class.getProtectionDomain().getCodeSource();
        if (source == null || source.getLocation() == null) {
            return "unknown";
        }
        try {
            return digestEntry(Path.of(source.getLocation().toURI()).toString(), stamps);
        } catch (java.net.URISyntaxException | IllegalArgumentException e) {
            return source.getLocation().toString();
        }
    }

    /**
     * A class path entry's content digest: a file's bytes; a directory's regular files sorted by relative path, each
     * its path and its bytes; a {@code dir/*} wildcard's jars as the JVM expands it (sorted); {@code missing}.
     */
    static String digestEntry(String entry, Hashing stamps) throws IOException {
        if (entry.equals("*") || entry.endsWith(File.separator + "*")) {
            Path dir = Path.of(entry.substring(0, entry.length() - 1).isEmpty() ? "." : entry.substring(0,
                    entry.length() - 1));
            stamps.put(dir, stamp(dir));
            if (!Files.isDirectory(dir)) {
                return "missing";
            }
            try (Stream<Path> jars = Files.list(dir)) {
                return SHA + digestFiles(dir, jars.filter(f -> f.getFileName().toString().toLowerCase(
                        java.util.Locale.ROOT).endsWith(".jar")).filter(Files::isRegularFile).sorted().toList(), stamps);
            }
        }
        Path p = Path.of(entry);
        stamps.put(p, stamp(p));
        if (Files.isRegularFile(p)) {
            return SHA + digestFile(p, stamps);
        }
        if (Files.isDirectory(p)) {
            try (Stream<Path> walk = Files.walk(p)) {
                List<Path> all = walk.toList();
                all.stream().filter(Files::isDirectory).forEach(d -> stamps.put(d, stamp(d))); // files added, removed
                List<Path> files = all.stream().filter(Files::isRegularFile)
                        .sorted(java.util.Comparator.comparing(f -> p.relativize(f).toString())).toList();
                return SHA + digestFiles(p, files, stamps);
            }
        }
        return "missing";
    }

    private static String digestFiles(Path root, List<Path> files, Hashing stamps) throws IOException {
        MessageDigest md = sha256();
        for (Path f : files) {
            md.update(root.relativize(f).toString().getBytes(StandardCharsets.UTF_8));
            md.update((byte) 0);
            md.update(HexFormat.of().parseHex(digestFile(f, stamps)));
        }
        return HexFormat.of().formatHex(md.digest());
    }

    private static String digestFile(Path file, Hashing stamps) throws IOException {
        stamps.put(file, stamp(file));
        String full = fullStamp(file);
        String cacheKey = full == null ? null : file.toAbsolutePath() + "\t" + full;
        String known = cacheKey == null ? null : stamps.known.get(cacheKey);
        if (known != null) {
            stamps.used.put(cacheKey, known);
            return known;
        }
        MessageDigest md = sha256();
        byte[] buf = new byte[1 << 16];
        try (InputStream in = Files.newInputStream(file)) {
            int n;
            while ((n = in.read(buf)) > 0) {
                md.update(buf, 0, n);
            }
        }
        String hex = HexFormat.of().formatHex(md.digest());
        if (cacheKey != null && full.equals(fullStamp(file))) { // unchanged while it was read
            stamps.used.put(cacheKey, hex);
        }
        return hex;
    }

    static String digest(byte[] bytes) {
        return HexFormat.of().formatHex(sha256().digest(bytes));
    }

    private static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("this JVM has no SHA-256 (every Java SE has)", e);
        }
    }
}
