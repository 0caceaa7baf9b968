package io.forksafe.tomcat.internal;

import org.apache.coyote.AbstractProtocol;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;

/**
 * Stops a connector that serves the forksafe arbiter's shared listening socket from taking connections, before Tomcat
 * pauses it. Not API.
 *
 * <p>Why: Tomcat's acceptor closes, unanswered, any connection it accepts while its endpoint is paused, and
 * {@code pause()} wakes a blocked acceptor by connecting to the listening address, which on a shared socket may
 * reach another worker instead. So a stopping worker whose acceptor still sits in {@code accept()} takes one client
 * connection from the shared queue after the pause and drops it.
 *
 * <p>What: the connection limit goes to 0, so the acceptor parks on Tomcat's connection latch after its current
 * {@code accept()} (a connection accepted then is served normally: the endpoint is not paused). Under load it returns
 * at once; without load this sends short wake-up connections to the shared address until the acceptor has returned
 * (one that another worker accepts is an empty connection it closes). Then, after a short settle for the poller to
 * dispatch what was just accepted, it waits (bounded) until no request runs on the connector's executor. Tomcat's
 * pause later releases the latch; the acceptor then sees the pause and never accepts again.
 */
final class SharedSocketDrain {

    static final long ACCEPTOR_WAIT_MILLIS = 500;
    static final long SETTLE_MILLIS = 100;

    private SharedSocketDrain() {
    }

    /** What the drain did, for the log. */
    record Result(long millis, boolean acceptorParked, int wakeConnections, boolean requestsDone) {
    }

    static Result drain(AbstractProtocol<?> protocol, String endpointName, HookedExecutor executor,
                        InetSocketAddress shared, long requestsWaitMillis) {
        long t0 = System.nanoTime();
        protocol.setMaxConnections(0);
        String acceptorName = endpointName + "-Acceptor"; // AbstractEndpoint.startAcceptorThread
        long deadline = t0 + ACCEPTOR_WAIT_MILLIS * 1_000_000;
        int wakes = 0;
        boolean parked = false;
        try {
            while (System.nanoTime() < deadline) {
                if (!acceptorInAccept(acceptorName)) {
                    parked = true;
                    break;
                }
                if (wakes < 25) {
                    wake(shared);
                    wakes++;
                }
                Thread.sleep(5);
            }
            Thread.sleep(SETTLE_MILLIS);
            long requestsDeadline = System.nanoTime() + requestsWaitMillis * 1_000_000;
            while (executor != null && executor.getActiveCount() > 0 && System.nanoTime() < requestsDeadline) {
                Thread.sleep(5);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        boolean done = executor == null || executor.getActiveCount() == 0;
        return new Result((System.nanoTime() - t0) / 1_000_000, parked, wakes, done);
    }

    /** A thread blocked in the native accept() is RUNNABLE; one parked on the connection latch is WAITING. */
    private static boolean acceptorInAccept(String acceptorName) {
        for (Thread t : Thread.getAllStackTraces().keySet()) {
            if (t.getName().equals(acceptorName) && t.getState() == Thread.State.RUNNABLE) {
                return true;
            }
        }
        return false;
    }

    private static void wake(InetSocketAddress shared) {
        InetAddress address = shared.getAddress() == null || shared.getAddress().isAnyLocalAddress()
                ? InetAddress.getLoopbackAddress() : shared.getAddress();
        try (Socket s = new Socket()) {
            s.connect(new InetSocketAddress(address, shared.getPort()), 200);
        } catch (IOException ignored) {
            // nothing listens or the queue is full: the acceptor has connections to return with anyway
        }
    }
}
