package io.forksafe.arbiter.internal;

import io.forksafe.WorkerKind;
import io.forksafe.arbiter.ArbiterConfig;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.IntSupplier;

/**
 * Workers spawned cold with {@code posix_spawnp}: {@code java <jvm options> -cp <class path> WorkerBootstrap <main
 * class> <args>}, the listening socket as fd 0, and, with {@code --cds-archive}, the JDK AppCDS options.
 */
final class SpawnSource implements WorkerSource {

    private final ArbiterConfig config;
    private final IntSupplier listenFd;
    private final CdsArchive cds;

    SpawnSource(ArbiterConfig config, IntSupplier listenFd) {
        this.config = config;
        this.listenFd = listenFd;
        this.cds = config.cdsArchive() != null ? new CdsArchive(config.cdsArchive()) : null;
    }

    @Override
    public WorkerKind kind() {
        return WorkerKind.PROCESS;
    }

    @Override
    public Spawner.Child start(int slot, long generation, Map<String, String> env) throws IOException {
        List<String> cdsOptions = cds != null ? cds.nextWorkerOptions() : List.of();
        Spawner.Child child = Spawner.spawn(command(cdsOptions), env, listenFd.getAsInt());
        if (cds != null) {
            cds.spawned(child.pid(), cdsOptions);
        }
        return child;
    }

    private List<String> command(List<String> cdsOptions) {
        List<String> argv = new ArrayList<>();
        argv.add(config.javaCommand());
        argv.addAll(config.jvmOptions());
        argv.addAll(cdsOptions);
        if (!config.classpath().isEmpty()) {
            argv.add("-cp");
            argv.add(config.classpath());
        }
        argv.add(WorkerBootstrap.class.getName());
        argv.add(config.mainClass());
        argv.addAll(config.args());
        return argv;
    }

    @Override
    public String ended(long pid, boolean reachedArbiter) {
        return cds != null ? cds.exited(pid) : null;
    }

    @Override
    public Supervisor.SourceStatus status() {
        return new Supervisor.SourceStatus(null, cds != null ? cds.status() : null);
    }
}
