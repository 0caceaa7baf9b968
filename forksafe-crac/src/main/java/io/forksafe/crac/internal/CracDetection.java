package io.forksafe.crac.internal;

/**
 * Which CRaC implementation {@code org.crac} will use in this JVM, found the way {@code org.crac.Core} finds it:
 * the package named by the system property {@code org.crac.Core.Compat} (AWS Lambda's runtime sets it), then
 * {@code javax.crac}, then {@code jdk.crac}. Without one, {@code org.crac} accepts resources silently and never
 * calls them.
 *
 * @param implementation the implementation's package, or null when there is none
 * @param reason         what was found or why there is none, in one sentence
 */
public record CracDetection(String implementation, String reason) {

    /** The system property org.crac reads to find a non-JDK implementation. */
    public static final String COMPAT_PROPERTY = "org.crac.Core.Compat";

    /** {@code true} when checkpoint/restore notifications can actually arrive. */
    public boolean available() {
        return implementation != null;
    }

    /** Looks at this JVM. */
    public static CracDetection detect() {
        String compat = System.getProperty(COMPAT_PROPERTY);
        if (compat != null && !compat.isBlank() && present(compat.strip() + ".Core")) {
            return new CracDetection(compat.strip(), "CRaC implementation " + compat.strip()
                    + " (from -D" + COMPAT_PROPERTY + ")");
        }
        for (String pkg : new String[] {"javax.crac", "jdk.crac"}) {
            if (present(pkg + ".Core")) {
                return new CracDetection(pkg, "CRaC implementation " + pkg + " in " + jvm());
            }
        }
        return new CracDetection(null, "no CRaC implementation in " + jvm() + " (neither jdk.crac nor javax.crac"
                + (compat == null ? "" : " nor " + compat + " from -D" + COMPAT_PROPERTY) + " is present)");
    }

    static String jvm() {
        return System.getProperty("java.vm.vendor", "?") + " " + System.getProperty("java.vm.name", "JVM") + " "
                + Runtime.version();
    }

    private static boolean present(String className) {
        try {
            Class.forName(className, false, CracDetection.class.getClassLoader());
            return true;
        } catch (ClassNotFoundException | LinkageError e) {
            try {
                Class.forName(className, false, ClassLoader.getSystemClassLoader());
                return true;
            } catch (ClassNotFoundException | LinkageError e2) {
                return false;
            }
        }
    }
}
