package io.forksafe;

import io.forksafe.internal.BoundedLog;
import io.forksafe.internal.HookNames;
import io.forksafe.internal.HookStats;
import io.forksafe.internal.Redaction;
import io.forksafe.internal.ServiceLoading;
import io.forksafe.internal.StatusMBeans;
import io.forksafe.internal.WorkerTable;
import io.forksafe.spi.ContainerAdapter;
import io.forksafe.spi.ForkHookProvider;
import io.forksafe.spi.HostContext;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Supplier;

/**
 * The subscriber registry and the debug status of one application. Most code uses the global one through
 * {@link Forksafe}; tests and embedded servers that want isolation create their own.
 *
 * <p><b>Ordering.</b> Subscribers run by ascending order value, then registration order, except for
 * {@link PreFork}, which runs in exactly the reverse order (as {@code pthread_atfork}, Python's
 * {@code os.register_at_fork} and CRaC do).
 *
 * <p><b>Failures.</b> Every subscriber always runs. Failures are attached as suppressed exceptions to one
 * {@link ForkHookException}, thrown once after all have run, and each is recorded in the status.
 *
 * <p><b>Concurrency.</b> Publishing is safe from many threads at once; each publish works on a snapshot of the
 * subscriber list, so concurrent subscribe and close never disturb a dispatch in progress. A worker receives
 * {@link PostFork} exactly once, even if two adapters report it.
 *
 * <p><b>Users and hosts.</b> This class is what applications use: subscribe, read the status, name the process's
 * worker. Host adapters publish events, report errors and add status sections through the registry's
 * {@link io.forksafe.spi.HostContext} ({@code HostContext.of(registry)}); in tests,
 * {@link io.forksafe.testing.ForkSimulator} publishes them.
 *
 * <pre>{@code
 * ForkRegistry registry = new ForkRegistry();
 * try (Subscription s = registry.subscribe(PostFork.class, e -> pool.softEvictConnections())) {
 *     ForkSimulator.of(registry).simulateFork(1);   // a test: worker 1's PostFork runs the hook
 * }
 * }</pre>
 */
public final class ForkRegistry {

    /** Order value used when none is given. */
    public static final int DEFAULT_ORDER = 0;

    static final int MAX_HOOK_STATS = 1024;
    static final int MAX_LOG_LINES = 200;
    static final int MAX_ERRORS = 50;
    static final int MAX_NOTES = 64;
    static final int MAX_LIVE_WORKERS = 512;
    static final int MAX_RECENT_WORKERS = 16;
    static final int MAX_POST_FORK_MEMORY = 4096;
    private static final String OVERFLOW_SUBSCRIBER = "(other subscribers)";

    private static final System.Logger LOG = System.getLogger("io.forksafe");
    private static final Registration[] NONE = new Registration[0];

    static {
        io.forksafe.internal.HostAccess.install(r -> r.host);
    }

    private final String name;
    private final Object lock = new Object();
    private final HostContext host = new Host();
    /** Adapter state owned by this registry ({@link HostContext#state}), by type. */
    private final Map<Class<?>, Object> hostState = new ConcurrentHashMap<>();
    private volatile Registration[] registrations = NONE;
    /** Per event type, the matching registrations in forward order: dispatch needs no type checks. */
    private volatile Dispatch[] byType = index(NONE);
    private long nextSequence;

    private final ConcurrentHashMap<String, HookStats> hookStats = new ConcurrentHashMap<>();
    private final HookStats.TypeCounter[] typeCounters = newTypeCounters();
    private final Map<String, Boolean> postForkDelivered = new LinkedHashMap<>(64, 0.75f, false) {
        private static final long serialVersionUID = 1L;

        @Override
        protected boolean removeEldestEntry(Map.Entry<String, Boolean> eldest) {
            return size() > MAX_POST_FORK_MEMORY;
        }
    };
    private final AtomicLong duplicatePostForks = new AtomicLong();

    private final Map<String, String> containerSettings = new ConcurrentHashMap<>();
    private final BoundedLog log = new BoundedLog(MAX_LOG_LINES);
    private final BoundedLog errors = new BoundedLog(MAX_ERRORS);
    private final Map<String, String> notes = new ConcurrentHashMap<>();
    private final Map<String, Supplier<?>> details = new ConcurrentHashMap<>();
    private final WorkerTable workers = new WorkerTable(MAX_LIVE_WORKERS, MAX_RECENT_WORKERS);
    private final Set<String> loadedHookProviders = ConcurrentHashMap.newKeySet();
    private volatile String status = "attempting auto-configure";
    private volatile String environment;
    private volatile boolean errorReported;
    private volatile WorkerInfo processWorker;
    private volatile WorkerInfo unidentifiedProcess;
    /** This process's own PostFork (its worker is {@link #processWorker}), once published; guarded by lock. */
    private PostFork processPostFork;
    private final AtomicLong errorsTotal = new AtomicLong();

    /** Creates an isolated registry named "default". */
    public ForkRegistry() {
        this("default");
    }

    /** Creates an isolated registry; the name appears in its JMX object name. */
    public ForkRegistry(String name) {
        this.name = Objects.requireNonNull(name, "name must not be null");
        host.log("registry_setup");
    }

    /** This registry's name. */
    public String name() {
        return name;
    }

    // ------------------------------------------------------------------ subscribing

    /**
     * Subscribes {@code hook} to events of {@code type} (use {@link ForkEvent}{@code .class} for all six) with the
     * default order.
     *
     * <p><b>Late subscribers see their worker's copy.</b> If this process's own {@link PostFork} was already
     * published (an arbiter worker or a restored copy runs {@code main} after its copy point), a hook for
     * {@code PostFork} (or for all events) runs once at once, on the calling thread, for that event; the
     * autoconfigure log says so. Each hook still sees each worker's PostFork exactly once. As with any PostFork,
     * a failure is recorded in the status and thrown as {@link ForkHookException} (from here), which makes an
     * arbiter worker's boot fail. Other event types are not replayed.
     *
     * <pre>{@code
     * registry.subscribe(PostFork.class, e -> pool.softEvictConnections());
     * }</pre>
     *
     * @throws NullPointerException if {@code type} or {@code hook} is null
     * @throws ForkHookException    if the hook ran at once for this process's PostFork and failed
     */
    public <E extends ForkEvent> Subscription subscribe(Class<E> type, ForkHook<? super E> hook) {
        return subscribe(type, null, DEFAULT_ORDER, hook);
    }

    /**
     * Subscribes with an order value: lower values run first for every event except {@link PreFork}, where they
     * run last.
     *
     * @throws NullPointerException if {@code type} or {@code hook} is null
     */
    public <E extends ForkEvent> Subscription subscribe(Class<E> type, int order, ForkHook<? super E> hook) {
        return subscribe(type, null, order, hook);
    }

    /**
     * Subscribes with an explicit name for the status. With a null or blank name, a hook of a named class is named
     * after its class, and a lambda, method reference or anonymous class after where it was subscribed: the first
     * caller outside forksafe and the JDK, as {@code com.example.AppMain.main(AppMain.java:12)}. Names are unique per
     * event type: a second hook with the same name gets {@code #2}, and so on.
     *
     * @throws NullPointerException if {@code type} or {@code hook} is null
     */
    public <E extends ForkEvent> Subscription subscribe(Class<E> type, String name, int order, ForkHook<? super E> hook) {
        Objects.requireNonNull(type, "event type must not be null: pass e.g. PostFork.class");
        Objects.requireNonNull(hook, "hook must not be null");
        // outside the lock: a default name walks the stack
        String base = name != null && !name.isBlank() ? name.strip() : defaultName(hook);
        Registration r;
        PostFork missed;
        synchronized (lock) {
            String unique = uniqueName(base, type);
            r = new Registration(this, type, unique, order, nextSequence++, hook);
            Registration[] current = registrations;
            Registration[] next = Arrays.copyOf(current, current.length + 1);
            next[current.length] = r;
            Arrays.sort(next, Registration.ORDER);
            registrations = next;
            byType = index(next);
            // only this process's own PostFork: a restored copy still holds the template's until its own arrives
            PostFork last = processPostFork;
            missed = type.isAssignableFrom(PostFork.class) && last != null && isThisProcess(last.worker()) ? last : null;
        }
        if (missed != null) {
            runLate(r, missed);
        }
        return r;
    }

    /**
     * Runs a hook subscribed after this process's own {@link PostFork} was published (typically in {@code main},
     * which an arbiter or a restore runs after the copy point) once, at once, for that event: so the obvious code
     * is right and every hook sees its worker's PostFork exactly once. The publish that took the dispatch snapshot
     * under the same lock did not include this hook, so it cannot run twice.
     */
    private void runLate(Registration r, PostFork event) {
        host.log("hook " + r.name + " subscribed after this process's PostFork (" + event.worker().name() + ", "
                + event.worker().kind() + ", generation " + event.worker().generation() + "): ran it at once");
        r.statsFor(EventType.POST_FORK).recordLateRun(Instant.now());
        ForkHookException failure = run(r, event, EventType.POST_FORK, true, null);
        if (failure != null) {
            throw failure;
        }
    }

    private String uniqueName(String base, Class<?> type) {
        Set<String> taken = new HashSet<>();
        for (Registration r : registrations) {
            if (r.type == type) {
                taken.add(r.name);
            }
        }
        if (!taken.contains(base)) {
            return base;
        }
        for (int i = 2; ; i++) {
            String candidate = base + "#" + i;
            if (!taken.contains(candidate)) {
                return candidate;
            }
        }
    }

    private static HookStats.TypeCounter[] newTypeCounters() {
        HookStats.TypeCounter[] counters = new HookStats.TypeCounter[EventType.values().length];
        for (int i = 0; i < counters.length; i++) {
            counters[i] = new HookStats.TypeCounter();
        }
        return counters;
    }

    private static Dispatch[] index(Registration[] all) {
        EventType[] types = EventType.values();
        Dispatch[] out = new Dispatch[types.length];
        for (EventType t : types) {
            out[t.ordinal()] = new Dispatch(Arrays.stream(all).filter(r -> r.type.isAssignableFrom(t.eventClass()))
                    .toArray(Registration[]::new));
        }
        return out;
    }

    /** The hooks of one event type, in forward order; a new one whenever the subscriptions change. */
    private static final class Dispatch {
        final Registration[] hooks;
        /**
         * Plain flag, set once every hook here has a recorded duration: until then every publish is timed, so a
         * hook's first run always shows a duration. A stale read only times one more publish.
         */
        boolean allTimed;

        Dispatch(Registration[] hooks) {
            this.hooks = hooks;
            this.allTimed = hooks.length == 0;
        }
    }

    /** A named hook class keeps its name; a lambda is named after where it was subscribed (see HookNames). */
    static String defaultName(Object hook) {
        return HookNames.of(hook);
    }

    private void remove(Registration r) {
        synchronized (lock) {
            Registration[] current = registrations;
            int i = Arrays.asList(current).indexOf(r);
            if (i < 0) {
                return;
            }
            Registration[] next = new Registration[current.length - 1];
            System.arraycopy(current, 0, next, 0, i);
            System.arraycopy(current, i + 1, next, i, current.length - i - 1);
            registrations = next;
            byType = index(next);
        }
    }

    /** The active subscriptions, in forward dispatch order. */
    public List<Subscription> subscriptions() {
        return List.of(registrations);
    }

    // ------------------------------------------------------------------ publishing

    private static boolean allTimed(Registration[] hooks, EventType type) {
        for (Registration r : hooks) {
            if (r.active && !r.statsFor(type).hasDuration()) {
                return false;
            }
        }
        return true;
    }

    /** Runs one hook (unless it was closed meanwhile); returns {@code failure}, created or extended if it threw. */
    private static ForkHookException run(Registration r, ForkEvent event, EventType type, boolean timed,
                                         ForkHookException failure) {
        if (!r.active) {
            return failure;
        }
        if (!timed) {
            try {
                r.invoke(event);
                return failure;
            } catch (VirtualMachineError fatal) {
                throw fatal;
            } catch (Throwable t) {
                return failed(r, event, type, r.statsFor(type), -1L, t, failure);
            }
        }
        HookStats stats = r.statsFor(type);
        long t0 = System.nanoTime();
        try {
            r.invoke(event);
            stats.recordDuration(System.nanoTime() - t0);
            return failure;
        } catch (VirtualMachineError fatal) {
            throw fatal;
        } catch (Throwable t) {
            return failed(r, event, type, stats, System.nanoTime() - t0, t, failure);
        }
    }

    private static ForkHookException failed(Registration r, ForkEvent event, EventType type, HookStats stats,
                                            long durationNanos, Throwable t, ForkHookException failure) {
        stats.recordFailure(event.at(), durationNanos, t);
        LOG.log(System.Logger.Level.WARNING,
                () -> "forksafe: " + type.displayName() + " hook " + r.name + " failed for worker "
                        + event.worker().name(), t);
        ForkHookException f = failure;
        if (f == null) {
            f = new ForkHookException(event, type.displayName() + " hook(s) failed for worker "
                    + event.worker().name() + " (" + event.worker().kind() + ", slot " + event.worker().slot()
                    + "); see suppressed exceptions and the forksafe status");
        }
        f.addSuppressed(t);
        return f;
    }

    private boolean isThisProcess(WorkerInfo worker) {
        WorkerInfo me = processWorker;
        return me != null && worker.kind() != WorkerKind.THREAD && worker.identity().equals(me.identity());
    }

    private boolean firstPostFork(WorkerInfo worker) {
        String id = worker.identity();
        synchronized (postForkDelivered) {
            if (postForkDelivered.putIfAbsent(id, Boolean.TRUE) == null) {
                return true;
            }
        }
        long n = duplicatePostForks.incrementAndGet();
        if (n == 1 || Long.bitCount(n) == 1) {
            host.log("duplicate PostFork ignored for worker " + worker.name() + " (" + id
                    + "): two adapters report the same worker; " + n + " so far");
        }
        return false;
    }

    // ------------------------------------------------------------------ this process's identity

    /**
     * Who this process is as a worker: set by the adapter that knows (the arbiter worker, uWSGI, a restore), and
     * used by in-process adapters (Jetty, Undertow) for their process-level {@link PostWorkerInit} and
     * {@link WorkerExit}. Until set, it is {@code WorkerInfo.currentProcess(0, "main", 0)}.
     */
    public WorkerInfo processWorker() {
        WorkerInfo w = processWorker;
        if (w != null) {
            return w;
        }
        WorkerInfo main = unidentifiedProcess;
        if (main == null) { // read once: ProcessHandle.parent() reads /proc, and thread pools ask on every new thread
            main = WorkerInfo.currentProcess(0, "main", 0);
            unidentifiedProcess = main;
        }
        return main;
    }

    // ------------------------------------------------------------------ settings

    /**
     * The settings events carry: the container's configuration, overridden by {@code forksafe.*} system
     * properties. Read-only and unredacted; the status shows a redacted copy.
     */
    public Map<String, String> settings() {
        Map<String, String> merged = new TreeMap<>(containerSettings);
        System.getProperties().forEach((k, v) -> {
            if (k instanceof String key && key.startsWith("forksafe.") && v instanceof String value) {
                merged.put(key, value);
            }
        });
        return Map.copyOf(merged);
    }

    /** One setting, or {@code fallback} if absent. */
    public String setting(String key, String fallback) {
        String sys = System.getProperty(key);
        if (sys != null && key.startsWith("forksafe.")) {
            return sys;
        }
        return containerSettings.getOrDefault(key, fallback);
    }

    // ------------------------------------------------------------------ status

    /**
     * For manual wiring, like pyramid_forksafe's {@code mark_configured}: environment and status name the container.
     *
     * <pre>{@code
     * Forksafe.markConfigured("gunicorn-style launcher");
     * }</pre>
     */
    public void markConfigured(String container) {
        Objects.requireNonNull(container, "container must not be null");
        host.log(container + " mark_configured");
        environment = container;
        if (!errorReported) {
            status = container + " mark_configured";
        }
        exposeStatusMBean();
    }

    /** How many duplicate {@link PostFork} reports were ignored. */
    public long duplicatePostForks() {
        return duplicatePostForks.get();
    }

    /** A read-only, bounded snapshot of the status. */
    public ForksafeStatus status() {
        Map<String, String> currentSettings = settings();
        List<ForksafeStatus.HookExecution> hooks = new ArrayList<>();
        List<HookStats> all = new ArrayList<>(hookStats.values());
        all.sort(Comparator.comparing(HookStats::event).thenComparing(HookStats::subscriber));
        for (HookStats s : all) {
            long duration = s.lastDurationNanos();
            hooks.add(new ForksafeStatus.HookExecution(s.subscriber(), s.event(), s.count(), s.lastRun(),
                    duration < 0 ? null : Duration.ofNanos(duration),
                    s.failures(), Redaction.scrub(s.lastError(), currentSettings)));
        }
        Map<String, Object> detailValues = new TreeMap<>();
        details.forEach((k, v) -> {
            try {
                detailValues.put(k, io.forksafe.internal.StatusValues.plain(v.get())); // records render once, here
            } catch (RuntimeException e) {
                detailValues.put(k, "unavailable: " + e);
            }
        });
        Map<String, Long> counters = new LinkedHashMap<>(workers.counters());
        counters.put("duplicatePostForksIgnored", duplicatePostForks.get());
        return new ForksafeStatus(status, environment, log.snapshot(), hooks, processWorker().pid(),
                workers.live(), workers.recentlyEnded(), counters, Redaction.redact(currentSettings),
                new TreeMap<>(notes), errors.snapshot(), detailValues, Instant.now());
    }

    HookStats stats(String subscriber, EventType type) {
        String key = type.displayName() + "\u0000" + subscriber;
        HookStats existing = hookStats.get(key);
        if (existing != null) {
            return existing;
        }
        if (hookStats.size() >= MAX_HOOK_STATS) {
            return hookStats.computeIfAbsent(type.displayName() + "\u0000" + OVERFLOW_SUBSCRIBER,
                    k -> new HookStats(OVERFLOW_SUBSCRIBER, type.displayName(), typeCounters[type.ordinal()]));
        }
        return hookStats.computeIfAbsent(key,
                k -> new HookStats(subscriber, type.displayName(), typeCounters[type.ordinal()]));
    }

    // ------------------------------------------------------------------ discovery

    /**
     * Discovers host adapters with {@link java.util.ServiceLoader} (context class loader, then forksafe's own) and
     * lets each present one configure itself, recording pyramid_forksafe-style log lines. One adapter's error never
     * stops the others. The system property {@code forksafe.adapters} (comma-separated names, or {@code none})
     * restricts which adapters are tried.
     *
     * <pre>{@code
     * ForksafeStatus status = registry.autoconfigure();
     * }</pre>
     *
     * @return the status afterwards
     */
    public ForksafeStatus autoconfigure() {
        return autoconfigure(Thread.currentThread().getContextClassLoader());
    }

    /** {@link #autoconfigure()} with an explicit class loader for discovery. */
    public ForksafeStatus autoconfigure(ClassLoader loader) {
        host.log("attempting auto-configure");
        loadHookProviders(loader);
        String only = setting("forksafe.adapters", "").strip().toLowerCase(Locale.ROOT);
        Set<String> allowed = only.isEmpty() ? null : Set.of(only.split("\\s*,\\s*"));
        List<ContainerAdapter> adapters = ServiceLoading.load(ContainerAdapter.class, loader,
                (what, error) -> host.reportError("adapter discovery", what + " could not be loaded: " + error));
        boolean any = false;
        for (ContainerAdapter adapter : adapters) {
            String host = safeName(adapter);
            if (allowed != null && !allowed.contains(host.toLowerCase(Locale.ROOT))) {
                this.host.log(host + " skipped: not in forksafe.adapters=" + only);
                continue;
            }
            this.host.log("attempting to autoconfigure " + host);
            try {
                ContainerAdapter.Detection d = adapter.detect();
                if (d == null || !d.available()) {
                    String reason = d == null || d.reason() == null || d.reason().isBlank() ? "" : ": " + d.reason();
                    this.host.log(host + " not available" + reason);
                    continue;
                }
                this.host.log(host + " available");
                long errorsBefore = errorsTotal.get();
                adapter.configure(this.host);
                if (errorsTotal.get() > errorsBefore) {
                    continue; // the adapter reported its own error, naming the fix
                }
                this.host.configured(host, d.container());
                any = true;
            } catch (Exception | LinkageError e) {
                this.host.reportError(host, e.getMessage() == null ? e.toString() : e.getMessage());
            }
        }
        if (!any && !errorReported) {
            host.log("no container adapter configured");
            status = "not configured: no forksafe adapter found a host (add forksafe-jetty, forksafe-undertow or "
                    + "forksafe-native, or call markConfigured)";
        }
        exposeStatusMBean();
        return status();
    }

    private static String safeName(ContainerAdapter adapter) {
        try {
            String n = adapter.name();
            return n == null || n.isBlank() ? adapter.getClass().getName() : n;
        } catch (RuntimeException e) {
            return adapter.getClass().getName();
        }
    }

    /**
     * Loads zero-code hooks: every {@link ForkHookProvider} visible to {@code loader}, each at most once per
     * registry. Broken providers are reported in the status; the others still load.
     *
     * @return how many providers subscribed successfully in this call
     */
    public int loadHookProviders(ClassLoader loader) {
        if (Boolean.parseBoolean(setting("forksafe.hookProviders.disabled", "false"))) {
            host.log("hook providers disabled by forksafe.hookProviders.disabled=true");
            return 0;
        }
        int loaded = 0;
        List<ForkHookProvider> providers = ServiceLoading.load(ForkHookProvider.class, loader,
                (what, error) -> host.reportError("hook provider", what + " could not be loaded: " + error));
        for (ForkHookProvider provider : providers) {
            String id = provider.getClass().getName();
            if (!loadedHookProviders.add(id)) {
                continue;
            }
            try {
                provider.subscribe(this);
                host.log("hook provider " + id + " loaded");
                loaded++;
            } catch (Exception | LinkageError e) {
                host.reportError("hook provider", id + " failed: " + e);
            }
        }
        return loaded;
    }

    /**
     * Registers the read-only status MBean ({@code io.forksafe:type=Status} for the global registry,
     * {@code io.forksafe:type=Status,name=<name>} otherwise) unless {@code forksafe.jmx=false} or JMX is absent.
     * Idempotent.
     *
     * @return the object name, or null if not registered
     */
    public String exposeStatusMBean() {
        if (!Boolean.parseBoolean(setting("forksafe.jmx", "true"))) {
            return null;
        }
        return StatusMBeans.register(this, this == Forksafe.globalIfCreated());
    }

    @Override
    public String toString() {
        return "ForkRegistry[" + name + ", " + registrations.length + " subscriptions, status=" + status + "]";
    }

    // ------------------------------------------------------------------ registration

    private static final class Registration implements Subscription {

        static final Comparator<Registration> ORDER =
                Comparator.comparingInt((Registration r) -> r.order).thenComparingLong(r -> r.sequence);

        final ForkRegistry owner;
        final Class<? extends ForkEvent> type;
        final String name;
        final int order;
        final long sequence;
        final ForkHook<? super ForkEvent> hook;
        final HookStats[] stats = new HookStats[EventType.values().length];
        volatile boolean active = true;

        @SuppressWarnings("unchecked")
        Registration(ForkRegistry owner, Class<? extends ForkEvent> type, String name, int order, long sequence,
                     ForkHook<?> hook) {
            this.owner = owner;
            this.type = type;
            this.name = name;
            this.order = order;
            this.sequence = sequence;
            this.hook = (ForkHook<? super ForkEvent>) hook;
            for (EventType t : EventType.values()) {
                if (type.isAssignableFrom(t.eventClass())) {
                    stats[t.ordinal()] = owner.stats(name, t);
                    stats[t.ordinal()].attach(this);
                }
            }
        }

        HookStats statsFor(EventType t) {
            return stats[t.ordinal()];
        }

        void invoke(ForkEvent event) throws Exception {
            hook.onEvent(event);
        }

        @Override
        public String name() {
            return name;
        }

        @Override
        public Class<? extends ForkEvent> eventType() {
            return type;
        }

        @Override
        public int order() {
            return order;
        }

        @Override
        public boolean isActive() {
            return active;
        }

        @Override
        public void close() {
            if (!active) {
                return;
            }
            active = false;
            owner.remove(this);
            for (HookStats s : stats) {
                if (s != null) {
                    s.detach(this);
                }
            }
        }

        @Override
        public String toString() {
            return "Subscription[" + type.getSimpleName() + " <- " + name + ", order " + order
                    + (active ? "" : ", closed") + "]";
        }
    }

    /** This registry's host side: the adapter SPI, on the registry's non-public operations. */
    private final class Host implements HostContext {

        @Override
        public ForkRegistry registry() {
            return ForkRegistry.this;
        }

        @Override
        public void preFork(WorkerInfo worker, ContainerInfo container) {
            publish(new PreFork(worker, container, settings(), Instant.now()));
        }

        @Override
        public void postFork(WorkerInfo worker, ContainerInfo container) {
            publish(new PostFork(worker, container, settings(), Instant.now()));
        }

        @Override
        public void postForkParent(WorkerInfo worker, ContainerInfo container) {
            publish(new PostForkParent(worker, container, settings(), Instant.now()));
        }

        @Override
        public void postWorkerInit(WorkerInfo worker, ContainerInfo container) {
            publish(new PostWorkerInit(worker, container, settings(), Instant.now()));
        }

        @Override
        public void workerExit(WorkerInfo worker, ContainerInfo container, String reason) {
            publish(new WorkerExit(worker, container, settings(), Instant.now(), reason));
        }

        @Override
        public void childExit(WorkerInfo worker, ContainerInfo container, int exitStatus) {
            publish(new ChildExit(worker, container, settings(), Instant.now(), exitStatus));
        }

        @Override
        public void publish(ForkEvent event) {
            Objects.requireNonNull(event, "event must not be null");
            EventType type = event.type();
            if (type == EventType.POST_FORK && !firstPostFork(event.worker())) {
                return;
            }
            workers.record(event);
            if (type == EventType.WORKER_EXIT) {
                synchronized (postForkDelivered) {
                    postForkDelivered.remove(event.worker().identity());
                }
            }
            Dispatch dispatch;
            if (type == EventType.POST_FORK && isThisProcess(event.worker())) {
                synchronized (lock) { // pairs with subscribe: a hook added now either is in this snapshot or runs late
                    processPostFork = (PostFork) event;
                    dispatch = byType[type.ordinal()];
                }
            } else {
                dispatch = byType[type.ordinal()];
            }
            Registration[] snapshot = dispatch.hooks;
            long n = typeCounters[type.ordinal()].dispatched(event.at());
            // Durations are sampled (one publish in 64 per type), so bookkeeping stays off the clock.
            boolean untimedSoFar = !dispatch.allTimed;
            boolean timed = untimedSoFar || (n & HookStats.TIMING_SAMPLE_MASK) == 0;
            ForkHookException failure = null;
            if (type.runsInReverse()) {
                for (int k = snapshot.length - 1; k >= 0; k--) {
                    failure = run(snapshot[k], event, type, timed, failure);
                }
            } else {
                for (Registration r : snapshot) {
                    failure = run(r, event, type, timed, failure);
                }
            }
            if (untimedSoFar) {
                dispatch.allTimed = allTimed(snapshot, type);
            }
            if (failure != null) {
                throw failure;
            }
        }

        @Override
        public void identifyProcess(WorkerInfo worker) {
            processWorker = Objects.requireNonNull(worker, "worker must not be null");
        }

        @Override
        public void putSettings(Map<String, String> settings) {
            settings.forEach((k, v) -> {
                if (v == null) {
                    containerSettings.remove(k);
                } else {
                    containerSettings.put(k, v);
                }
            });
        }

        @Override
        public void log(String line) {
            log.add(line);
            LOG.log(System.Logger.Level.INFO, "forksafe: {0}", line);
        }

        @Override
        public void reportError(String hostName, String reason) {
            String line = hostName + " error: " + reason;
            log.add(line);
            errors.add(line);
            errorsTotal.incrementAndGet();
            errorReported = true;
            status = line;
            LOG.log(System.Logger.Level.WARNING, "forksafe: {0}", line);
        }

        @Override
        public void configured(String hostName, ContainerInfo container) {
            log(hostName + " hook configured");
            environment = container.toString();
            if (!errorReported) {
                status = hostName + " hook configured";
            }
            exposeStatusMBean();
        }

        @Override
        public void note(String key, String text) {
            if (notes.size() >= MAX_NOTES && !notes.containsKey(key)) {
                return;
            }
            notes.put(key, text);
        }

        @Override
        public void statusDetail(String key, Supplier<?> supplier) {
            details.put(key, supplier);
        }

        @Override
        public void removeStatusDetail(String key) {
            details.remove(key);
        }

        @Override
        public <T> T state(Class<T> type, Supplier<? extends T> create) {
            Objects.requireNonNull(type, "type must not be null");
            return type.cast(hostState.computeIfAbsent(type, t -> Objects.requireNonNull(create.get(),
                    "the state supplier returned null")));
        }

        @Override
        public String toString() {
            return "HostContext[" + name + "]";
        }
    }
}
