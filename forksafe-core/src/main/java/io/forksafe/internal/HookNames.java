package io.forksafe.internal;

import java.io.IOException;
import java.io.InputStream;
import java.lang.module.ModuleDescriptor;
import java.net.URISyntaxException;
import java.net.URL;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.CodeSource;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.jar.JarFile;
import java.util.zip.ZipEntry;

/**
 * The default status name of a hook subscribed without one. A named class keeps its class name; a lambda, a method
 * reference or an anonymous class is named after where it was subscribed: the first stack frame that is neither
 * forksafe's own code nor the JDK's, as {@code com.example.AppMain.main(AppMain.java:12)}.
 *
 * <p><b>What "forksafe's own code" means, exactly.</b> A class whose name starts with {@code io.forksafe.} and that
 * was loaded from forksafe's main code: the same jar or directory as forksafe-core, or one holding a module
 * descriptor named {@code io.forksafe.*} (every forksafe artifact has one: forksafe-jetty, -undertow, -native,
 * -crac). The package alone would not do: forksafe's own tests and demo apps live in {@code io.forksafe.*}
 * packages too, from directories without a descriptor, and their hooks deserve their real location. A class with no
 * code source location, or one that is not a local file, is judged by its package.
 *
 * <p>The walk is lazy and stops at the first match; the verdict per class and per code source is cached.
 *
 * <pre>{@code
 * String name = HookNames.of(hook); // "com.example.AppMain.main(AppMain.java:12)"
 * }</pre>
 */
public final class HookNames {

    private static final String OWN_PREFIX = "io.forksafe.";
    private static final StackWalker WALKER = StackWalker.getInstance(StackWalker.Option.RETAIN_CLASS_REFERENCE);
    private static final ClassLoader PLATFORM = ClassLoader.getPlatformClassLoader();
    private static final Optional<URL> CORE_LOCATION = location(HookNames.class);
    private static final Map<String, Boolean> OWN_LOCATIONS = new ConcurrentHashMap<>();
    private static final ClassValue<Boolean> OWN = new ClassValue<>() {
        @Override
        protected Boolean computeValue(Class<?> type) {
            return computeIsForksafeCode(type);
        }
    };

    private HookNames() {
    }

    /** The default name of {@code hook}, from its class, or else from the caller's stack. */
    public static String of(Object hook) {
        Class<?> type = hook.getClass();
        if (!type.isHidden() && !type.isSynthetic() && !type.isAnonymousClass()) {
            return type.getName();
        }
        return subscribedAt().orElseGet(() -> hiddenClassName(type));
    }

    /** The first frame of the current stack that is neither forksafe's own code nor the JDK's, formatted. */
    static Optional<String> subscribedAt() {
        return WALKER.walk(frames -> frames
                .filter(f -> !isJdk(f.getDeclaringClass()) && !isForksafeCode(f.getDeclaringClass()))
                .findFirst()
                .map(HookNames::format));
    }

    /** {@code true} for classes of forksafe's main code (any module), {@code false} for everything else. */
    public static boolean isForksafeCode(Class<?> type) {
        return OWN.get(type);
    }

    private static boolean computeIsForksafeCode(Class<?> type) {
        if (!type.getName().startsWith(OWN_PREFIX)) {
            return false;
        }
        Optional<URL> location = location(type);
        if (location.isEmpty()) {
            return true;
        }
        if (location.equals(CORE_LOCATION)) {
            return true; // forksafe-core itself, or a jar that forksafe was shaded into
        }
        return OWN_LOCATIONS.computeIfAbsent(location.get().toString(), k -> holdsForksafeModule(location.get()));
    }

    private static boolean isJdk(Class<?> type) {
        ClassLoader loader = type.getClassLoader();
        return loader == null || loader == PLATFORM;
    }

    private static Optional<URL> location(Class<?> type) {
        CodeSource source = type.getProtectionDomain().getCodeSource();
        return Optional.ofNullable(source == null ? null : source.getLocation());
    }

    /** Whether a jar or classes directory holds a module descriptor named {@code io.forksafe.*}. */
    private static boolean holdsForksafeModule(URL location) {
        if (!"file".equals(location.getProtocol())) {
            return true; // cannot look inside: judge by the package
        }
        try {
            Path path = Path.of(location.toURI());
            if (Files.isDirectory(path)) {
                Path descriptor = path.resolve("module-info.class");
                if (!Files.isRegularFile(descriptor)) {
                    return false;
                }
                try (InputStream in = Files.newInputStream(descriptor)) {
                    return isForksafeModule(in);
                }
            }
            try (JarFile jar = new JarFile(path.toFile())) {
                ZipEntry entry = jar.getEntry("module-info.class");
                if (entry == null) {
                    return false;
                }
                try (InputStream in = jar.getInputStream(entry)) {
                    return isForksafeModule(in);
                }
            }
        } catch (IOException | URISyntaxException | IllegalArgumentException e) {
            return true; // unreadable: judge by the package
        }
    }

    private static boolean isForksafeModule(InputStream descriptor) throws IOException {
        return ModuleDescriptor.read(descriptor).name().startsWith(OWN_PREFIX);
    }

    private static String format(StackWalker.StackFrame f) {
        String file = f.getFileName();
        int line = f.getLineNumber();
        return f.getClassName() + "." + f.getMethodName() + "("
                + (file == null ? "Unknown Source" : line >= 0 ? file + ":" + line : file) + ")";
    }

    /** The last resort when the whole stack is forksafe's or the JDK's: the class name without its hidden suffix. */
    private static String hiddenClassName(Class<?> type) {
        String n = type.getName();
        int hidden = n.indexOf('/');
        return hidden > 0 ? n.substring(0, hidden) : n;
    }
}
