package io.forksafe.arbiter.internal;

import java.io.IOException;
import java.lang.reflect.Method;
import java.net.BindException;
import java.net.Inet6Address;
import java.net.InetSocketAddress;
import java.net.StandardSocketOptions;
import java.nio.channels.ServerSocketChannel;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;

/**
 * The arbiter's listening socket: bound once with the JDK's own {@link ServerSocketChannel} (so errors, IPv6 and
 * ephemeral ports behave exactly as in any Java server, and {@code SO_REUSEADDR} is on), then its file descriptor
 * number is found so that every worker can receive it as fd 0.
 *
 * <p>The descriptor is found without {@code --add-exports}: on Linux, the socket's inode is looked up in
 * {@code /proc/self/net/tcp{,6}} (LISTEN state, our port) and matched with {@code /proc/self/fd/*}. Where
 * {@code /proc} is missing it falls back to {@code sun.nio.ch.SelChImpl.getFDVal()}, which needs
 * {@code --add-exports java.base/sun.nio.ch=ALL-UNNAMED}; the error says so.
 */
public final class ListenSocket implements java.io.Closeable {

    private final ServerSocketChannel channel;
    private final InetSocketAddress address;
    private final int fd;
    private final String fdSource;

    private ListenSocket(ServerSocketChannel channel, InetSocketAddress address, int fd, String fdSource) {
        this.channel = channel;
        this.address = address;
        this.fd = fd;
        this.fdSource = fdSource;
    }

    /**
     * Binds {@code requested} with {@code backlog}.
     *
     * @throws BindException with a message naming the address and the fix when it is in use or not local
     * @throws IOException   if the descriptor cannot be found
     */
    public static ListenSocket bind(InetSocketAddress requested, int backlog) throws IOException {
        ServerSocketChannel ch = ServerSocketChannel.open();
        try {
            ch.setOption(StandardSocketOptions.SO_REUSEADDR, true);
            try {
                ch.bind(requested, backlog);
            } catch (BindException e) {
                String what = describe(requested);
                String msg = String.valueOf(e.getMessage()).toLowerCase(Locale.ROOT).contains("in use")
                        ? what + " is already in use: stop the process listening there or choose another --bind"
                        : "cannot bind " + what + " (" + e.getMessage() + "): use a local address, e.g. --bind 127.0.0.1:8080";
                BindException clear = new BindException(msg);
                clear.initCause(e);
                throw clear;
            }
            InetSocketAddress local = (InetSocketAddress) ch.getLocalAddress();
            String[] source = new String[1];
            int fd = findFd(ch, local, source);
            return new ListenSocket(ch, local, fd, source[0]);
        } catch (IOException | RuntimeException e) {
            ch.close();
            throw e;
        }
    }

    /** "host:port" the way users write it ("[::1]:8080" for IPv6). */
    public static String describe(InetSocketAddress a) {
        String host = a.getAddress() != null ? a.getAddress().getHostAddress() : a.getHostString();
        if (a.getAddress() instanceof Inet6Address) {
            host = "[" + host + "]";
        }
        return host + ":" + a.getPort();
    }

    /** The bound address (with the real port when 0 was requested). */
    public InetSocketAddress address() {
        return address;
    }

    /** The descriptor number in this process. */
    public int fd() {
        return fd;
    }

    /** How the descriptor was found ("/proc" or "sun.nio.ch"). */
    public String fdSource() {
        return fdSource;
    }

    /** Closes the arbiter's copy; workers keep theirs. */
    @Override
    public void close() throws IOException {
        channel.close();
    }

    private static int findFd(ServerSocketChannel ch, InetSocketAddress local, String[] source) throws IOException {
        Path procFd = Path.of("/proc/self/fd");
        if (Files.isDirectory(procFd)) {
            Set<String> inodes = new HashSet<>();
            for (String table : List.of("/proc/self/net/tcp", "/proc/self/net/tcp6")) {
                inodes.addAll(listeningInodes(Path.of(table), local.getPort()));
            }
            List<Integer> matches = new ArrayList<>();
            try (DirectoryStream<Path> fds = Files.newDirectoryStream(procFd)) {
                for (Path p : fds) {
                    try {
                        String target = Files.readSymbolicLink(p).toString();
                        if (target.startsWith("socket:[") && inodes.contains(target.substring(8, target.length() - 1))) {
                            matches.add(Integer.parseInt(p.getFileName().toString()));
                        }
                    } catch (IOException | NumberFormatException ignored) {
                        // the directory stream's own fd vanishes while we read; others are not sockets
                    }
                }
            }
            if (matches.size() == 1) {
                source[0] = "/proc";
                return matches.get(0);
            }
        }
        try {
            Class<?> selCh = Class.forName("sun.nio.ch.SelChImpl");
            Method m = selCh.getMethod("getFDVal");
            source[0] = "sun.nio.ch";
            return (int) m.invoke(ch);
        } catch (ReflectiveOperationException | RuntimeException e) {
            throw new IOException("cannot find the file descriptor of the listening socket " + describe(local)
                    + ": /proc/self/fd is unavailable or ambiguous and sun.nio.ch is not accessible (" + e
                    + "); run the arbiter with --add-exports java.base/sun.nio.ch=ALL-UNNAMED", e);
        }
    }

    private static Set<String> listeningInodes(Path table, int port) {
        Set<String> out = new HashSet<>();
        if (!Files.isReadable(table)) {
            return out;
        }
        String hexPort = String.format("%04X", port);
        try {
            for (String line : Files.readAllLines(table)) {
                String[] f = line.trim().split("\\s+");
                // sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode
                if (f.length < 10 || !f[0].endsWith(":")) {
                    continue;
                }
                String localAddr = f[1];
                if (localAddr.endsWith(":" + hexPort) && "0A".equals(f[3])) {
                    out.add(f[9]);
                }
            }
        } catch (IOException ignored) {
            // unreadable table: fall back below
        }
        return out;
    }
}
