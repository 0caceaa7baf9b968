package io.forksafe.arbiter;

import io.forksafe.arbiter.internal.ArbiterOption;
import io.forksafe.arbiter.internal.OptionValues;

import java.io.PrintStream;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * Immutable configuration of an {@link Arbiter}: what to run, how many workers, where to listen and how to
 * supervise. Built with {@link #builder()}; {@link Builder#build()} checks every value and names the fix. Every
 * setter is an option of the command line ({@code ArbiterMain --help}, docs/arbiter.md), and the same rule refuses an
 * option in a mode that does not support it: an {@link Arbiter} runs exactly what the configuration says.
 *
 * <pre>{@code
 * ArbiterConfig config = ArbiterConfig.builder()
 *         .workers(2)
 *         .bind("127.0.0.1:8080")
 *         .app("com.example.AppMain", "--port-from-arbiter")
 *         .timeout(Duration.ofSeconds(30))
 *         .build();
 * }</pre>
 */
public final class ArbiterConfig {

    /** The most standbys an arbiter keeps ({@code --standby}). */
    public static final int MAX_STANDBY = 16;

    private final int workers;
    private final int standby;
    private final InetSocketAddress bind;
    private final int backlog;
    private final String mainClass;
    private final List<String> args;
    private final String javaCommand;
    private final List<String> jvmOptions;
    private final String classpath;
    private final Map<String, String> environment;
    private final Duration timeout;
    private final Duration bootTimeout;
    private final Duration gracefulTimeout;
    private final Duration abortGrace;
    private final Duration maxBackoff;
    private final int maxRequests;
    private final int maxRequestsJitter;
    private final Long maxRss;
    private final Duration requestTimeout;
    private final Integer statusPort;
    private final InetSocketAddress statusBind;
    private final Integer minReady;
    private final Duration drainDelay;
    private final Path statusFile;
    private final Path pidfile;
    private final Path logFile;
    private final long logMaxBytes;
    private final int logMaxFiles;
    private final boolean printEvents;
    private final boolean preload;
    private final Path cdsArchive;
    private final Path workDir;
    private final Path imageDir;
    private final List<String> imageKeyEnvironment;
    private final PrintStream out;
    private final PrintStream err;

    private ArbiterConfig(Builder b) {
        this.workers = b.workers;
        this.standby = b.standby;
        this.bind = b.bind;
        this.backlog = b.backlog;
        this.mainClass = b.mainClass;
        this.args = List.copyOf(b.args);
        this.javaCommand = b.javaCommand != null ? b.javaCommand : currentJava();
        List<String> opts = new ArrayList<>(b.jvmOptions != null ? b.jvmOptions : inheritedJvmOptions());
        opts.addAll(b.extraJvmOptions);
        this.jvmOptions = List.copyOf(opts);
        this.classpath = b.classpath != null ? b.classpath : System.getProperty("java.class.path", "");
        this.environment = Collections.unmodifiableMap(new LinkedHashMap<>(b.environment));
        this.timeout = b.timeout;
        this.bootTimeout = b.bootTimeout;
        this.gracefulTimeout = b.gracefulTimeout;
        this.abortGrace = b.abortGrace;
        this.maxBackoff = b.maxBackoff;
        this.maxRequests = b.maxRequests;
        this.maxRequestsJitter = b.maxRequestsJitter;
        this.maxRss = b.maxRss;
        this.requestTimeout = b.requestTimeout;
        this.statusPort = b.statusPort;
        this.statusBind = b.statusBind;
        this.minReady = b.minReady;
        this.drainDelay = b.drainDelay;
        this.statusFile = b.statusFile;
        this.pidfile = b.pidfile;
        this.logFile = b.logFile;
        this.logMaxBytes = b.logMaxBytes;
        this.logMaxFiles = b.logMaxFiles;
        this.printEvents = b.printEvents;
        this.preload = b.preload;
        this.cdsArchive = b.cdsArchive;
        this.workDir = b.workDir;
        this.imageDir = b.imageDir;
        this.imageKeyEnvironment = List.copyOf(b.imageKeyEnvironment);
        this.out = b.out != null ? b.out : System.out;
        this.err = b.err != null ? b.err : System.err;
    }

    /** A builder with gunicorn-like defaults: 1 worker, timeout 30 s, graceful timeout 30 s, boot timeout 60 s. */
    public static Builder builder() {
        return new Builder();
    }

    /** How many workers to keep running. */
    public int workers() {
        return workers;
    }

    /** How many standbys to keep booted and idle besides the workers; see {@link Builder#standby(int)}. */
    public int standby() {
        return standby;
    }

    /** The address the arbiter listens on (port 0: an ephemeral port, see {@link Arbiter#address()}). */
    public InetSocketAddress bind() {
        return bind;
    }

    /** The listen backlog. */
    public int backlog() {
        return backlog;
    }

    /** The worker application's main class. */
    public String mainClass() {
        return mainClass;
    }

    /** The worker application's arguments. */
    public List<String> args() {
        return args;
    }

    /** The java binary workers run (default: this JVM's). */
    public String javaCommand() {
        return javaCommand;
    }

    /** The workers' JVM options (default: this JVM's, without debugger agents). */
    public List<String> jvmOptions() {
        return jvmOptions;
    }

    /** The workers' class path (default: this JVM's). */
    public String classpath() {
        return classpath;
    }

    /** The workers' shared AppCDS archive, or null; see {@link Builder#cdsArchive(Path)}. */
    public Path cdsArchive() {
        return cdsArchive;
    }

    /** Extra environment variables for workers (on top of the arbiter's own environment). */
    public Map<String, String> environment() {
        return environment;
    }

    /** A ready worker silent for longer than this is aborted and replaced. */
    public Duration timeout() {
        return timeout;
    }

    /** A worker not ready within this after spawning is aborted and replaced. */
    public Duration bootTimeout() {
        return bootTimeout;
    }

    /** How long stopping workers may take to finish in-flight requests before they are killed. */
    public Duration gracefulTimeout() {
        return gracefulTimeout;
    }

    /** Between the abort signal (SIGQUIT: thread dump) and SIGKILL for a timed-out worker. */
    public Duration abortGrace() {
        return abortGrace;
    }

    /** The longest delay before respawning a slot whose workers keep crashing. */
    public Duration maxBackoff() {
        return maxBackoff;
    }

    /** Requests after which a worker is recycled (plus its jitter draw), 0 for never; see {@link Builder#maxRequests}. */
    public int maxRequests() {
        return maxRequests;
    }

    /** The most each worker adds to {@link #maxRequests()} (a random 0..this, drawn per worker). */
    public int maxRequestsJitter() {
        return maxRequestsJitter;
    }

    /** Resident memory in bytes above which a worker is recycled, or null; see {@link Builder#maxRss}. */
    public Long maxRss() {
        return maxRss;
    }

    /** How long one request may run before its worker is aborted and replaced, or null; see {@link Builder#requestTimeout}. */
    public Duration requestTimeout() {
        return requestTimeout;
    }

    /** The heartbeat interval workers use: a fifth of the timeout, between 100 ms and 2 s. */
    public Duration heartbeatInterval() {
        long ms = Math.max(100, Math.min(2000, timeout.toMillis() / 5));
        return Duration.ofMillis(ms);
    }

    /** The loopback port of the status endpoint (0: ephemeral), or null for none. */
    public Integer statusPort() {
        return statusPort;
    }

    /** The address given by {@code --status-bind}, or null. */
    public InetSocketAddress statusBind() {
        return statusBind;
    }

    /**
     * Where the status port listens: {@code --status-bind}, or {@code 127.0.0.1:}{@code --status-port}, or null
     * when there is none.
     */
    public InetSocketAddress statusAddress() {
        if (statusBind != null) {
            return statusBind;
        }
        return statusPort == null ? null : new InetSocketAddress(java.net.InetAddress.getLoopbackAddress(), statusPort);
    }

    /** How many workers must serve for {@code /readyz} to answer 200: {@code --min-ready}, else every worker. */
    public int minReady() {
        return minReady != null ? minReady : workers;
    }

    /** How long readiness is false before the workers' graceful stop begins ({@code --drain-delay}; zero: none). */
    public Duration drainDelay() {
        return drainDelay;
    }

    /** A file the status JSON is written to every second, or null. */
    public Path statusFile() {
        return statusFile;
    }

    /** The pid file, or null. */
    public Path pidfile() {
        return pidfile;
    }

    /** The log file (rotated by size), or null. */
    public Path logFile() {
        return logFile;
    }

    /** Size at which the log file is rotated. */
    public long logMaxBytes() {
        return logMaxBytes;
    }

    /** How many rotated log files are kept. */
    public int logMaxFiles() {
        return logMaxFiles;
    }

    /** Whether the arbiter prints every forksafe event: its own, and those its workers report (process events). */
    public boolean printEvents() {
        return printEvents;
    }

    /**
     * Whether workers are restored copies of one warmed template (CRIU checkpoint/restore, {@code --preload}) rather
     * than spawned cold; see docs/preload.md.
     */
    public boolean preload() {
        return preload;
    }

    /** With {@link #preload()}: where the checkpoint image and CRIU's logs are kept, or null for a temporary one. */
    public Path workDir() {
        return workDir;
    }

    /**
     * With {@link #preload()}: where the preload image is kept between arbiter runs, or null; see
     * {@link Builder#imageDir(Path)}.
     */
    public Path imageDir() {
        return imageDir;
    }

    /** The environment variables whose values are part of a kept image's key ({@code --image-key-env}). */
    public List<String> imageKeyEnvironment() {
        return imageKeyEnvironment;
    }

    /** Where worker stdout lines are echoed. */
    public PrintStream out() {
        return out;
    }

    /** Where worker stderr lines and the arbiter's messages go. */
    public PrintStream err() {
        return err;
    }

    static String currentJava() {
        return ProcessHandle.current().info().command()
                .orElseGet(() -> Path.of(System.getProperty("java.home"), "bin", "java").toString());
    }

    static List<String> inheritedJvmOptions() {
        List<String> raw;
        try {
            raw = java.lang.management.ManagementFactory.getRuntimeMXBean().getInputArguments();
        } catch (LinkageError | RuntimeException e) {
            return List.of(); // java.management absent: workers get default options
        }
        List<String> kept = new ArrayList<>();
        for (String o : raw) {
            // A debugger agent would make every worker fight for the same port.
            if (o.startsWith("-agentlib:jdwp") || o.startsWith("-Xrunjdwp") || o.equals("-Xdebug")) {
                continue;
            }
            if (o.startsWith("-D" + io.forksafe.arbiter.internal.Daemon.DETACHED_PROPERTY + "=")) {
                continue; // the detached arbiter's marker (--daemon), not the workers'
            }
            kept.add(o);
        }
        return kept;
    }

    @Override
    public String toString() {
        return "ArbiterConfig[workers=" + workers + ", bind=" + bind + ", main=" + mainClass + " " + args
                + ", timeout=" + timeout + ", gracefulTimeout=" + gracefulTimeout + "]";
    }

    /** Builds an {@link ArbiterConfig}; setters return {@code this}. */
    public static final class Builder {
        private int workers = 1;
        private int standby;
        private InetSocketAddress bind;
        private int backlog = 2048;
        private String mainClass;
        private List<String> args = List.of();
        private String javaCommand;
        private List<String> jvmOptions;
        private final List<String> extraJvmOptions = new ArrayList<>();
        private String classpath;
        private final Map<String, String> environment = new LinkedHashMap<>();
        private Duration timeout = Duration.ofSeconds(30);
        private Duration bootTimeout = Duration.ofSeconds(60);
        private Duration gracefulTimeout = Duration.ofSeconds(30);
        private Duration abortGrace = Duration.ofMillis(500);
        private Duration maxBackoff = Duration.ofSeconds(10);
        private int maxRequests;
        private int maxRequestsJitter;
        private Long maxRss;
        private Duration requestTimeout;
        private Integer statusPort;
        private InetSocketAddress statusBind;
        private Integer minReady;
        private Duration drainDelay = Duration.ZERO;
        private Path statusFile;
        private Path pidfile;
        private Path logFile;
        private long logMaxBytes = 10L * 1024 * 1024;
        private int logMaxFiles = 5;
        private boolean printEvents;
        private boolean preload;
        private Path cdsArchive;
        private Path workDir;
        private Path imageDir;
        private final List<String> imageKeyEnvironment = new ArrayList<>();
        private PrintStream out;
        private PrintStream err;
        /** The options set, for the one mode rule ({@link ArbiterOption#requireModes}). */
        private final EnumSet<ArbiterOption> given = EnumSet.noneOf(ArbiterOption.class);

        private Builder() {
        }

        /** How many workers (at least 1). */
        public Builder workers(int n) {
            given.add(ArbiterOption.WORKERS);
            this.workers = n;
            return this;
        }

        /**
         * Keeps {@code k} standbys (default 0) besides the workers: booted (spawned, or restored with
         * {@link #preload(boolean)}), their {@code PostFork} done, their server started but not accepting, not
         * counted as serving. When a worker dies or is replaced, a standby is promoted at once: it takes the slot and
         * a new generation, starts accepting and publishes {@code PostWorkerInit}; a new standby boots in the
         * background. Each standby costs one worker's memory.
         *
         * <pre>{@code
         * ArbiterConfig.builder().workers(4).standby(1).bind("127.0.0.1:8080").app("com.example.AppMain").build();
         * }</pre>
         */
        public Builder standby(int k) {
            given.add(ArbiterOption.STANDBY);
            this.standby = k;
            return this;
        }

        /**
         * Listen on {@code "127.0.0.1:8080"}, {@code "0.0.0.0:8080"}, {@code "[::1]:8080"}, {@code "localhost:8080"},
         * or {@code "8080"}/{@code ":8080"} (loopback): the forms {@code --bind} accepts. Port 0: an ephemeral port.
         */
        public Builder bind(String hostPort) {
            given.add(ArbiterOption.BIND);
            this.bind = OptionValues.bind("--bind", hostPort);
            return this;
        }

        /** Listen on {@code address}. */
        public Builder bind(InetSocketAddress address) {
            given.add(ArbiterOption.BIND);
            this.bind = Objects.requireNonNull(address, "bind address must not be null");
            return this;
        }

        /** The listen backlog (default 2048). */
        public Builder backlog(int backlog) {
            given.add(ArbiterOption.BACKLOG);
            this.backlog = backlog;
            return this;
        }

        /** The worker application: its main class and arguments. */
        public Builder app(String mainClass, String... args) {
            return app(mainClass, List.of(args));
        }

        /** The worker application: its main class and arguments. */
        public Builder app(String mainClass, List<String> args) {
            this.mainClass = mainClass;
            this.args = List.copyOf(args);
            return this;
        }

        /** The java binary for workers (default: this JVM's). */
        public Builder javaCommand(String java) {
            given.add(ArbiterOption.JAVA);
            this.javaCommand = java;
            return this;
        }

        /** Replaces the inherited JVM options of workers. */
        public Builder jvmOptions(List<String> options) {
            given.add(ArbiterOption.JVM_OPTS);
            this.jvmOptions = List.copyOf(options);
            return this;
        }

        /** Adds a JVM option for workers after the inherited (or replaced) ones. */
        public Builder addJvmOption(String option) {
            given.add(ArbiterOption.JVM_OPT);
            this.extraJvmOptions.add(Objects.requireNonNull(option, "option must not be null"));
            return this;
        }

        /** The workers' class path (default: this JVM's). */
        public Builder classpath(String classpath) {
            given.add(ArbiterOption.CLASSPATH);
            this.classpath = classpath;
            return this;
        }

        /** Adds an environment variable for workers. */
        public Builder environment(String name, String value) {
            given.add(ArbiterOption.ENV);
            this.environment.put(Objects.requireNonNull(name, "name must not be null"),
                    Objects.requireNonNull(value, "value must not be null"));
            return this;
        }

        /** Heartbeat timeout of a ready worker (default 30 s). */
        public Builder timeout(Duration d) {
            given.add(ArbiterOption.TIMEOUT);
            this.timeout = d;
            return this;
        }

        /** How long a worker may take to become ready (default 60 s). */
        public Builder bootTimeout(Duration d) {
            given.add(ArbiterOption.BOOT_TIMEOUT);
            this.bootTimeout = d;
            return this;
        }

        /** How long stopping workers may finish in-flight work before SIGKILL (default 30 s). */
        public Builder gracefulTimeout(Duration d) {
            given.add(ArbiterOption.GRACEFUL_TIMEOUT);
            this.gracefulTimeout = d;
            return this;
        }

        /** Delay between SIGQUIT (thread dump) and SIGKILL for a timed-out worker (default 500 ms). */
        public Builder abortGrace(Duration d) {
            given.add(ArbiterOption.ABORT_GRACE);
            this.abortGrace = d;
            return this;
        }

        /** Upper bound of the respawn backoff for a crashing slot (default 10 s). */
        public Builder maxBackoff(Duration d) {
            given.add(ArbiterOption.MAX_BACKOFF);
            this.maxBackoff = d;
            return this;
        }

        /**
         * Recycles a worker once it served {@code n} requests plus a random 0..{@link #maxRequestsJitter} of its own
         * (gunicorn's {@code max_requests}; default 0: never): it asks the arbiter, which starts its replacement and
         * stops it gracefully once the replacement is ready, as in a rolling restart (exit cause
         * {@code MAX_REQUESTS}). The Jetty, Undertow and Tomcat adapters count requests; an application without one
         * calls {@link ArbiterWorker#requestServed()}.
         *
         * <pre>{@code
         * ArbiterConfig.builder().bind("127.0.0.1:8080").maxRequests(10_000).maxRequestsJitter(1_000)
         *         .app("com.example.AppMain").build();
         * }</pre>
         */
        public Builder maxRequests(int n) {
            given.add(ArbiterOption.MAX_REQUESTS);
            this.maxRequests = n;
            return this;
        }

        /** Each worker adds a random 0..{@code j} to {@link #maxRequests} (default 0), so they do not all recycle at once. */
        public Builder maxRequestsJitter(int j) {
            given.add(ArbiterOption.MAX_REQUESTS_JITTER);
            this.maxRequestsJitter = j;
            return this;
        }

        /**
         * Recycles a worker whose resident memory ({@code VmRSS}, read about once a second) is above {@code bytes}
         * (uWSGI's {@code reload-on-rss}): its replacement serves before it stops (exit cause {@code MAX_RSS}). Keep
         * it well below the container's or cgroup's memory limit, so the recycle comes before the kernel's kill.
         *
         * <pre>{@code
         * ArbiterConfig.builder().bind("127.0.0.1:8080").maxRss(1L << 30).app("com.example.AppMain").build();
         * }</pre>
         */
        public Builder maxRss(long bytes) {
            given.add(ArbiterOption.MAX_RSS);
            this.maxRss = bytes;
            return this;
        }

        /**
         * Aborts a worker whose request has run longer than {@code d} (uWSGI's {@code harakiri}): a thread dump
         * (SIGQUIT), SIGKILL after {@link #abortGrace}, and a replacement (exit cause {@code REQUEST_TIMEOUT}). The
         * other requests in flight on that worker fail with it. Needs the Jetty, Undertow or Tomcat adapter.
         *
         * <pre>{@code
         * ArbiterConfig.builder().bind("127.0.0.1:8080").requestTimeout(Duration.ofSeconds(60))
         *         .app("com.example.AppMain").build();
         * }</pre>
         */
        public Builder requestTimeout(Duration d) {
            given.add(ArbiterOption.REQUEST_TIMEOUT);
            this.requestTimeout = d;
            return this;
        }

        /** Serve the forksafe status JSON on this loopback port (0: ephemeral). */
        public Builder statusPort(int port) {
            given.add(ArbiterOption.STATUS_PORT);
            this.statusPort = port;
            return this;
        }

        /**
         * Serve the status port on {@code address} instead of {@code 127.0.0.1:}{@link #statusPort(int)} (not with
         * it), e.g. a pod's address for Kubernetes probes: {@code /healthz} and {@code /readyz} answer any client,
         * the dashboard and {@code /status} loopback clients only unless {@code forksafe.status.allowRemote=true}.
         */
        public Builder statusBind(InetSocketAddress address) {
            given.add(ArbiterOption.STATUS_BIND);
            this.statusBind = Objects.requireNonNull(address, "status bind address must not be null");
            return this;
        }

        /** {@code /readyz} answers 200 while at least {@code n} workers serve (default: all of them). */
        public Builder minReady(int n) {
            given.add(ArbiterOption.MIN_READY);
            this.minReady = n;
            return this;
        }

        /**
         * On a stop, readiness turns false and the workers keep serving for {@code delay} before their graceful stop
         * (default zero); a second stop request ends the delay.
         */
        public Builder drainDelay(Duration delay) {
            given.add(ArbiterOption.DRAIN_DELAY);
            this.drainDelay = Objects.requireNonNull(delay, "drain delay must not be null");
            return this;
        }

        /** Write the status JSON to this file every second. */
        public Builder statusFile(Path file) {
            given.add(ArbiterOption.STATUS_FILE);
            this.statusFile = file;
            return this;
        }

        /** Write the arbiter's pid to this file while it runs. */
        public Builder pidfile(Path file) {
            given.add(ArbiterOption.PIDFILE);
            this.pidfile = file;
            return this;
        }

        /** Also write every echoed line to this file, rotated at {@code maxBytes}, keeping {@code maxFiles}. */
        public Builder logFile(Path file, long maxBytes, int maxFiles) {
            return logFile(file).logMaxSize(maxBytes).logMaxFiles(maxFiles);
        }

        /** Also write every echoed line to this file, rotated by size (default 10 MiB, 5 files kept). */
        public Builder logFile(Path file) {
            given.add(ArbiterOption.LOG_FILE);
            this.logFile = file;
            return this;
        }

        /** Size at which the log file is rotated (default 10 MiB). */
        public Builder logMaxSize(long maxBytes) {
            given.add(ArbiterOption.LOG_MAX_SIZE);
            this.logMaxBytes = maxBytes;
            return this;
        }

        /** How many rotated log files are kept (default 5). */
        public Builder logMaxFiles(int maxFiles) {
            given.add(ArbiterOption.LOG_MAX_FILES);
            this.logMaxFiles = maxFiles;
            return this;
        }

        /** Print every forksafe event: the arbiter's own, and the process events each worker reports. */
        public Builder printEvents(boolean print) {
            given.add(ArbiterOption.PRINT_EVENTS);
            this.printEvents = print;
            return this;
        }

        /**
         * Preload mode: boot one template worker, checkpoint it with CRIU when it is ready and restore one copy per
         * slot ({@code --preload}); see docs/preload.md.
         */
        public Builder preload(boolean preload) {
            this.preload = preload;
            return this;
        }

        /** With {@link #preload(boolean)}: keep the checkpoint image and CRIU's logs in {@code dir} ({@code --work-dir}). */
        public Builder workDir(Path dir) {
            given.add(ArbiterOption.WORK_DIR);
            this.workDir = dir;
            return this;
        }

        /**
         * With {@link #preload(boolean)}: keep the preload image in {@code dir} between arbiter runs
         * ({@code --image-dir}). The next start restores its copies from it instead of booting a template, if and only
         * if the image's key matches: the class path's content, the java binary and its version, the JVM options, the
         * main class and arguments, the working directory and the variables named with
         * {@link #imageKeyEnvironment(String)}; otherwise a new image replaces it, and the log and the status say
         * which input changed. {@code dir} is created with mode 0700; one that others may write is refused.
         *
         * <pre>{@code
         * ArbiterConfig.builder().preload(true).imageDir(Path.of("/var/cache/app/preload"))
         *         .imageKeyEnvironment("APP_PROFILE")
         * }</pre>
         */
        public Builder imageDir(Path dir) {
            given.add(ArbiterOption.IMAGE_DIR);
            this.imageDir = dir;
            return this;
        }

        /**
         * An environment variable whose value is part of the kept image's key ({@code --image-key-env}, repeatable):
         * the image is made again when it changes (or is set or unset). Variables set with
         * {@link #environment(String, String)} always are.
         */
        public Builder imageKeyEnvironment(String name) {
            given.add(ArbiterOption.IMAGE_KEY_ENV);
            if (name == null || name.isBlank() || name.contains("=")) {
                throw new IllegalArgumentException("--image-key-env needs an environment variable's name (no '='), "
                        + "got '" + name + "'");
            }
            imageKeyEnvironment.add(name);
            return this;
        }

        /**
         * Workers share a JDK dynamic AppCDS archive at {@code file} (JDK 13+): while it does not exist, one worker
         * records it ({@code -XX:ArchiveClassesAtExit}) and the arbiter moves it into place once that worker exited
         * (graceful stop, rolling restart); workers spawned after that map it ({@code -XX:SharedArchiveFile}).
         *
         * <pre>{@code
         * ArbiterConfig.builder().cdsArchive(Path.of("/var/cache/app/workers.jsa"))
         * }</pre>
         */
        public Builder cdsArchive(Path file) {
            given.add(ArbiterOption.CDS_ARCHIVE);
            this.cdsArchive = file;
            return this;
        }

        /** Console streams for echoed output (default System.out and System.err). */
        public Builder console(PrintStream out, PrintStream err) {
            this.out = out;
            this.err = err;
            return this;
        }

        /**
         * Checks the values and builds the configuration.
         *
         * @throws IllegalArgumentException naming the bad value and the fix
         */
        public ArbiterConfig build() {
            if (workers < 1) {
                throw new IllegalArgumentException("--workers must be at least 1, got " + workers);
            }
            if (standby < 0 || standby > MAX_STANDBY) {
                throw new IllegalArgumentException("--standby must be 0.." + MAX_STANDBY + " (booted idle workers "
                        + "besides --workers), got " + standby);
            }
            if (bind == null) {
                throw new IllegalArgumentException("no listening address: --bind is required, e.g. --bind "
                        + "127.0.0.1:8080 (in code: bind(\"127.0.0.1:8080\"))");
            }
            if (mainClass == null || mainClass.isBlank()) {
                throw new IllegalArgumentException("no worker main class: end the options with -- com.example.AppMain "
                        + "[args...] (in code: app(\"com.example.AppMain\", args...))");
            }
            if (backlog < 1) {
                throw new IllegalArgumentException("--backlog must be at least 1, got " + backlog);
            }
            positive(ArbiterOption.TIMEOUT, timeout);
            positive(ArbiterOption.BOOT_TIMEOUT, bootTimeout);
            positive(ArbiterOption.GRACEFUL_TIMEOUT, gracefulTimeout);
            positive(ArbiterOption.ABORT_GRACE, abortGrace);
            positive(ArbiterOption.MAX_BACKOFF, maxBackoff);
            if (maxRequests < 0) {
                throw new IllegalArgumentException("--max-requests must be 0 (never recycle) or more, got " + maxRequests);
            }
            if (maxRequestsJitter < 0) {
                throw new IllegalArgumentException("--max-requests-jitter must be 0 or more, got " + maxRequestsJitter);
            }
            if (maxRequestsJitter > 0 && maxRequests == 0) {
                throw new IllegalArgumentException("--max-requests-jitter " + maxRequestsJitter + " adds to "
                        + "--max-requests, which is not set: add --max-requests N or remove the jitter");
            }
            if (maxRss != null && maxRss < 1024L * 1024) {
                throw new IllegalArgumentException("--max-rss must be at least 1m (a JVM's resident memory is tens of "
                        + "megabytes at least), got " + maxRss + " bytes: e.g. --max-rss 512m");
            }
            if (requestTimeout != null) {
                positive(ArbiterOption.REQUEST_TIMEOUT, requestTimeout);
            }
            if (statusPort != null && (statusPort < 0 || statusPort > 65535)) {
                throw new IllegalArgumentException("--status-port must be 0..65535 (0: any free port), "
                        + "got " + statusPort);
            }
            if (statusPort != null && statusBind != null) {
                throw new IllegalArgumentException("--status-port and --status-bind both place the status port "
                        + "(--status-port " + statusPort + " is --status-bind 127.0.0.1:" + statusPort + "): use one "
                        + "of them");
            }
            if (minReady != null && (minReady < 1 || minReady > workers)) {
                throw new IllegalArgumentException("--min-ready must be 1.." + workers + " (at most --workers), got "
                        + minReady + ": lower it or raise --workers");
            }
            if (drainDelay.isNegative()) {
                throw new IllegalArgumentException("--drain-delay must not be negative, got " + drainDelay.toMillis()
                        + "ms: e.g. --drain-delay 10s");
            }
            if (logMaxBytes < 1024 || logMaxFiles < 0) {
                throw new IllegalArgumentException("log rotation needs --log-max-size >= 1k and --log-max-files >= 0, "
                        + "got " + logMaxBytes + " bytes and " + logMaxFiles);
            }
            ArbiterOption.requireModes(given, preload);
            if (imageDir != null && workDir != null) {
                throw new IllegalArgumentException("--work-dir and --image-dir both keep the preload image: "
                        + "--image-dir keeps it for the next run (with CRIU's logs), --work-dir only for a look after "
                        + "this one; use one of them");
            }
            if (!imageKeyEnvironment.isEmpty() && imageDir == null) {
                throw new IllegalArgumentException("--image-key-env names inputs of a kept image's key: add "
                        + "--image-dir DIR, or remove it");
            }
            if (imageDir != null) {
                io.forksafe.arbiter.internal.ImageDir.check(imageDir);
            }
            ArbiterConfig config = new ArbiterConfig(this);
            if (config.cdsArchive != null) {
                for (String o : config.jvmOptions) {
                    if (o.equals("-Xshare:off") || o.startsWith("-XX:SharedArchiveFile=")
                            || o.startsWith("-XX:ArchiveClassesAtExit=")) {
                        throw new IllegalArgumentException("the AppCDS archive option (--cds-archive) cannot be "
                                + "combined with the worker JVM option " + o + ": remove one of them");
                    }
                }
                for (String entry : config.classpath.split(java.io.File.pathSeparator)) {
                    if (!entry.isEmpty() && nonEmptyDirectory(Path.of(entry))) {
                        throw new IllegalArgumentException("an AppCDS archive (--cds-archive) holds classes from JAR "
                                + "files only, and the workers' class path has the directory " + entry
                                + ": package it as a jar (mvn package) or drop --cds-archive");
                    }
                }
                Path dir = config.cdsArchive.toAbsolutePath().getParent();
                if (dir == null || !java.nio.file.Files.isDirectory(dir)) {
                    throw new IllegalArgumentException("AppCDS archive directory " + dir
                            + " does not exist: create it or choose another --cds-archive path");
                }
            }
            return config;
        }

        private static boolean nonEmptyDirectory(Path p) {
            if (!java.nio.file.Files.isDirectory(p)) {
                return false;
            }
            try (java.util.stream.Stream<Path> children = java.nio.file.Files.list(p)) {
                return children.findAny().isPresent();
            } catch (java.io.IOException e) {
                return true;
            }
        }

        private static void positive(ArbiterOption option, Duration d) {
            if (d == null || d.isNegative() || d.isZero()) {
                throw new IllegalArgumentException(option.flag() + " must be positive, got "
                        + (d == null ? "none" : d.toMillis() + "ms") + ": e.g. " + option.flag() + " 30s");
            }
        }
    }
}
