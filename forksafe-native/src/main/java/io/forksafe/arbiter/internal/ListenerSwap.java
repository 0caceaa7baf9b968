package io.forksafe.arbiter.internal;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.util.List;
import java.util.function.Supplier;

/**
 * Puts the arbiter's listening socket where a worker's private one was, on the same descriptors: in a restored copy
 * (the template served a private socket until its checkpoint) and in a promoted standby (it served a private socket
 * until its promotion). First no thread may be inside {@code accept()} on the private socket and no event loop may
 * watch it ({@link #quiesce}); then {@link #take} receives the arbiter's socket ({@link SocketHandoff}) and
 * {@code dup2}s it onto every descriptor, so the server's next accept takes from the one queue all workers share.
 *
 * <pre>{@code
 * List<Integer> fds = SocketHandoff.sameSocket(0);
 * String why = ListenerSwap.quiesce(privateAddress, fds, "the promotion");
 * if (why == null) why = ListenerSwap.take(handoffPath, fds, SocketHandoff.nonBlocking(0));
 * }</pre>
 */
public final class ListenerSwap {

    private static final long QUIESCE_NANOS = 2_000_000_000L;

    private ListenerSwap() {
    }

    /**
     * Waits until no thread is blocked in accept() on {@code fds} (waking each with one connection to {@code own}:
     * the app sees it close at once, then a paused accept loop parks) and no epoll set watches them. Returns why
     * that did not happen within 2 s, or null.
     *
     * @param moment "the checkpoint" or "the promotion", for the message
     */
    public static String quiesce(InetSocketAddress own, List<Integer> fds, String moment) {
        try {
            long deadline = System.nanoTime() + QUIESCE_NANOS;
            List<String> blocked = untilEmpty(() -> SocketHandoff.threadsInAccept(fds), () -> SocketHandoff.wake(own),
                    deadline);
            if (!blocked.isEmpty()) {
                return "thread " + String.join(", ", blocked) + " kept accepting on the listening socket during "
                        + moment + ": pause the accept loop in a PreFork hook (kind RESTORE), or call "
                        + "PreloadWorker.awaitServing before each accept; forksafe-jetty does this for Jetty "
                        + "(docs/preload.md)";
            }
            // an event loop that paused accepting drops the socket from its epoll set when its selector thread runs
            List<String> watching = untilEmpty(() -> SocketHandoff.epollWatchers(fds), () -> { }, deadline);
            if (!watching.isEmpty()) {
                return "an event loop (" + String.join(", ", watching) + ") still watches the listening socket at "
                        + moment + ", so it would never accept from the arbiter's: suspend accepting (in a PreFork "
                        + "hook of kind RESTORE for the preload mode, through io.forksafe.spi.ServingGate for a "
                        + "standby); forksafe-jetty and forksafe-undertow do this (docs/preload.md)";
            }
            return null;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return "interrupted while pausing the accept loops";
        }
    }

    /**
     * Receives the arbiter's listening socket from the handoff socket at {@code path}, gives it the blocking mode the
     * server set on the private one, and puts it on every descriptor in {@code fds}. Returns why it could not, or
     * null.
     */
    public static String take(String path, List<Integer> fds, boolean nonBlocking) {
        try {
            int received = SocketHandoff.fetch(path);
            SocketHandoff.nonBlocking(received, nonBlocking);
            SocketHandoff.install(received, fds);
            return null;
        } catch (IOException | RuntimeException e) {
            return "cannot receive the arbiter's listening socket from " + path + ": " + e.getMessage();
        }
    }

    /**
     * A standby's promotion, while its app may still be blocked in accept() on the private socket: the arbiter's
     * socket goes onto {@code fds} first, then each thread still blocked on the private one is woken with one
     * connection (its next accept() is on the arbiter's socket) until the private socket is gone. An event loop
     * must not watch the private socket (it would lose it without noticing): a gated adapter has paused it. Returns
     * why the swap failed, or null.
     */
    public static String swapLive(InetSocketAddress own, List<Integer> fds, String path, boolean nonBlocking) {
        try {
            long deadline = System.nanoTime() + QUIESCE_NANOS;
            List<String> watching = untilEmpty(() -> SocketHandoff.epollWatchers(fds), () -> { }, deadline);
            if (!watching.isEmpty()) {
                return "an event loop (" + String.join(", ", watching) + ") still watches the standby's socket at "
                        + "its promotion, so it would never accept from the arbiter's: start serving through "
                        + "io.forksafe.spi.ServingGate (forksafe-jetty and forksafe-undertow do), or accept with "
                        + "blocking accept() calls (docs/arbiter.md, standby)";
            }
            String failed = take(path, fds, nonBlocking);
            if (failed != null) {
                return failed;
            }
            // each thread still blocked in accept() on the private socket holds it open: a connection wakes one (it
            // is closed at once; the app need not handle it), and the next attempt is refused once none is left
            while (poke(own)) {
                if (System.nanoTime() > deadline) {
                    return "threads kept accepting on the standby's private socket after its promotion";
                }
                Thread.sleep(1);
            }
            return null;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return "interrupted while swapping the listening socket";
        }
    }

    /** Opens one connection to {@code address} and closes it at once; false when nothing listens there. */
    private static boolean poke(InetSocketAddress address) {
        try (java.net.Socket s = new java.net.Socket()) {
            s.connect(address, 200);
            return true;
        } catch (java.net.ConnectException refused) {
            return false;
        } catch (IOException e) {
            return true; // not refused (a full backlog, a slow accept): try again until the deadline
        }
    }

    /** Loads and runs, once, what a promotion needs, so that the promotion does not pay for it (a standby's boot). */
    public static void prepare(List<Integer> fds, String handoffPath) {
        SocketHandoff.epollWatchers(fds);
        SocketHandoff.threadsInAccept(fds);
        try {
            SocketHandoff.nonBlocking(fds.get(0));
        } catch (IOException | RuntimeException ignored) {
            // the promotion reports it
        }
        // the connect paths, against a port nobody listens on and a handoff path that does not exist
        try (java.net.ServerSocket gone = new java.net.ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            InetSocketAddress nobody = (InetSocketAddress) gone.getLocalSocketAddress();
            gone.close();
            poke(nobody);
        } catch (IOException | RuntimeException ignored) {
            // only a warm-up
        }
        try {
            SocketHandoff.fetch(handoffPath + ".warm-up");
        } catch (IOException | RuntimeException expected) {
            // nothing listens there: the socket, connect and error paths are loaded now
        }
    }

    /** Polls {@code found} every 5 ms, nudging before each poll, until it is empty or {@code deadline} passed. */
    private static List<String> untilEmpty(Supplier<List<String>> found, Runnable nudge, long deadline)
            throws InterruptedException {
        List<String> now = found.get();
        while (!now.isEmpty() && System.nanoTime() < deadline) {
            nudge.run();
            Thread.sleep(5);
            now = found.get();
        }
        return now;
    }
}
