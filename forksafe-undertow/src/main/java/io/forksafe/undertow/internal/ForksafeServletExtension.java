package io.forksafe.undertow.internal;

import io.forksafe.spi.HostContext;
import io.forksafe.ContainerInfo;
import io.forksafe.ForkRegistry;
import io.forksafe.Forksafe;
import io.undertow.servlet.ServletExtension;
import io.undertow.servlet.api.DeploymentInfo;
import jakarta.servlet.ServletContext;
import jakarta.servlet.ServletContextEvent;
import jakarta.servlet.ServletContextListener;

import java.util.Locale;

/**
 * Zero-code wiring for Undertow servlet deployments, found by Undertow through
 * {@code META-INF/services/io.undertow.servlet.ServletExtension}. For each deployment it loads the deployment's
 * {@code ForkHookProvider}s into the global registry, records the deployment in the status, and, unless the deployment
 * has its own executor or {@code forksafe.undertow.servletExecutor=false}, runs the deployment's servlet requests on
 * forksafe task threads, whose threads report PreFork, PostFork, PostForkParent and WorkerExit: the server's own pool
 * when the server was built with {@code ForksafeUndertow.install}, otherwise a pool of the deployment. That pool is
 * shut down (and every thread's WorkerExit published) when the deployment is undeployed.
 */
public final class ForksafeServletExtension implements ServletExtension {

    public static final String EXECUTOR_SETTING = "forksafe.undertow.servletExecutor";
    public static final String THREADS_SETTING = "forksafe.undertow.servletThreads";
    public static final String KEEP_ALIVE_SETTING = "forksafe.undertow.servletKeepAliveMillis";

    @Override
    public void handleDeployment(DeploymentInfo info, ServletContext servletContext) {
        ForkRegistry registry = Forksafe.registry();
        String name = info.getDeploymentName();
        String host = Installation.HOST + " servlet deployment '" + name + "'";
        try {
            configure(registry, info, name, host);
        } catch (RuntimeException | LinkageError e) {
            HostContext.of(registry).reportError(host, "forksafe could not wire the deployment: " + e
                    + "; set " + EXECUTOR_SETTING + "=false to run it without forksafe task threads");
        }
    }

    private void configure(ForkRegistry registry, DeploymentInfo info, String name, String host) {
        RegistryState state = RegistryState.of(registry);
        ContainerInfo container = Installation.container();
        registry.loadHookProviders(info.getClassLoader() != null ? info.getClassLoader()
                : Thread.currentThread().getContextClassLoader());
        RegistryState.Deployment record = new RegistryState.Deployment(name, info.getContextPath());
        String mode = registry.setting(EXECUTOR_SETTING, "auto").strip().toLowerCase(Locale.ROOT);
        HookedThreadPool pool = null;
        if (info.getExecutor() instanceof DeploymentExecutor) {
            HostContext.of(registry).log(host + ": already wired by forksafe (the extension ran twice)");
            return;
        }
        if (info.getExecutor() != null) {
            record.taskThreads("the deployment's own executor (" + info.getExecutor().getClass().getName()
                    + "): forksafe reports no thread events for it", null);
        } else if (mode.equals("false") || mode.equals("off") || mode.equals("none")) {
            record.taskThreads("disabled by " + EXECUTOR_SETTING + "=" + mode + ": servlets run on the "
                    + "server's XNIO worker (thread events only if that server was built with "
                    + "ForksafeUndertow.install)", null);
        } else if (mode.equals("auto") || mode.equals("true") || mode.equals("on")) {
            int threads = positive(registry, THREADS_SETTING, Math.max(Runtime.getRuntime().availableProcessors(), 2) * 8);
            long keepAlive = positive(registry, KEEP_ALIVE_SETTING, 60_000);
            pool = new HookedThreadPool("forksafe-servlet-" + name, threads, keepAlive, registry, container,
                    state.slots());
            info.setExecutor(new DeploymentExecutor(pool));
            record.taskThreads("on a server built with ForksafeUndertow.install: that server's forksafe task "
                    + "threads; otherwise forksafe task pool " + pool.namePrefix(), pool);
        } else {
            HostContext.of(registry).reportError(host, "unknown " + EXECUTOR_SETTING + "=" + mode + ": use auto (default) or false");
        }
        HookedThreadPool finalPool = pool;
        info.addDeploymentCompleteListener(new ServletContextListener() {
            @Override
            public void contextInitialized(ServletContextEvent sce) {
                record.state("deployed");
                HostContext.of(registry).log(host + " deployed");
            }

            @Override
            public void contextDestroyed(ServletContextEvent sce) {
                record.state("undeployed");
                if (finalPool != null) {
                    try {
                        finalPool.shutdownAndJoin(Installation.SHUTDOWN_TIMEOUT_MILLIS);
                    } catch (InterruptedException e) {
                        finalPool.shutdownNow();
                        Thread.currentThread().interrupt();
                    }
                }
                HostContext.of(registry).log(host + " undeployed" + (finalPool != null ? "; " + finalPool.threadsCreated()
                        + " forksafe task thread(s) shut down" : ""));
            }
        });
        state.addDeployment(record);
        HostContext.of(registry).configured(host, container);
    }

    private static int positive(ForkRegistry registry, String key, int fallback) {
        return (int) positive(registry, key, (long) fallback);
    }

    private static long positive(ForkRegistry registry, String key, long fallback) {
        String v = registry.setting(key, null);
        if (v == null || v.isBlank()) {
            return fallback;
        }
        try {
            long n = Long.parseLong(v.strip());
            if (n > 0) {
                return n;
            }
        } catch (NumberFormatException ignored) {
            // reported below
        }
        HostContext.of(registry).reportError(Installation.HOST, key + "=" + v + " is not a positive number; using " + fallback);
        return fallback;
    }
}
