package io.forksafe.arbiter.internal;

import io.forksafe.arbiter.ArbiterConfig;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.EnumSet;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.Set;

/**
 * Every option of the arbiter, in one table (gunicorn's settings table): the command line parses with it,
 * {@code --help} and the Markdown table in docs/arbiter.md are rendered from it, and {@link ArbiterConfig} checks
 * with it which options the chosen mode supports. Add an option here and it is parsed, documented and checked.
 */
public enum ArbiterOption {

    WORKERS("--workers", List.of(), "N", Kind.INT, false, "1",
            "worker JVMs to keep running (with --preload: restored copies)", Mode.BOTH, null,
            (b, flag, v) -> b.workers(OptionValues.integer(flag, v))),
    BIND("--bind", List.of(), "ADDRESS", Kind.BIND, false, "required",
            "address to listen on (the arbiter binds it and passes the socket to every worker as fd 0)",
            Mode.BOTH, null, (b, flag, v) -> b.bind(OptionValues.bind(flag, v))),
    STANDBY("--standby", List.of(), "K", Kind.INT, false, "0",
            "keep K more workers booted and idle (PostFork done, not accepting); when a worker dies or is "
                    + "replaced, one is promoted at once (it takes the slot and starts serving) and another boots",
            Mode.BOTH, null, (b, flag, v) -> b.standby(OptionValues.integer(flag, v))),
    PRELOAD("--preload", List.of(), null, Kind.FLAG, false, "off",
            "boot one worker, checkpoint it with CRIU once it is ready and restore one copy per slot (and again to "
                    + "replace a dead one); needs root and CRIU >= 4.2 (docs/preload.md)",
            Mode.BOTH, null, (b, flag, v) -> b.preload(true)),
    BACKLOG("--backlog", List.of(), "N", Kind.INT, false, "2048", "listen backlog", Mode.BOTH, null,
            (b, flag, v) -> b.backlog(OptionValues.integer(flag, v))),
    TIMEOUT("--timeout", List.of(), "DURATION", Kind.DURATION, false, "30s",
            "a ready worker silent this long is aborted and replaced", Mode.BOTH, null,
            (b, flag, v) -> b.timeout(OptionValues.duration(flag, v))),
    BOOT_TIMEOUT("--boot-timeout", List.of(), "DURATION", Kind.DURATION, false, "60s",
            "a worker not ready this long after spawning is replaced (with --preload: the template's boot, and "
                    + "each restore)",
            Mode.BOTH, null, (b, flag, v) -> b.bootTimeout(OptionValues.duration(flag, v))),
    GRACEFUL_TIMEOUT("--graceful-timeout", List.of(), "DURATION", Kind.DURATION, false, "30s",
            "stopping workers may finish in-flight requests this long, then they are killed", Mode.BOTH, null,
            (b, flag, v) -> b.gracefulTimeout(OptionValues.duration(flag, v))),
    ABORT_GRACE("--abort-grace", List.of(), "DURATION", Kind.DURATION, false, "500ms",
            "between SIGQUIT (thread dump) and SIGKILL of a hung worker", Mode.BOTH, null,
            (b, flag, v) -> b.abortGrace(OptionValues.duration(flag, v))),
    MAX_BACKOFF("--max-backoff", List.of(), "DURATION", Kind.DURATION, false, "10s",
            "longest respawn (or restore) delay for a slot whose workers keep crashing", Mode.BOTH, null,
            (b, flag, v) -> b.maxBackoff(OptionValues.duration(flag, v))),
    MAX_REQUESTS("--max-requests", List.of(), "N", Kind.INT, false, "0 (off)",
            "recycle a worker once it served N requests (plus its --max-requests-jitter draw): a replacement serves "
                    + "before it stops, as in a rolling restart; counted by the Jetty, Undertow and Tomcat adapters, or "
                    + "by the application's ArbiterWorker.requestServed(); with --preload each restored copy counts "
                    + "from its restore",
            Mode.BOTH, null, (b, flag, v) -> b.maxRequests(OptionValues.integer(flag, v))),
    MAX_REQUESTS_JITTER("--max-requests-jitter", List.of(), "J", Kind.INT, false, "0",
            "each worker adds a random 0..J to --max-requests, so that workers do not all recycle at once (with "
                    + "--preload each restored copy draws its own after its restore)",
            Mode.BOTH, null,
            (b, flag, v) -> b.maxRequestsJitter(OptionValues.integer(flag, v))),
    MAX_RSS("--max-rss", List.of(), "SIZE", Kind.SIZE, false, "none",
            "recycle a worker whose resident memory (VmRSS, read about once a second) is above SIZE: a replacement "
                    + "serves before it stops, as in a rolling restart",
            Mode.BOTH, null, (b, flag, v) -> b.maxRss(OptionValues.size(flag, v))),
    REQUEST_TIMEOUT("--request-timeout", List.of(), "DURATION", Kind.DURATION, false, "none",
            "abort a worker (SIGQUIT thread dump, SIGKILL after --abort-grace) whose request has run this long, and "
                    + "replace it; its other requests in flight fail with it (uWSGI's harakiri); needs the Jetty, "
                    + "Undertow or Tomcat adapter",
            Mode.BOTH, null,
            (b, flag, v) -> b.requestTimeout(OptionValues.duration(flag, v))),
    STATUS_PORT("--status-port", List.of(), "PORT", Kind.INT, false, "none",
            "serve the forksafe status JSON on 127.0.0.1:PORT (0: any free port, printed); ?format=text for text",
            Mode.BOTH, null, (b, flag, v) -> b.statusPort(OptionValues.integer(flag, v))),
    STATUS_BIND("--status-bind", List.of(), "ADDRESS", Kind.BIND, false, "none",
            "serve the status port on ADDRESS instead (e.g. 0.0.0.0:9090 or a pod's IP, for probes): /healthz, "
                    + "/readyz, /metrics answer any client, the dashboard / and /status loopback clients only unless "
                    + "-Dforksafe.status.allowRemote=true; not with --status-port",
            Mode.BOTH, null, (b, flag, v) -> b.statusBind(OptionValues.bind(flag, v))),
    MIN_READY("--min-ready", List.of(), "N", Kind.INT, false, "all workers",
            "/readyz answers 200 while at least N workers serve (1..--workers) and the arbiter is not stopping",
            Mode.BOTH, null, (b, flag, v) -> b.minReady(OptionValues.integer(flag, v))),
    DRAIN_DELAY("--drain-delay", List.of(), "DURATION", Kind.DURATION, false, "0",
            "on SIGTERM/SIGINT /readyz turns 503 at once and the workers keep serving this long before their "
                    + "graceful stop begins (a load balancer's time to stop sending; Kubernetes' preStop); a second "
                    + "signal ends the delay",
            Mode.BOTH, null, (b, flag, v) -> b.drainDelay(OptionValues.duration(flag, v))),
    STATUS_FILE("--status-file", List.of(), "PATH", Kind.PATH, false, "none",
            "write the status JSON to PATH every second", Mode.BOTH, null,
            (b, flag, v) -> b.statusFile(OptionValues.path(flag, v))),
    PIDFILE("--pidfile", List.of(), "PATH", Kind.PATH, false, "none", "write the arbiter's pid to PATH once it serves (every worker ready; a start script can wait for it), removed "
                    + "when it stops",
            Mode.BOTH, null, (b, flag, v) -> b.pidfile(OptionValues.path(flag, v))),
    LOG_FILE("--log-file", List.of(), "PATH", Kind.PATH, false, "none",
            "also write all output to PATH, rotated by size", Mode.BOTH, null,
            (b, flag, v) -> b.logFile(OptionValues.path(flag, v))),
    LOG_MAX_SIZE("--log-max-size", List.of(), "SIZE", Kind.SIZE, false, "10m", "rotate the log file at SIZE",
            Mode.BOTH, null,
            (b, flag, v) -> b.logMaxSize(OptionValues.size(flag, v))),
    LOG_MAX_FILES("--log-max-files", List.of(), "N", Kind.INT, false, "5", "rotated log files to keep",
            Mode.BOTH, null,
            (b, flag, v) -> b.logMaxFiles(OptionValues.integer(flag, v))),
    DAEMON("--daemon", List.of(), null, Kind.FLAG, false, "off",
            "detach from the calling shell: run in a new session without a terminal, stdin from /dev/null, all "
                    + "output to --log-file (required, as is --pidfile); the command returns 0 once the arbiter "
                    + "serves, or the arbiter's exit code and the reason if it failed to start",
            Mode.BOTH, null, (b, flag, v) -> {
                // ArbiterMain detaches (internal.Daemon) before the configuration runs
            }),
    JAVA("--java", List.of(), "PATH", Kind.STRING, false, "this JVM's", "java binary of the workers",
            Mode.BOTH, null, (b, flag, v) -> b.javaCommand(nonEmpty(flag, v))),
    JVM_OPTS("--jvm-opts", List.of(), "\"OPTS\"", Kind.STRING, false, "this JVM's",
            "replace the workers' JVM options, separated by spaces", Mode.BOTH, null,
            (b, flag, v) -> b.jvmOptions(v.isBlank() ? List.of() : Arrays.asList(v.strip().split("\\s+")))),
    JVM_OPT("--jvm-opt", List.of(), "OPT", Kind.STRING, true, "none", "add one JVM option for the workers",
            Mode.BOTH, null, (b, flag, v) -> b.addJvmOption(nonEmpty(flag, v))),
    CLASSPATH("--classpath", List.of("--cp", "-cp"), "CP", Kind.STRING, false, "this JVM's",
            "the workers' class path", Mode.BOTH, null, (b, flag, v) -> b.classpath(nonEmpty(flag, v))),
    ENV("--env", List.of(), "NAME=VALUE", Kind.STRING, true, "none",
            "an extra environment variable for the workers", Mode.BOTH, null, (b, flag, v) -> {
                int e = v.indexOf('=');
                if (e <= 0) {
                    throw new IllegalArgumentException(flag + " needs NAME=VALUE, got '" + v + "'");
                }
                b.environment(v.substring(0, e), v.substring(e + 1));
            }),
    CDS_ARCHIVE("--cds-archive", List.of(), "PATH", Kind.PATH, false, "none",
            "workers share a JDK AppCDS archive at PATH: while it is missing, one worker records it when it exits",
            Mode.SPAWN_ONLY, "restored copies are one image of the template's memory, its classes included",
            (b, flag, v) -> b.cdsArchive(OptionValues.path(flag, v))),
    WORK_DIR("--work-dir", List.of(), "DIR", Kind.PATH, false, "a temporary directory",
            "keep this run's checkpoint image and CRIU's logs in DIR, to look at after it (otherwise removed at "
                    + "exit); never restored by another run: --image-dir does that", Mode.PRELOAD_ONLY,
            "spawned workers have no checkpoint image",
            (b, flag, v) -> b.workDir(OptionValues.path(flag, v))),
    IMAGE_DIR("--image-dir", List.of(), "DIR", Kind.PATH, false, "none",
            "keep the preload image in DIR between runs: a start restores from it without booting a template while "
                    + "its key matches (class path content, java binary and version, JVM options, main class, "
                    + "arguments, --env and --image-key-env values), else makes a new one and says which input "
                    + "changed; DIR is created 0700 and refused if others may write it (docs/preload.md)",
            Mode.PRELOAD_ONLY, "spawned workers have no checkpoint image",
            (b, flag, v) -> b.imageDir(OptionValues.path(flag, v))),
    IMAGE_KEY_ENV("--image-key-env", List.of(), "NAME", Kind.STRING, true, "none",
            "an environment variable whose value (by its digest) is part of the kept image's key (--image-dir)",
            Mode.PRELOAD_ONLY, "spawned workers have no checkpoint image",
            (b, flag, v) -> b.imageKeyEnvironment(v)),
    PRINT_EVENTS("--print-events", List.of(), null, Kind.FLAG, false, "off",
            "print every forksafe event: the arbiter's and each worker's", Mode.BOTH, null,
            (b, flag, v) -> b.printEvents(true)),
    HELP("--help", List.of("-h"), null, Kind.FLAG, false, "", "show this help and exit", Mode.BOTH, null,
            (b, flag, v) -> {
            });

    /** What a value looks like. */
    public enum Kind {
        INT("a whole number"),
        DURATION("a duration: " + OptionValues.DURATION_FORMS),
        SIZE("a size: " + OptionValues.SIZE_FORMS),
        PATH("a path"),
        BIND("an address: " + OptionValues.BIND_FORMS),
        STRING("text"),
        FLAG("no value");

        private final String forms;

        Kind(String forms) {
            this.forms = forms;
        }

        /** The accepted forms, for messages and help. */
        public String forms() {
            return forms;
        }
    }

    /** The modes an option works in. */
    public enum Mode {
        BOTH, SPAWN_ONLY, PRELOAD_ONLY;

        boolean allows(boolean preload) {
            return this == BOTH || (this == PRELOAD_ONLY) == preload;
        }
    }

    /** Applies a value (null for a flag) to the builder; throws IllegalArgumentException naming {@code flag}. */
    @FunctionalInterface
    interface Apply {
        void apply(ArbiterConfig.Builder b, String flag, String value);
    }

    private final String flag;
    private final List<String> aliases;
    private final String valueName;
    private final Kind kind;
    private final boolean repeatable;
    private final String defaultText;
    private final String help;
    private final Mode mode;
    private final String whyNot;
    private final Apply apply;

    ArbiterOption(String flag, List<String> aliases, String valueName, Kind kind, boolean repeatable,
                  String defaultText, String help, Mode mode, String whyNot, Apply apply) {
        this.flag = flag;
        this.aliases = aliases;
        this.valueName = valueName;
        this.kind = kind;
        this.repeatable = repeatable;
        this.defaultText = defaultText;
        this.help = help;
        this.mode = mode;
        this.whyNot = whyNot;
        this.apply = apply;
    }

    /** The option's name on the command line, e.g. {@code --workers}. */
    public String flag() {
        return flag;
    }

    /** Other spellings, e.g. {@code --cp} and {@code -cp} for {@code --classpath}. */
    public List<String> aliases() {
        return aliases;
    }

    public Kind kind() {
        return kind;
    }

    public boolean takesValue() {
        return kind != Kind.FLAG;
    }

    public boolean repeatable() {
        return repeatable;
    }

    public Mode mode() {
        return mode;
    }

    /** The option spelled as typed, or empty. */
    public static Optional<ArbiterOption> byName(String name) {
        for (ArbiterOption o : values()) {
            if (o.flag.equals(name) || o.aliases.contains(name)) {
                return Optional.of(o);
            }
        }
        return Optional.empty();
    }

    /** Applies {@code value} (ignored for a flag) given as {@code typed} to the builder. */
    public void apply(ArbiterConfig.Builder b, String typed, String value) {
        apply.apply(b, typed, value);
    }

    /**
     * The one mode rule: an option set for a mode it does not work in is refused with the reason.
     *
     * @throws IllegalArgumentException naming the option, why and the fix
     */
    public void requireMode(boolean preload) {
        if (mode.allows(preload)) {
            return;
        }
        if (preload) {
            throw new IllegalArgumentException(flag + " does not apply with --preload: " + whyNot
                    + "; remove it");
        }
        throw new IllegalArgumentException(flag + " applies only with --preload: " + whyNot
                + "; add --preload or remove it");
    }

    /** The unknown-option message, suggesting the closest known spelling. */
    public static String unknown(String name) {
        String best = null;
        int bestDistance = Integer.MAX_VALUE;
        for (ArbiterOption o : values()) {
            List<String> names = new ArrayList<>(o.aliases);
            names.add(0, o.flag);
            for (String n : names) {
                int d = distance(name.toLowerCase(Locale.ROOT), n);
                if (d < bestDistance) {
                    bestDistance = d;
                    best = o.flag;
                }
            }
        }
        String hint = bestDistance <= Math.max(2, name.length() / 3) ? ": did you mean " + best + "?"
                : ": see --help for the options";
        return "unknown option " + name + hint;
    }

    /** How --help names the option: its spellings and its value. */
    private String synopsis() {
        StringBuilder s = new StringBuilder(flag);
        for (String a : aliases) {
            s.append(", ").append(a);
        }
        if (valueName != null) {
            s.append(' ').append(valueName);
        }
        return s.toString();
    }

    private String modeNote() {
        return switch (mode) {
            case BOTH -> "";
            case SPAWN_ONLY -> " Not with --preload: " + whyNot + ".";
            case PRELOAD_ONLY -> " Only with --preload.";
        };
    }

    /** The {@code --help} text. */
    public static String usage() {
        StringBuilder u = new StringBuilder("""
                Usage: java -cp <app class path> io.forksafe.arbiter.ArbiterMain [options] -- <main class> [args...]

                Runs <main class> in N worker JVMs that share one listening socket (passed as fd 0, see
                System.inheritedChannel(); forksafe-jetty and forksafe-undertow adopt it), and supervises them.
                With --preload the workers are restored copies of one warmed template (CRIU; docs/preload.md).

                Options:
                """);
        for (ArbiterOption o : values()) {
            String head = "  " + o.synopsis();
            String text = o.help + (o.repeatable ? " (repeatable)" : "")
                    + (o.defaultText.isEmpty() ? "" : " [default: " + o.defaultText + "]");
            List<String> lines = new ArrayList<>(wrap(text, 66));
            if (!o.modeNote().isEmpty()) {
                lines.addAll(wrap(o.modeNote().strip(), 66));
            }
            if (head.length() > 27) {
                u.append(head).append('\n');
                head = "";
            }
            for (String line : lines) {
                u.append(String.format("%-28s%s%n", head, line));
                head = "";
            }
        }
        u.append("""

                Durations: %s (no unit: seconds; whole milliseconds; not negative).
                Sizes: %s (binary: k = 1024).
                Addresses: %s;
                a port alone listens on the loopback address, port 0 on any free port.
                Signals: TERM/INT graceful stop, HUP rolling restart (with --preload: a new image first), TTIN one worker
                more, TTOU one worker fewer. Exit codes: 0 stopped, 2 usage error, address in use or --preload
                unavailable here, 3 a worker failed to boot (e.g. a PostFork hook threw), 1 other failure.
                """.formatted(OptionValues.DURATION_FORMS, OptionValues.SIZE_FORMS, OptionValues.BIND_FORMS));
        return u.toString().replace("\r\n", "\n");
    }

    /** The options as a Markdown table, as docs/arbiter.md holds it between its options markers. */
    public static String markdownTable() {
        StringBuilder t = new StringBuilder();
        t.append("| Option | Value | Default | Modes | Description |\n");
        t.append("|---|---|---|---|---|\n");
        for (ArbiterOption o : values()) {
            List<String> names = new ArrayList<>();
            names.add("`" + o.flag + "`");
            o.aliases.forEach(a -> names.add("`" + a + "`"));
            String value = o.valueName == null ? "" : "`" + o.valueName.replace("\"", "") + "`"
                    + (o.kind == Kind.STRING || o.kind == Kind.PATH ? "" : " (" + o.kind.name().toLowerCase(Locale.ROOT)
                    + ")");
            String modes = switch (o.mode) {
                case BOTH -> "both";
                case SPAWN_ONLY -> "spawn only (" + o.whyNot + ")";
                case PRELOAD_ONLY -> "`--preload` only";
            };
            t.append("| ").append(String.join(", ", names))
                    .append(" | ").append(value)
                    .append(" | ").append(o.defaultText)
                    .append(" | ").append(modes)
                    .append(" | ").append(o.help.replace("|", "\\|")).append(o.repeatable ? " (repeatable)" : "")
                    .append(" |\n");
        }
        t.append("\nDurations: ").append(OptionValues.DURATION_FORMS)
                .append(" (no unit: seconds; whole milliseconds; not negative). Sizes: ").append(OptionValues.SIZE_FORMS)
                .append(" (k = 1024). Addresses: ").append(OptionValues.BIND_FORMS)
                .append("; a port alone listens on the loopback address, port 0 on any free port.\n");
        return t.toString();
    }

    /** The options a builder recorded, checked against the mode. */
    public static void requireModes(Set<ArbiterOption> given, boolean preload) {
        EnumSet<ArbiterOption> sorted = given.isEmpty() ? EnumSet.noneOf(ArbiterOption.class) : EnumSet.copyOf(given);
        for (ArbiterOption o : sorted) {
            o.requireMode(preload);
        }
    }

    private static String nonEmpty(String flag, String v) {
        if (v == null || v.isBlank()) {
            throw new IllegalArgumentException(flag + " needs a value, got an empty one");
        }
        return v;
    }

    private static List<String> wrap(String text, int width) {
        List<String> lines = new ArrayList<>();
        StringBuilder line = new StringBuilder();
        for (String word : text.split(" ")) {
            if (line.length() > 0 && line.length() + 1 + word.length() > width) {
                lines.add(line.toString());
                line.setLength(0);
            }
            if (line.length() > 0) {
                line.append(' ');
            }
            line.append(word);
        }
        lines.add(line.toString());
        return lines;
    }

    private static int distance(String a, String b) {
        int[] prev = new int[b.length() + 1];
        int[] cur = new int[b.length() + 1];
        for (int j = 0; j <= b.length(); j++) {
            prev[j] = j;
        }
        for (int i = 1; i <= a.length(); i++) {
            cur[0] = i;
            for (int j = 1; j <= b.length(); j++) {
                int cost = a.charAt(i - 1) == b.charAt(j - 1) ? 0 : 1;
                cur[j] = Math.min(Math.min(cur[j - 1] + 1, prev[j] + 1), prev[j - 1] + cost);
            }
            int[] t = prev;
            prev = cur;
            cur = t;
        }
        return prev[b.length()];
    }
}
