package io.forksafe.jetty;

import org.eclipse.jetty.server.Handler;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.util.Callback;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A blocking handler for Jetty XML tests (public, no-argument constructor): each request waits until the test opens
 * {@link #GATE}, so concurrent requests need distinct pool threads. Answers with the thread's name.
 */
public class SlowHandler extends Handler.Abstract {

    static final AtomicInteger INSIDE = new AtomicInteger();
    static volatile CountDownLatch GATE = new CountDownLatch(0);

    @Override
    public boolean handle(Request request, Response response, Callback callback) throws Exception {
        INSIDE.incrementAndGet();
        if (!GATE.await(20, TimeUnit.SECONDS)) {
            throw new IllegalStateException("the test never opened the gate");
        }
        response.write(true, ByteBuffer.wrap(Thread.currentThread().getName().getBytes(StandardCharsets.UTF_8)),
                callback);
        return true;
    }
}
