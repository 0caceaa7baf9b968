package io.forksafe.internal;

import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.ServiceConfigurationError;
import java.util.ServiceLoader;
import java.util.function.BiConsumer;

/**
 * ServiceLoader discovery in the slf4j style: one broken provider ({@link ServiceConfigurationError}) is reported and
 * skipped, never fatal. Providers are looked up through the given class loader and through forksafe's own, and
 * de-duplicated by class name.
 */
public final class ServiceLoading {

    private static final int MAX_PROVIDERS = 256;

    private ServiceLoading() {
    }

    public static <T> List<T> load(Class<T> type, ClassLoader loader, BiConsumer<String, String> onError) {
        Map<String, T> found = new LinkedHashMap<>();
        if (loader != null) {
            collect(ServiceLoader.load(type, loader), found, type, onError);
        }
        ClassLoader own = ServiceLoading.class.getClassLoader();
        if (own != loader) {
            collect(ServiceLoader.load(type, own), found, type, onError);
        }
        // In a named module, providers declared with 'provides' in the module layer.
        if (ServiceLoading.class.getModule().isNamed()) {
            collect(ServiceLoader.load(ServiceLoading.class.getModule().getLayer(), type), found, type, onError);
        }
        return new ArrayList<>(found.values());
    }

    private static <T> void collect(ServiceLoader<T> loader, Map<String, T> found, Class<T> type,
                                    BiConsumer<String, String> onError) {
        Iterator<T> it = loader.iterator();
        for (int i = 0; i < MAX_PROVIDERS; i++) {
            try {
                if (!it.hasNext()) {
                    return;
                }
                T provider = it.next();
                found.putIfAbsent(provider.getClass().getName(), provider);
            } catch (ServiceConfigurationError | LinkageError e) {
                onError.accept("a " + type.getSimpleName() + " provider", rootMessage(e));
            }
        }
    }

    private static String rootMessage(Throwable e) {
        Throwable t = e;
        StringBuilder out = new StringBuilder(String.valueOf(t.getMessage()));
        while (t.getCause() != null && t.getCause() != t) {
            t = t.getCause();
            out.append(" <- ").append(t);
        }
        return out.toString();
    }
}
