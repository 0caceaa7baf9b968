package io.forksafe.jetty;

import org.eclipse.jetty.server.Handler;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.util.Callback;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;

/** A blocking handler that takes a while, so concurrent requests need distinct pool threads. Public for Jetty XML. */
public class SlowHandler extends Handler.Abstract {

    @Override
    public boolean handle(Request request, Response response, Callback callback) throws Exception {
        Thread.sleep(100);
        response.write(true, ByteBuffer.wrap(Thread.currentThread().getName().getBytes(StandardCharsets.UTF_8)),
                callback);
        return true;
    }
}
