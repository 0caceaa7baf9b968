package io.forksafe.arbiter;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Finds CRIU and checks that this machine can checkpoint and restore a JVM, for the arbiter's preload mode
 * ({@link ArbiterConfig.Builder#preload(boolean)}, {@code ArbiterMain --preload}).
 *
 * <p>Needs Linux, root (or {@code CAP_SYS_ADMIN} and {@code CAP_CHECKPOINT_RESTORE}), CRIU 4.2 or newer (older
 * versions fail on current kernels or cannot dump listening TCP sockets), {@code criu check} saying "Looks good",
 * and {@code unshare} and {@code setsid} from util-linux. The binary is {@code $FORKSAFE_CRIU}, else {@code criu} on
 * the {@code PATH}, {@code /usr/local/sbin} or {@code /usr/sbin}.
 *
 * <pre>{@code
 * Criu criu = Criu.requireUsable();          // throws PreloadUnavailableException naming the missing piece
 * Optional<String> why = Criu.unavailableReason();   // or ask first
 * }</pre>
 */
public final class Criu {

    /** Environment variable naming the criu binary to use. */
    public static final String ENV_CRIU = "FORKSAFE_CRIU";
    /** The oldest CRIU version known to work (major, minor). */
    public static final int[] MIN_VERSION = {4, 2};

    private static final int CAP_SYS_ADMIN = 21;
    private static final int CAP_CHECKPOINT_RESTORE = 40;

    private final Path binary;
    private final Path unshare;
    private final Path setsid;
    private final String version;

    private Criu(Path binary, Path unshare, Path setsid, String version) {
        this.binary = binary;
        this.unshare = unshare;
        this.setsid = setsid;
        this.version = version;
    }

    /** The criu binary. */
    public Path binary() {
        return binary;
    }

    /** The unshare binary (util-linux), which puts each restored copy in its own pid namespace. */
    public Path unshare() {
        return unshare;
    }

    /**
     * The setsid binary (util-linux), which starts the template as the leader of its own session: CRIU cannot dump
     * a process whose session leader lives outside its pid namespace (as in containers and CI sandboxes).
     */
    public Path setsid() {
        return setsid;
    }

    /** The version {@code criu --version} reported, for example "4.2.1". */
    public String version() {
        return version;
    }

    /** Why CRIU cannot be used here, or empty when {@link #requireUsable()} would succeed. */
    public static Optional<String> unavailableReason() {
        try {
            requireUsable();
            return Optional.empty();
        } catch (PreloadUnavailableException e) {
            return Optional.of(e.getMessage());
        }
    }

    /**
     * Checks every requirement, in order: Linux, privileges, the criu binary, its version, {@code criu check},
     * {@code unshare}, {@code setsid}.
     *
     * @throws PreloadUnavailableException naming the first missing piece and how to provide it
     */
    public static Criu requireUsable() {
        return requireUsable(System::getenv);
    }

    static Criu requireUsable(java.util.function.Function<String, String> env) {
        String os = System.getProperty("os.name", "?");
        if (!os.toLowerCase(Locale.ROOT).contains("linux")) {
            throw new PreloadUnavailableException("the operating system: CRIU runs only on Linux, this is " + os);
        }
        if (!privileged()) {
            throw new PreloadUnavailableException("privileges: checkpoint/restore needs root, or CAP_SYS_ADMIN and "
                    + "CAP_CHECKPOINT_RESTORE (for example `setcap cap_sys_admin,cap_checkpoint_restore+eip` on "
                    + "java, criu and unshare); this process has neither");
        }
        Path criu = findBinary(env.apply(ENV_CRIU), "criu", env.apply("PATH"))
                .orElseThrow(() -> new PreloadUnavailableException("the criu binary: none found ($" + ENV_CRIU
                        + ", PATH, /usr/local/sbin, /usr/sbin); install CRIU >= " + MIN_VERSION[0] + "."
                        + MIN_VERSION[1] + " (the project's .ci/criu.sh builds 4.2.1) or set " + ENV_CRIU));
        Run v = run(List.of(criu.toString(), "--version"), 10);
        Matcher m = Pattern.compile("Version:\\s*(\\d+)\\.(\\d+)(\\.\\d+)?").matcher(v.output);
        if (!m.find()) {
            throw new PreloadUnavailableException("a working criu: `" + criu + " --version` printed no version ("
                    + v.output.strip() + ")");
        }
        String version = m.group(1) + "." + m.group(2) + (m.group(3) == null ? "" : m.group(3));
        int major = Integer.parseInt(m.group(1));
        int minor = Integer.parseInt(m.group(2));
        if (major < MIN_VERSION[0] || (major == MIN_VERSION[0] && minor < MIN_VERSION[1])) {
            throw new PreloadUnavailableException("CRIU >= " + MIN_VERSION[0] + "." + MIN_VERSION[1] + ": " + criu
                    + " is " + version + ", which fails on current kernels (\"Unexpected rt vDSO area bounds\") or "
                    + "cannot dump listening TCP sockets; install 4.2 or newer (.ci/criu.sh) or point " + ENV_CRIU
                    + " at it");
        }
        Run check = run(List.of(criu.toString(), "check"), 60);
        if (!check.output.contains("Looks good")) {
            throw new PreloadUnavailableException("kernel support: `" + criu + " check` did not say \"Looks good\": "
                    + check.output.strip());
        }
        Path unshare = findBinary(null, "unshare", env.apply("PATH")).orElseThrow(() -> new PreloadUnavailableException(
                "the unshare binary (util-linux): not found on the PATH; install util-linux"));
        Path setsid = findBinary(null, "setsid", env.apply("PATH")).orElseThrow(() -> new PreloadUnavailableException(
                "the setsid binary (util-linux): not found on the PATH; install util-linux"));
        return new Criu(criu, unshare, setsid, version);
    }

    /** Root (effective uid 0), or both capabilities in the effective set. */
    static boolean privileged() {
        try {
            long caps = 0;
            boolean root = false;
            for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
                if (line.startsWith("Uid:")) {
                    root = "0".equals(line.substring(4).strip().split("\\s+")[1]);
                } else if (line.startsWith("CapEff:")) {
                    caps = Long.parseUnsignedLong(line.substring(7).strip(), 16);
                }
            }
            return root || ((caps & (1L << CAP_SYS_ADMIN)) != 0 && (caps & (1L << CAP_CHECKPOINT_RESTORE)) != 0);
        } catch (IOException | RuntimeException e) {
            return false;
        }
    }

    private static Optional<Path> findBinary(String explicit, String name, String path) {
        if (explicit != null && !explicit.isBlank()) {
            Path p = Path.of(explicit.strip());
            if (!Files.isExecutable(p)) {
                throw new PreloadUnavailableException("the criu binary: " + ENV_CRIU + "=" + explicit
                        + " is not an executable file");
            }
            return Optional.of(p);
        }
        List<String> dirs = new ArrayList<>();
        if (path != null) {
            dirs.addAll(List.of(path.split(":")));
        }
        dirs.addAll(List.of("/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin"));
        for (String d : dirs) {
            if (d.isEmpty()) {
                continue;
            }
            Path p = Path.of(d, name);
            if (Files.isExecutable(p)) {
                return Optional.of(p);
            }
        }
        return Optional.empty();
    }

    private record Run(int exit, String output) {
    }

    private static Run run(List<String> command, int timeoutSeconds) {
        try {
            Process p = new ProcessBuilder(command).redirectErrorStream(true)
                    .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null"))).start();
            String out;
            try (InputStream in = p.getInputStream()) {
                out = new String(in.readAllBytes(), StandardCharsets.UTF_8);
            }
            if (!p.waitFor(timeoutSeconds, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                throw new PreloadUnavailableException("a working criu: `" + String.join(" ", command)
                        + "` did not finish within " + timeoutSeconds + " s");
            }
            return new Run(p.exitValue(), out);
        } catch (IOException e) {
            throw new PreloadUnavailableException("a working criu: cannot run `" + String.join(" ", command) + "`: "
                    + e.getMessage());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new PreloadUnavailableException("a working criu: interrupted while running `"
                    + String.join(" ", command) + "`");
        }
    }

    @Override
    public String toString() {
        return "Criu[" + binary + " " + version + "]";
    }
}
