package io.forksafe.undertow.internal;

import io.undertow.Undertow;
import io.undertow.server.HttpHandler;
import org.xnio.OptionMap;
import org.xnio.XnioWorker;

import java.lang.reflect.Field;

/**
 * Reads the few private fields of {@link Undertow} and {@link Undertow.Builder} that Undertow 2.3 has no getter for.
 * Every read degrades to a fallback (and the caller says so in the status) if a future Undertow renames a field.
 */
final class UndertowFields {

    private UndertowFields() {
    }

    static final class Unreadable extends Exception {
        private static final long serialVersionUID = 1L;

        Unreadable(String what, Throwable cause) {
            super("cannot read " + what + " (Undertow " + io.undertow.Version.getVersionString() + "): " + cause,
                    cause);
        }
    }

    static Object read(Object target, Class<?> type, String field) throws Unreadable {
        try {
            Field f = type.getDeclaredField(field);
            f.setAccessible(true);
            return f.get(target);
        } catch (ReflectiveOperationException | RuntimeException e) {
            throw new Unreadable(type.getSimpleName() + "." + field, e);
        }
    }

    static XnioWorker builderWorker(Undertow.Builder builder) throws Unreadable {
        return (XnioWorker) read(builder, Undertow.Builder.class, "worker");
    }

    static int builderIoThreads(Undertow.Builder builder) throws Unreadable {
        return (Integer) read(builder, Undertow.Builder.class, "ioThreads");
    }

    static int builderWorkerThreads(Undertow.Builder builder) throws Unreadable {
        return (Integer) read(builder, Undertow.Builder.class, "workerThreads");
    }

    static OptionMap builderWorkerOptions(Undertow.Builder builder) throws Unreadable {
        return ((OptionMap.Builder) read(builder, Undertow.Builder.class, "workerOptions")).getMap();
    }

    static int serverIoThreads(Undertow server) throws Unreadable {
        return (Integer) read(server, Undertow.class, "ioThreads");
    }

    static int serverWorkerThreads(Undertow server) throws Unreadable {
        return (Integer) read(server, Undertow.class, "workerThreads");
    }

    static OptionMap serverWorkerOptions(Undertow server) throws Unreadable {
        return (OptionMap) read(server, Undertow.class, "workerOptions");
    }

    static OptionMap serverOptions(Undertow server) throws Unreadable {
        return (OptionMap) read(server, Undertow.class, "serverOptions");
    }

    static OptionMap socketOptions(Undertow server) throws Unreadable {
        return (OptionMap) read(server, Undertow.class, "socketOptions");
    }

    static HttpHandler rootHandler(Undertow server) throws Unreadable {
        return (HttpHandler) read(server, Undertow.class, "rootHandler");
    }

    static int bufferSize(Undertow server) throws Unreadable {
        return (Integer) read(server, Undertow.class, "bufferSize");
    }

    static boolean directBuffers(Undertow server) throws Unreadable {
        return (Boolean) read(server, Undertow.class, "directBuffers");
    }

    static io.undertow.connector.ByteBufferPool byteBufferPool(Undertow server) throws Unreadable {
        return (io.undertow.connector.ByteBufferPool) read(server, Undertow.class, "byteBufferPool");
    }

    /** Writes a private (possibly final) instance field of {@code type}. */
    static void write(Object target, Class<?> type, String field, Object value) throws Unreadable {
        try {
            Field f = type.getDeclaredField(field);
            f.setAccessible(true);
            f.set(target, value);
        } catch (ReflectiveOperationException | RuntimeException e) {
            throw new Unreadable(type.getSimpleName() + "." + field + " (write)", e);
        }
    }

    /** The server's root handler and every listener's own one, each replaced by {@code wrap} of it. */
    static void wrapHandlers(Undertow server, java.util.function.UnaryOperator<HttpHandler> wrap) throws Unreadable {
        HttpHandler root = rootHandler(server);
        if (root != null) {
            write(server, Undertow.class, "rootHandler", wrap.apply(root));
        }
        for (Object listener : listeners(server)) {
            HttpHandler own = (HttpHandler) read(listener, listener.getClass(), "rootHandler");
            if (own != null) {
                write(listener, listener.getClass(), "rootHandler", wrap.apply(own));
            }
        }
    }

    @SuppressWarnings("unchecked")
    private static java.util.List<Object> listeners(Undertow server) throws Unreadable {
        return (java.util.List<Object>) read(server, Undertow.class, "listeners");
    }

    /** A builder listener that was taken out of the server before it started. */
    record RemovedListener(String host, int port, HttpHandler rootHandler) {
        String address() {
            return (host == null ? "0.0.0.0" : host) + ":" + port;
        }
    }

    /**
     * Takes the server's first HTTP listener out of its configuration (before {@code start()}, so it is never bound),
     * or returns null if it has none.
     */
    static RemovedListener removeFirstHttpListener(Undertow server) throws Unreadable {
        java.util.List<Object> all = listeners(server);
        for (java.util.Iterator<Object> it = all.iterator(); it.hasNext(); ) {
            Object listener = it.next();
            Object type = read(listener, listener.getClass(), "type");
            if (type == Undertow.ListenerType.HTTP) {
                RemovedListener removed = new RemovedListener((String) read(listener, listener.getClass(), "host"),
                        (Integer) read(listener, listener.getClass(), "port"),
                        (HttpHandler) read(listener, listener.getClass(), "rootHandler"));
                it.remove();
                return removed;
            }
        }
        return null;
    }
}
