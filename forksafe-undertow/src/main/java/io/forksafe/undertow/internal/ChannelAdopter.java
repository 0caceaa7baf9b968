package io.forksafe.undertow.internal;

import io.undertow.Undertow;
import io.undertow.UndertowOptions;
import io.undertow.connector.ByteBufferPool;
import io.undertow.server.DefaultByteBufferPool;
import io.undertow.server.HttpHandler;
import io.undertow.server.protocol.http.HttpOpenListener;
import org.xnio.ChannelListener;
import org.xnio.ChannelListeners;
import org.xnio.OptionMap;
import org.xnio.Options;
import org.xnio.StreamConnection;
import org.xnio.XnioWorker;
import org.xnio.channels.AcceptListenerSettable;
import org.xnio.channels.AcceptingChannel;

import java.io.IOException;
import java.lang.reflect.Constructor;
import java.lang.reflect.Field;
import java.lang.reflect.Method;
import java.lang.reflect.InvocationTargetException;
import java.net.InetSocketAddress;
import java.nio.channels.ServerSocketChannel;

/**
 * Serves an already bound, listening {@link ServerSocketChannel} (for example the arbiter's socket inherited as fd 0)
 * with an Undertow server's root handler on its XNIO worker.
 *
 * <p>Undertow and XNIO 3.8 can only bind new sockets. XNIO's own {@code NioXnioWorker.createTcpConnectionServer}
 * opens and binds a channel, then wraps it as {@code new QueuedNioTcpServer2(new NioTcpServer(worker, channel,
 * options, true))}. Both classes are package-private, so this does exactly that by reflection on the given channel,
 * and then wires Undertow's {@link HttpOpenListener} the way {@code Undertow.start()} does for an HTTP listener.
 */
final class ChannelAdopter {

    private ChannelAdopter() {
    }

    /** One adopted listener: the XNIO server channel and what must be released with it. */
    record Adopted(AcceptingChannel<StreamConnection> server, ServerSocketChannel channel, ByteBufferPool ownBuffers,
                   InetSocketAddress address) {

        /**
         * Stops accepting from the socket without closing it: the caller owns it. Closing matters twice over: the
         * socket may be shared (other servers, other worker processes keep accepting from its queue), and closing the
         * JDK's inherited channel makes the JDK redirect stdin, stdout and stderr to /dev/null. Connections already
         * accepted go on; call it once.
         *
         * @return null, or why the socket had to be closed after all
         */
        String stopAccepting() {
            String problem = null;
            try {
                server.suspendAccepts();
                detach(server);
            } catch (ReflectiveOperationException | RuntimeException e) {
                problem = "could not stop serving " + address + " without closing it (" + e + "); closed it";
                try {
                    server.close();
                } catch (IOException ignored) {
                    // already closed
                }
            }
            return problem;
        }

        /** Frees the buffers of the connections this socket accepted: only once none of them runs any more. */
        void closeBuffers() {
            if (ownBuffers != null) {
                ownBuffers.close();
            }
        }
    }

    /**
     * Cancels the selection keys of XNIO's server on its I/O threads and unregisters its MBean, leaving the channel
     * open. (On worker shutdown XNIO closes every channel still registered with its selectors.)
     */
    static void detach(AcceptingChannel<StreamConnection> queuedServer) throws ReflectiveOperationException {
        Object real = field(queuedServer.getClass(), "realServer").get(queuedServer);
        Object[] handles = (Object[]) field(real.getClass(), "handles").get(real);
        for (Object handle : handles) {
            Method cancelKey = handle.getClass().getSuperclass().getDeclaredMethod("cancelKey", boolean.class);
            cancelKey.setAccessible(true);
            cancelKey.invoke(handle, true); // blocks until the I/O thread has deregistered the key
        }
        Object mbean = field(real.getClass(), "mbeanHandle").get(real);
        if (mbean instanceof java.io.Closeable c) {
            try {
                c.close();
            } catch (IOException ignored) {
                // JMX unregistration is best effort
            }
        }
    }

    private static Field field(Class<?> type, String name) throws NoSuchFieldException {
        Field f = type.getDeclaredField(name);
        f.setAccessible(true);
        return f;
    }

    /** The channel's local address as {@code host:port}, for messages. */
    static String describe(ServerSocketChannel channel) {
        try {
            java.net.SocketAddress a = channel.getLocalAddress();
            if (a instanceof InetSocketAddress isa) {
                String host = isa.getAddress() != null ? isa.getAddress().getHostAddress() : isa.getHostString();
                return (host.indexOf(':') >= 0 ? "[" + host + "]" : host) + ":" + isa.getPort();
            }
            return String.valueOf(a);
        } catch (IOException e) {
            return "(address unknown: " + e.getMessage() + ")";
        }
    }

    static Adopted adopt(Undertow server, XnioWorker worker, ServerSocketChannel channel) throws IOException {
        return adopt(server, worker, channel, null);
    }

    /** Serves {@code channel} with {@code handler}, or with the server's root handler if it is null. */
    static Adopted adopt(Undertow server, XnioWorker worker, ServerSocketChannel channel, HttpHandler handler)
            throws IOException {
        if (!channel.isOpen()) {
            throw new IOException("the channel to serve is closed; pass an open, bound ServerSocketChannel");
        }
        InetSocketAddress local = (InetSocketAddress) channel.getLocalAddress();
        if (local == null) {
            throw new IOException("the channel to serve is not bound; bind it (or let the arbiter pass its listening "
                    + "socket as fd 0) before adopting it");
        }
        HttpHandler root;
        OptionMap serverOptions;
        OptionMap socketOptions;
        ByteBufferPool buffers;
        ByteBufferPool own = null;
        try {
            root = handler != null ? handler : UndertowFields.rootHandler(server);
            serverOptions = UndertowFields.serverOptions(server);
            socketOptions = UndertowFields.socketOptions(server);
            buffers = UndertowFields.byteBufferPool(server);
            if (buffers == null) {
                own = new DefaultByteBufferPool(UndertowFields.directBuffers(server), UndertowFields.bufferSize(server),
                        -1, 4);
                buffers = own;
            }
        } catch (UndertowFields.Unreadable e) {
            throw new IOException(e.getMessage() + "; serve the socket with a listener instead", e);
        }
        if (root == null) {
            throw new IOException("the Undertow server has no root handler: call builder.setHandler(...) before "
                    + "build() so the inherited socket has something to serve");
        }
        OptionMap tcpOptions = OptionMap.builder()
                .set(Options.WORKER_IO_THREADS, worker.getIoThreadCount())
                .set(Options.TCP_NODELAY, true)
                .set(Options.REUSE_ADDRESSES, true)
                .addAll(socketOptions)
                .getMap();
        OptionMap undertowOptions = OptionMap.builder()
                .set(UndertowOptions.NO_REQUEST_TIMEOUT, 60 * 1000)
                .set(UndertowOptions.BUFFER_PIPELINED_DATA, true)
                .addAll(serverOptions)
                .getMap();
        HttpOpenListener openListener = new HttpOpenListener(buffers, undertowOptions);
        openListener.setRootHandler(root);
        ChannelListener<AcceptingChannel<StreamConnection>> acceptListener =
                ChannelListeners.openListenerAdapter(openListener);
        channel.configureBlocking(false);
        AcceptingChannel<StreamConnection> xnioServer;
        try {
            xnioServer = newXnioServer(worker, channel, tcpOptions);
        } catch (IOException | RuntimeException e) {
            if (own != null) {
                own.close();
            }
            throw e;
        }
        @SuppressWarnings({"unchecked", "rawtypes"})
        AcceptListenerSettable<AcceptingChannel<StreamConnection>> settable = (AcceptListenerSettable) xnioServer;
        settable.setAcceptListener(acceptListener);
        xnioServer.resumeAccepts();
        return new Adopted(xnioServer, channel, own, local);
    }

    @SuppressWarnings("unchecked")
    private static AcceptingChannel<StreamConnection> newXnioServer(XnioWorker worker, ServerSocketChannel channel,
                                                                    OptionMap options) throws IOException {
        Class<?> workerClass = worker.getClass();
        if (!workerClass.getName().equals("org.xnio.nio.NioXnioWorker")) {
            throw new IOException("cannot adopt a socket on XNIO worker " + workerClass.getName()
                    + ": only the NIO provider (xnio-nio) is supported");
        }
        try {
            ClassLoader loader = workerClass.getClassLoader();
            Class<?> tcpServer = Class.forName("org.xnio.nio.NioTcpServer", false, loader);
            Constructor<?> tcp = tcpServer.getDeclaredConstructor(workerClass, ServerSocketChannel.class,
                    OptionMap.class, boolean.class);
            tcp.setAccessible(true);
            Object real = tcp.newInstance(worker, channel, options, true);
            Class<?> queuedServer = Class.forName("org.xnio.nio.QueuedNioTcpServer2", false, loader);
            Constructor<?> queued = queuedServer.getDeclaredConstructor(tcpServer);
            queued.setAccessible(true);
            return (AcceptingChannel<StreamConnection>) queued.newInstance(real);
        } catch (InvocationTargetException e) {
            Throwable cause = e.getCause();
            if (cause instanceof IOException io) {
                throw io;
            }
            throw new IOException("XNIO refused the socket: " + cause, cause);
        } catch (ReflectiveOperationException | RuntimeException e) {
            throw new IOException("cannot build XNIO's NioTcpServer on the socket (XNIO "
                    + org.xnio.Version.getVersionString() + "): " + e
                    + "; this needs xnio-nio 3.8 with NioTcpServer(NioXnioWorker, ServerSocketChannel, OptionMap, "
                    + "boolean)", e);
        }
    }
}
