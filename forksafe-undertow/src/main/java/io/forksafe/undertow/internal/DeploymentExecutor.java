package io.forksafe.undertow.internal;

import org.xnio.XnioIoThread;

import java.util.concurrent.Executor;

/**
 * The executor forksafe gives a servlet deployment. A request dispatched from an I/O thread of a server built with
 * {@code ForksafeUndertow.install} runs on that server's forksafe pool, so one process has one pool of forksafe
 * workers per server; on any other server it runs on the deployment's own forksafe pool.
 */
final class DeploymentExecutor implements Executor {

    private final HookedThreadPool own;

    DeploymentExecutor(HookedThreadPool own) {
        this.own = own;
    }

    HookedThreadPool own() {
        return own;
    }

    @Override
    public void execute(Runnable task) {
        HookedThreadPool server = installedServerPool();
        (server != null ? server : own).execute(task);
    }

    private static HookedThreadPool installedServerPool() {
        XnioIoThread io = XnioIoThread.currentThread();
        if (io == null) {
            return null;
        }
        Installation installation = Installation.forWorker(io.getWorker());
        return installation == null || installation.pool().isShutdown() ? null : installation.pool();
    }

    @Override
    public String toString() {
        return "forksafe deployment executor (" + own.namePrefix() + ")";
    }
}
