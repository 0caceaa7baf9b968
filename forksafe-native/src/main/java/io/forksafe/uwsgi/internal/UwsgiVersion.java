package io.forksafe.uwsgi.internal;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;

/**
 * uWSGI's version, which its JVM API does not expose. Resolution order:
 * <ol>
 *   <li>the system property {@code forksafe.uwsgi.version} (in a uWSGI ini file:
 *       {@code jvm-opt = -Dforksafe.uwsgi.version=%V}, uWSGI's magic variable for its version);</li>
 *   <li>{@code <this process's executable> --version}, run once per worker JVM with an empty environment (uWSGI
 *       reads {@code UWSGI_*} variables as options) and a bounded wait. This starts a new program through the JDK's
 *       process launcher (posix_spawn); nothing forks the live JVM.</li>
 * </ol>
 *
 * @param version the version, or "" when unknown
 * @param source  where it came from, or why it is unknown
 */
public record UwsgiVersion(String version, String source) {

    /** The system property that overrides detection. */
    public static final String PROPERTY = "forksafe.uwsgi.version";

    private static final Pattern VERSION = Pattern.compile("\\d+\\.\\d+(\\.\\d+)*([.+~-][A-Za-z0-9.+~-]+)?");
    private static final long TIMEOUT_MILLIS = 5_000;
    private static volatile UwsgiVersion cached;

    /** The version for this process, detected once (a process's executable never changes). */
    public static UwsgiVersion detect() {
        UwsgiVersion v = cached;
        if (v == null) {
            synchronized (UwsgiVersion.class) {
                if (cached == null) {
                    cached = resolve(System.getProperty(PROPERTY), Path.of("/proc/self/exe"));
                }
                v = cached;
            }
        }
        return v;
    }

    static UwsgiVersion resolve(String property, Path executable) {
        if (property != null && !property.isBlank()) {
            String p = property.strip();
            if (VERSION.matcher(p).matches()) {
                return new UwsgiVersion(p, "system property " + PROPERTY);
            }
        }
        String exe;
        try {
            exe = executable.toRealPath().toString();
        } catch (IOException | RuntimeException e) {
            return new UwsgiVersion("", "unknown: cannot resolve " + executable + ": " + e);
        }
        if (!Files.isExecutable(Path.of(exe))) {
            return new UwsgiVersion("", "unknown: " + exe + " is not executable");
        }
        return run(exe);
    }

    static UwsgiVersion run(String exe) {
        long t0 = System.nanoTime();
        UwsgiVersion v = runOnce(exe);
        long millis = (System.nanoTime() - t0) / 1_000_000;
        return v.version().isEmpty() ? v : new UwsgiVersion(v.version(), v.source() + " (" + millis + " ms)");
    }

    private static UwsgiVersion runOnce(String exe) {
        Process p = null;
        try {
            ProcessBuilder pb = new ProcessBuilder(exe, "--version").redirectErrorStream(true)
                    .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")));
            pb.environment().clear();
            p = pb.start();
            String out;
            try (InputStream in = p.getInputStream()) {
                out = new String(in.readNBytes(4096), StandardCharsets.UTF_8).strip();
            }
            if (!p.waitFor(TIMEOUT_MILLIS, TimeUnit.MILLISECONDS)) {
                return new UwsgiVersion("", "unknown: " + exe + " --version did not finish in " + TIMEOUT_MILLIS + " ms");
            }
            String first = out.lines().findFirst().orElse("").strip();
            if (p.exitValue() == 0 && VERSION.matcher(first).matches()) {
                return new UwsgiVersion(first, exe + " --version");
            }
            return new UwsgiVersion("", "unknown: " + exe + " --version printed '" + abbreviate(first)
                    + "' (exit " + p.exitValue() + ")");
        } catch (IOException | RuntimeException e) {
            return new UwsgiVersion("", "unknown: " + exe + " --version failed: " + e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return new UwsgiVersion("", "unknown: interrupted while running " + exe + " --version");
        } finally {
            if (p != null && p.isAlive()) {
                p.destroyForcibly();
            }
        }
    }

    private static String abbreviate(String s) {
        return s.length() <= 80 ? s : s.substring(0, 80) + "...";
    }
}
