package io.forksafe.arbiter.internal;

import io.forksafe.spi.HostContext;
import io.forksafe.ForkHookException;
import io.forksafe.ForkRegistry;
import io.forksafe.Forksafe;
import io.forksafe.arbiter.ArbiterWorker;

import java.io.FileOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;

/**
 * The main class of every worker JVM, and of the preload mode's template: attaches the worker to the global registry
 * (identity, control channel, heartbeats, {@code PostFork}; in a template {@link io.forksafe.arbiter.PreloadWorker})
 * and then runs the application's {@code main}. A boot failure (a PostFork hook
 * throws, the main class is missing, or {@code main} throws before the worker reported readiness) exits with code
 * 3, which makes the arbiter halt instead of respawning forever.
 *
 * <pre>{@code
 * java <jvm options> -cp <class path> io.forksafe.arbiter.internal.WorkerBootstrap com.example.AppMain args...
 * }</pre>
 */
public final class WorkerBootstrap {

    private WorkerBootstrap() {
    }

    public static void main(String[] args) throws Throwable {
        if (args.length == 0) {
            System.err.println("forksafe arbiter worker: no application main class given; the arbiter passes it "
                    + "(ArbiterMain ... -- com.example.AppMain args)");
            System.exit(2);
        }
        keepStdioAfterInheritedChannelCloses();
        ForkRegistry registry = Forksafe.registry();
        HostContext.of(registry).configured("arbiter", Supervisor.CONTAINER);
        java.util.function.BooleanSupplier ready;
        try {
            if (io.forksafe.arbiter.PreloadWorker.isTemplate()) {
                // the preload mode's template: a private socket as fd 0, checkpointed once ready
                io.forksafe.arbiter.PreloadWorker template = io.forksafe.arbiter.PreloadWorker.attach(registry,
                        Supervisor.CONTAINER);
                ready = template::isReadySent;
            } else {
                ArbiterWorker worker = ArbiterWorker.attach(registry);
                ready = () -> worker.isReady() || worker.isStandby(); // a standby is booted once its server waits
            }
        } catch (ForkHookException e) {
            bootError("a PostFork hook failed", e);
            return;
        } catch (RuntimeException e) {
            bootError("the worker could not attach to the arbiter", e);
            return;
        }
        Method main;
        try {
            Class<?> app = Class.forName(args[0], true, Thread.currentThread().getContextClassLoader() != null
                    ? Thread.currentThread().getContextClassLoader() : ClassLoader.getSystemClassLoader());
            main = app.getMethod("main", String[].class);
            if (!Modifier.isStatic(main.getModifiers())) {
                throw new NoSuchMethodException(args[0] + ".main(String[]) is not static");
            }
        } catch (ClassNotFoundException e) {
            bootError("the application main class " + args[0] + " is not on the worker class path ("
                    + System.getProperty("java.class.path") + "); check the class after -- and --classpath", e);
            return;
        } catch (NoSuchMethodException | LinkageError e) {
            bootError("the application class " + args[0] + " has no usable public static void main(String[])", e);
            return;
        }
        try {
            main.invoke(null, (Object) Arrays.copyOfRange(args, 1, args.length));
        } catch (InvocationTargetException e) {
            Throwable cause = e.getCause() != null ? e.getCause() : e;
            if (!ready.getAsBoolean()) {
                bootError("the application's main failed before the worker was ready", cause);
                return;
            }
            throw cause;
        }
    }

    /**
     * The JDK's inherited channel (fd 0) is built for inetd, where fds 0, 1 and 2 are all the socket: closing it
     * (as a server does when it stops) {@code dup2}s /dev/null onto fds 0, 1 <em>and 2</em>. A worker's shutdown
     * output would then vanish. So before anything prints, System.out and System.err are re-pointed at fresh
     * descriptors for the same pipes (opened through /proc/self/fd), which that close does not touch.
     */
    static void keepStdioAfterInheritedChannelCloses() {
        Path dir = Files.isDirectory(Path.of("/proc/self/fd")) ? Path.of("/proc/self/fd") : Path.of("/dev/fd");
        try {
            PrintStream out = new PrintStream(new FileOutputStream(dir.resolve("1").toFile(), true), true);
            PrintStream err = new PrintStream(new FileOutputStream(dir.resolve("2").toFile(), true), true);
            System.setOut(out);
            System.setErr(err);
        } catch (IOException | RuntimeException e) {
            System.err.println("forksafe arbiter worker: cannot protect stdout/stderr (" + e + "); output printed "
                    + "after the server closes the inherited socket will be lost");
        }
    }

    private static void bootError(String what, Throwable cause) {
        System.err.println("forksafe arbiter worker: boot error: " + what + "; exiting with code "
                + ControlProtocol.BOOT_ERROR_EXIT + " so that the arbiter halts instead of respawning");
        cause.printStackTrace();
        System.err.flush();
        System.exit(ControlProtocol.BOOT_ERROR_EXIT);
    }
}
