package io.forksafe.posix.internal;

import io.forksafe.ForkHookException;
import io.forksafe.ForkRegistry;
import io.forksafe.Forksafe;
import io.forksafe.posix.ArbiterWorker;

import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.util.Arrays;

/**
 * The main class of every worker JVM: attaches the worker to the global registry (identity, control channel,
 * heartbeats, {@code PostFork}) and then runs the application's {@code main}. A boot failure (a PostFork hook
 * throws, the main class is missing, or {@code main} throws before the worker reported readiness) exits with code
 * 3, which makes the arbiter halt instead of respawning forever.
 *
 * <pre>{@code
 * java <jvm options> -cp <class path> io.forksafe.posix.internal.WorkerBootstrap com.example.AppMain args...
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
        ForkRegistry registry = Forksafe.registry();
        registry.configured("arbiter", Supervisor.CONTAINER);
        ArbiterWorker worker;
        try {
            worker = ArbiterWorker.attach(registry);
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
            if (!worker.isReady()) {
                bootError("the application's main failed before the worker was ready", cause);
                return;
            }
            throw cause;
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
