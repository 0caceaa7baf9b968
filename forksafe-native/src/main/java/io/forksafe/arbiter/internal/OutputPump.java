package io.forksafe.arbiter.internal;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.function.Consumer;


/**
 * Reads one worker pipe (stdout or stderr) a line at a time and hands each line, prefixed, to a sink. Ends at EOF,
 * which comes when the worker (and anything it passed the pipe to) has exited.
 */
final class OutputPump implements Runnable {

    private static final int MAX_LINE = 64 * 1024;

    private final int fd;
    private final java.util.function.Supplier<String> prefix;
    private final Consumer<String> sink;

    OutputPump(int fd, java.util.function.Supplier<String> prefix, Consumer<String> sink) {
        this.fd = fd;
        this.prefix = prefix;
        this.sink = sink;
    }

    /** {@code prefix} is asked for each line: a restored copy's pid is known only once it identified itself. */
    static Thread start(int fd, java.util.function.Supplier<String> prefix, Consumer<String> sink, String threadName) {
        Thread t = new Thread(new OutputPump(fd, prefix, sink), threadName);
        t.setDaemon(true);
        t.start();
        return t;
    }

    @Override
    public void run() {
        Libc.C posix = Libc.get();
        byte[] buf = new byte[8192];
        ByteArrayOutputStream line = new ByteArrayOutputStream(256);
        try {
            while (true) {
                int n = (int) posix.read(fd, buf, buf.length);
                if (n < 0 && Libc.errno() == Libc.EINTR) {
                    continue;
                }
                if (n <= 0) {
                    break;
                }
                for (int i = 0; i < n; i++) {
                    byte b = buf[i];
                    if (b == '\n') {
                        emit(line);
                    } else if (line.size() >= MAX_LINE) {
                        emit(line);
                        line.write(b);
                    } else {
                        line.write(b);
                    }
                }
            }
            if (line.size() > 0) {
                emit(line);
            }
        } finally {
            posix.close(fd);
        }
    }

    private void emit(ByteArrayOutputStream line) {
        String s = line.toString(StandardCharsets.UTF_8);
        if (s.endsWith("\r")) {
            s = s.substring(0, s.length() - 1);
        }
        line.reset();
        try {
            sink.accept(prefix.get() + s);
        } catch (RuntimeException ignored) {
            // a broken console never stops the pump (the worker would block on a full pipe)
        }
    }
}
