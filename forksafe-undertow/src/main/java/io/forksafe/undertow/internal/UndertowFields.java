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
}
