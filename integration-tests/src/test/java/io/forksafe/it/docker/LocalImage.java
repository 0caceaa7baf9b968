package io.forksafe.it.docker;

import com.github.dockerjava.api.DockerClient;
import com.github.dockerjava.api.command.BuildImageResultCallback;
import com.github.dockerjava.api.exception.NotFoundException;
import com.github.dockerjava.api.model.Image;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileVisitOption;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import java.util.zip.ZipEntry;
import java.util.zip.ZipFile;

import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveOutputStream;

/**
 * Builds the Docker image the container tests run, without pulling anything: a root file system assembled from the
 * JDK that runs the tests, the shared libraries it needs (found with {@code ldd}), minimal {@code /etc} files, a
 * {@code /tmp}, and the integration tests' class path, copied into a {@code FROM scratch} image (the same result as
 * {@code docker import} of that file system).
 *
 * <p>Layout: {@code /opt/java} (the JDK, without jmods, headers, man pages and sources), {@code /app/classes},
 * {@code /app/test-classes}, {@code /app/lib/*.jar}. {@link #classPath()} is the class path to pass to {@code java}.
 * The tag is a hash of every input file's path, size and modification time, so an unchanged build reuses the image;
 * older tags of the same repository are removed after a new import.
 */
final class LocalImage {

    static final String REPOSITORY = "forksafe-arbiter-it";
    static final String JAVA = "/opt/java/bin/java";

    /** JDK parts a server never needs (several hundred MB of the image otherwise). */
    private static final Set<String> JDK_SKIP = Set.of("jmods", "include", "man", "docs", "demo", "sample",
            "lib/src.zip");
    private static final Pattern LDD_RESOLVED = Pattern.compile("=>\\s+(/\\S+)\\s+\\(0x");
    private static final Pattern LDD_DIRECT = Pattern.compile("^\\s*(/\\S+)\\s+\\(0x");
    private static final Pattern LDD_MISSING = Pattern.compile("^\\s*(\\S+)\\s+=>\\s+not found");

    private static final String DOCKERFILE = """
            FROM scratch
            COPY rootfs/ /
            ENV PATH=/opt/java/bin:/usr/bin:/bin
            WORKDIR /app
            """;

    private final Map<String, Path> files = new TreeMap<>();   // path in the image -> file on this machine
    private final List<String> classPath = new ArrayList<>();
    private final List<String> warnings = new ArrayList<>();
    private final String tag;

    private LocalImage(Path javaHome, Path moduleDir) throws IOException, InterruptedException {
        addJdk(javaHome);
        addClassPath(moduleDir);
        addNativeLibraries(javaHome, moduleDir.resolve("target").resolve("docker-image"));
        this.tag = hash();
    }

    /** The image for this build: reused when an image with the same inputs exists, imported otherwise. */
    static LocalImage ensure(DockerClient docker, Path moduleDir) throws Exception {
        long t0 = System.nanoTime();
        LocalImage image = new LocalImage(Paths.get(System.getProperty("java.home")), moduleDir);
        String name = image.name();
        boolean present;
        try {
            docker.inspectImageCmd(name).exec();
            present = true;
        } catch (NotFoundException e) {
            present = false;
        }
        if (!present) {
            // docker-java's createImageCmd (docker import) sends the stream wrongly (docker-java#2377), so the
            // root file system goes in as the context of a FROM scratch build, which pulls nothing either.
            Path tar = moduleDir.resolve("target").resolve("docker-image").resolve("context.tar");
            image.writeContext(tar);
            try (InputStream in = Files.newInputStream(tar)) {
                docker.buildImageCmd(in).withTags(Set.of(name)).withPull(false).withRemove(true)
                        .exec(new BuildImageResultCallback()).awaitImageId(5, TimeUnit.MINUTES);
            } finally {
                Files.deleteIfExists(tar);
            }
            docker.inspectImageCmd(name).exec();   // fails clearly if the build did not produce the tag
            image.removeOlderTags(docker);
        }
        System.out.printf("docker image %s %s in %d ms (%d files)%s%n", name, present ? "reused" : "built",
                (System.nanoTime() - t0) / 1_000_000, image.files.size(),
                image.warnings.isEmpty() ? "" : "; " + String.join("; ", image.warnings));
        return image;
    }

    /** {@code forksafe-arbiter-it:<hash>}. */
    String name() {
        return REPOSITORY + ":" + tag;
    }

    /** The class path inside the image, in the build's order. */
    String classPath() {
        return String.join(":", classPath);
    }

    // ------------------------------------------------------------------ inputs

    private void addJdk(Path javaHome) throws IOException {
        if (!Files.isExecutable(javaHome.resolve("bin").resolve("java"))) {
            throw new IllegalStateException("java.home " + javaHome + " has no bin/java to put in the image");
        }
        try (Stream<Path> walk = Files.walk(javaHome, FileVisitOption.FOLLOW_LINKS)) {
            walk.filter(Files::isRegularFile).forEach(p -> {
                String rel = javaHome.relativize(p).toString();
                boolean skip = JDK_SKIP.stream().anyMatch(s -> rel.equals(s) || rel.startsWith(s + "/"));
                if (!skip) {
                    files.put("opt/java/" + rel, p);
                }
            });
        }
    }

    private void addClassPath(Path moduleDir) throws IOException {
        Path target = moduleDir.resolve("target");
        for (String dir : List.of("classes", "test-classes")) {
            Path root = target.resolve(dir);
            if (!Files.isDirectory(root)) {
                throw new IllegalStateException(root + " is missing: build the module first (mvn verify)");
            }
            addTree(root, "app/" + dir);
            classPath.add("/app/" + dir);
        }
        String deps = Files.readString(target.resolve("demo-classpath.txt")).strip();
        int i = 0;
        for (String jar : deps.isEmpty() ? new String[0] : deps.split(java.io.File.pathSeparator)) {
            Path p = Paths.get(jar);
            String inImage = String.format(Locale.ROOT, "app/lib/%02d-%s", i++, p.getFileName());
            files.put(inImage, p);
            classPath.add("/" + inImage);
        }
    }

    private void addTree(Path root, String prefix) throws IOException {
        try (Stream<Path> walk = Files.walk(root)) {
            walk.filter(Files::isRegularFile).forEach(p -> files.put(prefix + "/" + root.relativize(p), p));
        }
    }

    /**
     * The shared libraries of the JDK's launcher and libraries, and of native libraries packed in class path jars
     * for this platform (jffi's, which jnr-posix extracts to /tmp at run time), as {@code ldd} resolves them here.
     */
    private void addNativeLibraries(Path javaHome, Path scratch) throws IOException, InterruptedException {
        List<Path> elfs = new ArrayList<>();
        elfs.add(javaHome.resolve("bin").resolve("java"));
        try (Stream<Path> walk = Files.walk(javaHome.resolve("lib"), FileVisitOption.FOLLOW_LINKS)) {
            walk.filter(p -> p.toString().endsWith(".so") && Files.isRegularFile(p)).forEach(elfs::add);
        }
        Files.createDirectories(scratch);
        for (Map.Entry<String, Path> e : List.copyOf(files.entrySet())) {
            if (e.getKey().startsWith("app/lib/") && e.getKey().endsWith(".jar")) {
                elfs.addAll(extractPlatformLibraries(e.getValue(), scratch));
            }
        }
        Set<String> libs = new LinkedHashSet<>();
        for (Path elf : elfs) {
            Process ldd = new ProcessBuilder("ldd", elf.toString()).redirectErrorStream(true).start();
            List<String> missing = new ArrayList<>();
            try (BufferedReader r = new BufferedReader(new InputStreamReader(ldd.getInputStream(), StandardCharsets.UTF_8))) {
                for (String line; (line = r.readLine()) != null; ) {
                    Matcher m = LDD_RESOLVED.matcher(line);
                    Matcher d = LDD_DIRECT.matcher(line);
                    Matcher x = LDD_MISSING.matcher(line);
                    if (m.find()) {
                        libs.add(m.group(1));
                    } else if (d.find()) {
                        libs.add(d.group(1));
                    } else if (x.find() && !x.group(1).equals("libjvm.so")) {   // libjvm.so: found via RPATH at run time
                        missing.add(x.group(1));
                    }
                }
            }
            if (!ldd.waitFor(30, TimeUnit.SECONDS)) {
                ldd.destroyForcibly();
                throw new IllegalStateException("ldd " + elf + " did not finish within 30 s");
            }
            if (!missing.isEmpty() && !elf.startsWith(javaHome)) {
                warnings.add(elf.getFileName() + " lacks " + missing);
            }
        }
        for (String lib : libs) {
            Path p = Paths.get(lib);
            if (!p.startsWith(javaHome) && !p.startsWith(scratch)) {
                files.put(lib.substring(1), p);   // same path in the image; symlinks are stored as their target's bytes
            }
        }
    }

    private static List<Path> extractPlatformLibraries(Path jar, Path scratch) throws IOException {
        String arch = System.getProperty("os.arch").equals("amd64") ? "x86_64" : System.getProperty("os.arch");
        List<Path> out = new ArrayList<>();
        try (ZipFile zip = new ZipFile(jar.toFile())) {
            for (ZipEntry entry : java.util.Collections.list(zip.entries())) {
                String n = entry.getName().toLowerCase(Locale.ROOT);
                if (n.endsWith(".so") && n.contains("linux") && (n.contains(arch) || n.contains("amd64"))) {
                    Path dest = scratch.resolve(jar.getFileName() + "-" + Paths.get(entry.getName()).getFileName());
                    try (InputStream in = zip.getInputStream(entry)) {
                        Files.copy(in, dest, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
                    }
                    out.add(dest);
                }
            }
        }
        return out;
    }

    private String hash() throws IOException {
        try {
            MessageDigest sha = MessageDigest.getInstance("SHA-256");
            for (Map.Entry<String, Path> e : files.entrySet()) {
                sha.update((e.getKey() + "\0" + e.getValue() + "\0" + Files.size(e.getValue()) + "\0"
                        + Files.getLastModifiedTime(e.getValue()).toMillis() + "\n").getBytes(StandardCharsets.UTF_8));
            }
            sha.update((etcFiles() + DOCKERFILE).getBytes(StandardCharsets.UTF_8));
            return HexFormat.of().formatHex(sha.digest()).substring(0, 16);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    // ------------------------------------------------------------------ output

    private static Map<String, String> etcFiles() {
        Map<String, String> etc = new TreeMap<>();
        etc.put("etc/passwd", "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n");
        etc.put("etc/group", "root:x:0:\nnogroup:x:65534:\n");
        etc.put("etc/hosts", "127.0.0.1 localhost\n::1 localhost\n");
        etc.put("etc/nsswitch.conf", "passwd: files\ngroup: files\nhosts: files dns\n");
        return etc;
    }

    /** The build context: a Dockerfile and the root file system under {@code rootfs/}. */
    private void writeContext(Path tar) throws IOException {
        Files.createDirectories(tar.getParent());
        Set<String> dirs = new LinkedHashSet<>(List.of("rootfs/", "rootfs/tmp/", "rootfs/root/", "rootfs/etc/",
                "rootfs/app/"));
        try (OutputStream raw = Files.newOutputStream(tar);
             TarArchiveOutputStream out = new TarArchiveOutputStream(new java.io.BufferedOutputStream(raw, 1 << 16))) {
            out.setLongFileMode(TarArchiveOutputStream.LONGFILE_POSIX);
            out.setBigNumberMode(TarArchiveOutputStream.BIGNUMBER_POSIX);
            byte[] dockerfile = DOCKERFILE.getBytes(StandardCharsets.UTF_8);
            TarArchiveEntry df = new TarArchiveEntry("Dockerfile");
            df.setMode(0644);
            df.setSize(dockerfile.length);
            out.putArchiveEntry(df);
            out.write(dockerfile);
            out.closeArchiveEntry();
            for (String d : dirs) {
                TarArchiveEntry e = new TarArchiveEntry(d);
                e.setMode(d.equals("rootfs/tmp/") ? 01777 : 0755);
                out.putArchiveEntry(e);
                out.closeArchiveEntry();
            }
            for (Map.Entry<String, String> e : etcFiles().entrySet()) {
                byte[] b = e.getValue().getBytes(StandardCharsets.UTF_8);
                TarArchiveEntry entry = new TarArchiveEntry("rootfs/" + e.getKey());
                entry.setMode(0644);
                entry.setSize(b.length);
                out.putArchiveEntry(entry);
                out.write(b);
                out.closeArchiveEntry();
            }
            for (Map.Entry<String, Path> f : files.entrySet()) {
                // parent directories first, with ordinary permissions
                String[] parts = f.getKey().split("/");
                StringBuilder dir = new StringBuilder("rootfs/");
                for (int i = 0; i < parts.length - 1; i++) {
                    dir.append(parts[i]).append('/');
                    if (dirs.add(dir.toString())) {
                        TarArchiveEntry e = new TarArchiveEntry(dir.toString());
                        e.setMode(0755);
                        out.putArchiveEntry(e);
                        out.closeArchiveEntry();
                    }
                }
                Path src = f.getValue();
                TarArchiveEntry e = new TarArchiveEntry("rootfs/" + f.getKey());
                e.setMode(Files.isExecutable(src) ? 0755 : 0644);
                e.setSize(Files.size(src));
                e.setModTime(Files.getLastModifiedTime(src));
                out.putArchiveEntry(e);
                Files.copy(src, out);
                out.closeArchiveEntry();
            }
            out.finish();
        }
        if (files.keySet().stream().noneMatch(k -> k.contains("/ld-linux"))) {
            warnings.add("ldd found no dynamic loader (ld-linux); java may not start in the image");
        }
    }

    private void removeOlderTags(DockerClient docker) {
        for (Image image : docker.listImagesCmd().withImageNameFilter(REPOSITORY).exec()) {
            String[] tags = image.getRepoTags() == null ? new String[0] : image.getRepoTags();
            for (String t : tags) {
                if (t.startsWith(REPOSITORY + ":") && !t.equals(name())) {
                    try {
                        docker.removeImageCmd(t).exec();
                    } catch (RuntimeException e) {
                        warnings.add("could not remove the older image " + t + ": " + e.getMessage());
                    }
                }
            }
        }
    }
}
