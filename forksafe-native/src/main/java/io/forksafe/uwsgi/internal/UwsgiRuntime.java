package io.forksafe.uwsgi.internal;

import java.lang.reflect.Field;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;

/**
 * Reflective access to uWSGI's Java API: the class {@code uwsgi} in the default package
 * ({@code /usr/share/java/uwsgi.jar}), whose native methods uWSGI's JVM plugin registers when it creates the worker's
 * JVM. Reflection keeps forksafe free of a compile dependency on a default-package class.
 *
 * <p>What the JVM can see (uWSGI 2.0 {@code plugins/jvm/jvm_plugin.c}): {@code worker_id()} returns
 * {@code uwsgi.mywid}, and the static field {@code opt} holds every option uWSGI was configured with
 * ({@code uwsgi.exported_opts}: flags as {@code Boolean.TRUE}, repeated options as lists).
 */
public final class UwsgiRuntime {

    /** The name of uWSGI's API class, in the default package. */
    public static final String API_CLASS = "uwsgi";

    private final Class<?> api;
    private final String absentReason;

    private UwsgiRuntime(Class<?> api, String absentReason) {
        this.api = api;
        this.absentReason = absentReason;
    }

    /**
     * Finds uWSGI's API class through {@code loader} (then the system class loader) and checks that its natives are
     * registered, which only uWSGI's JVM plugin does.
     */
    public static UwsgiRuntime locate(ClassLoader loader) {
        Class<?> c = null;
        for (ClassLoader l : new ClassLoader[] {loader, ClassLoader.getSystemClassLoader()}) {
            if (l == null) {
                continue;
            }
            try {
                c = Class.forName(API_CLASS, true, l);
                break;
            } catch (ClassNotFoundException | LinkageError e) {
                // try the next loader
            }
        }
        if (c == null) {
            return new UwsgiRuntime(null, "class 'uwsgi' (uWSGI's Java API, /usr/share/java/uwsgi.jar) is not on the "
                    + "class path: this JVM is not a uWSGI JVM worker");
        }
        try {
            c.getMethod("worker_id").invoke(null);
            return new UwsgiRuntime(c, null);
        } catch (InvocationTargetException e) {
            if (e.getCause() instanceof UnsatisfiedLinkError) {
                return new UwsgiRuntime(null, "class 'uwsgi' is on the class path but its native methods are not "
                        + "registered: this JVM was not created by uWSGI's JVM plugin");
            }
            return new UwsgiRuntime(null, "uwsgi.worker_id() failed: " + e.getCause());
        } catch (ReflectiveOperationException | RuntimeException e) {
            return new UwsgiRuntime(null, "class 'uwsgi' found but unusable: " + e);
        }
    }

    /** Whether this JVM was created by uWSGI's JVM plugin. */
    public boolean present() {
        return api != null;
    }

    /** Why uWSGI is not present, or null when it is. */
    public String absentReason() {
        return absentReason;
    }

    /** {@code uwsgi.worker_id()}: 1..N in a worker, 0 in the master, a mule or a spooler. */
    public int workerId() {
        requirePresent();
        try {
            return ((Number) api.getMethod("worker_id").invoke(null)).intValue();
        } catch (ReflectiveOperationException e) {
            throw new IllegalStateException("uwsgi.worker_id() failed: " + e, e);
        }
    }

    /**
     * uWSGI's configured options ({@code uwsgi.opt}), values rendered as strings (lists joined with {@code ","},
     * flags as {@code "true"}). Empty if the field is missing (an older uwsgi.jar).
     */
    public Map<String, String> options() {
        requirePresent();
        Map<?, ?> raw;
        try {
            Field f = api.getDeclaredField("opt");
            f.setAccessible(true);
            raw = (Map<?, ?>) f.get(null);
        } catch (ReflectiveOperationException | RuntimeException e) {
            return Map.of();
        }
        if (raw == null) {
            return Map.of();
        }
        Map<String, String> out = new TreeMap<>();
        synchronized (raw) {
            raw.forEach((k, v) -> out.put(String.valueOf(k), render(v)));
        }
        return Collections.unmodifiableMap(out);
    }

    static String render(Object v) {
        if (v instanceof List<?> list) {
            StringBuilder sb = new StringBuilder();
            for (Object o : list) {
                if (sb.length() > 0) {
                    sb.append(',');
                }
                sb.append(render(o));
            }
            return sb.toString();
        }
        return v instanceof Boolean b ? String.valueOf(b.booleanValue()) : String.valueOf(v);
    }

    /**
     * Whether the options turn the master process on: {@code master} present and not a false value
     * ({@code 0}, {@code false}, {@code no}, {@code off}; uWSGI's flag parser takes only the last value).
     */
    public static boolean masterEnabled(Map<String, String> options) {
        String v = options.get("master");
        if (v == null) {
            return false;
        }
        String[] all = v.split(",");
        String last = all.length == 0 ? "" : all[all.length - 1].strip().toLowerCase(Locale.ROOT);
        return !(last.equals("0") || last.equals("false") || last.equals("no") || last.equals("off"));
    }

    private void requirePresent() {
        Objects.requireNonNull(api, () -> "uWSGI is not present: " + absentReason);
    }
}
