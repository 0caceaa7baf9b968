package io.forksafe.arbiter.internal;

import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;

/**
 * Where the arbiter's lines go: the console (worker stdout lines to {@code out}, worker stderr and arbiter messages
 * to {@code err}) and, optionally, a log file rotated by size: {@code app.log} becomes {@code app.log.1}, and so on
 * up to {@code maxFiles} old files.
 */
public final class LogSink implements AutoCloseable {

    private final PrintStream out;
    private final PrintStream err;
    private final Path file;
    private final long maxBytes;
    private final int maxFiles;
    private OutputStream fileOut;
    private long size;
    private boolean fileBroken;

    public LogSink(PrintStream out, PrintStream err, Path file, long maxBytes, int maxFiles) throws IOException {
        this.out = out;
        this.err = err;
        this.file = file;
        this.maxBytes = maxBytes;
        this.maxFiles = maxFiles;
        if (file != null) {
            Path parent = file.toAbsolutePath().getParent();
            if (parent != null) {
                Files.createDirectories(parent);
            }
            open();
        }
    }

    private void open() throws IOException {
        fileOut = Spawner.openSealed(() -> Files.newOutputStream(file, StandardOpenOption.CREATE, StandardOpenOption.APPEND));
        size = Files.size(file);
    }

    /** A line for stdout (a worker's stdout). */
    public void stdout(String line) {
        write(out, line);
    }

    /** A line for stderr (a worker's stderr, or the arbiter's own messages). */
    public void stderr(String line) {
        write(err, line);
    }

    private synchronized void write(PrintStream console, String line) {
        if (console != null) {
            console.println(line);
            console.flush();
        }
        if (fileOut == null || fileBroken) {
            return;
        }
        byte[] bytes = (line + "\n").getBytes(StandardCharsets.UTF_8);
        try {
            if (maxBytes > 0 && size > 0 && size + bytes.length > maxBytes) {
                rotate();
            }
            fileOut.write(bytes);
            fileOut.flush();
            size += bytes.length;
        } catch (IOException e) {
            fileBroken = true;
            if (err != null) {
                err.println("forksafe arbiter: cannot write log file " + file + " (" + e + "); logging to the console only");
            }
        }
    }

    private void rotate() throws IOException {
        fileOut.close();
        if (maxFiles <= 0) {
            Files.deleteIfExists(file);
        } else {
            Files.deleteIfExists(sibling(maxFiles));
            for (int i = maxFiles - 1; i >= 1; i--) {
                Path from = sibling(i);
                if (Files.exists(from)) {
                    Files.move(from, sibling(i + 1), StandardCopyOption.REPLACE_EXISTING);
                }
            }
            Files.move(file, sibling(1), StandardCopyOption.REPLACE_EXISTING);
        }
        open();
    }

    private Path sibling(int n) {
        return file.resolveSibling(file.getFileName() + "." + n);
    }

    @Override
    public synchronized void close() {
        if (fileOut != null) {
            Closing.quietly(fileOut);
            fileOut = null;
        }
    }
}
