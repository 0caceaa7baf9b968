package io.forksafe.arbiter;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.forksafe.arbiter.internal.ArbiterOption;
import io.forksafe.arbiter.internal.OptionValues;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Stream;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The one options table ({@link ArbiterOption}) and the one parser, in both modes: every value form, every refusal,
 * {@code --help}, and the docs rendered from the table. No process is started (parsing and building only).
 */
class ArbiterOptionsTest {

    record Result(int code, String out, String err) {
    }

    /** Runs the CLI for arguments that never get to start an arbiter (help and usage errors). */
    static Result run(String... args) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int code = ArbiterMain.run(args, new PrintStream(out, true, StandardCharsets.UTF_8),
                new PrintStream(err, true, StandardCharsets.UTF_8));
        return new Result(code, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    }

    /** The arguments in spawn mode ({@code preload} false) or preload mode, with a fixed bind unless given. */
    static ArbiterConfig parse(boolean preload, String... options) {
        List<String> args = new ArrayList<>();
        if (preload) {
            args.add("--preload");
        }
        args.addAll(Arrays.asList(options));
        if (!args.contains("--bind") && args.stream().noneMatch(a -> a.startsWith("--bind="))) {
            args.addAll(List.of("--bind", "127.0.0.1:8080"));
        }
        args.addAll(List.of("--", "com.example.Main", "a1"));
        return ArbiterMain.parse(args.toArray(String[]::new));
    }

    static Stream<Boolean> bothModes() {
        return Stream.of(false, true);
    }

    static Stream<Arguments> durations() {
        return Stream.of(
                Arguments.of("30", Duration.ofSeconds(30)),
                Arguments.of("30s", Duration.ofSeconds(30)),
                Arguments.of("1.5s", Duration.ofMillis(1500)),
                Arguments.of("0.25", Duration.ofMillis(250)),
                Arguments.of("500ms", Duration.ofMillis(500)),
                Arguments.of("2m", Duration.ofMinutes(2)),
                Arguments.of("1.5m", Duration.ofSeconds(90)),
                Arguments.of("1h", Duration.ofHours(1)),
                Arguments.of(" 45S ", Duration.ofSeconds(45)));
    }

    static Stream<Arguments> durationsInBothModes() {
        return durations().flatMap(d -> bothModes().map(m -> Arguments.of(m, d.get()[0], d.get()[1])));
    }

    @ParameterizedTest(name = "preload={0}: --boot-timeout {1}")
    @MethodSource("durationsInBothModes")
    void everyDurationFormIsAcceptedInBothModes(boolean preload, String form, Duration expected) {
        assertThat(parse(preload, "--boot-timeout", form).bootTimeout()).isEqualTo(expected);
        assertThat(parse(preload, "--graceful-timeout=" + form).gracefulTimeout()).isEqualTo(expected);
        assertThat(OptionValues.duration("--x", form)).isEqualTo(expected);
    }

    @ParameterizedTest(name = "--timeout {0}")
    @ValueSource(strings = {"-5s", "-1", "soon", "5 s", "1e3", "5sec", "", "1.0005s", "0.5ms", "1d"})
    void badDurationsExitTwoNamingTheFlagTheValueAndTheForms(String bad) {
        for (boolean preload : List.of(false, true)) {
            String flag = preload ? "--boot-timeout" : "--timeout";
            Result r = preload ? run("--preload", "--bind", "127.0.0.1:8080", flag, bad, "--", "x.Main")
                    : run("--bind", "127.0.0.1:0", flag, bad, "--", "x.Main");
            assertThat(r.code()).isEqualTo(2);
            assertThat(r.err()).contains(flag).contains("'" + bad + "'");
            assertThat(r.err()).containsAnyOf("such as 30, 30s, 1.5s, 500ms, 2m or 1h", "whole number of milliseconds");
        }
    }

    @Test
    void zeroDurationsAreRefusedByTheConfigNamingTheFlag() {
        assertThat(run("--bind", "127.0.0.1:0", "--timeout", "0", "--", "x.Main").err())
                .contains("--timeout must be positive, got 0ms: e.g. --timeout 30s");
        assertThatThrownBy(() -> ArbiterConfig.builder().bind("127.0.0.1:0").app("x.Main")
                .gracefulTimeout(Duration.ofSeconds(-1)).build())
                .hasMessageContaining("--graceful-timeout must be positive");
    }

    static Stream<Arguments> binds() {
        InetAddress loopback = InetAddress.getLoopbackAddress();
        return Stream.of(
                Arguments.of("8080", new InetSocketAddress(loopback, 8080)),
                Arguments.of(":8080", new InetSocketAddress(loopback, 8080)),
                Arguments.of("127.0.0.1:8080", new InetSocketAddress("127.0.0.1", 8080)),
                Arguments.of("0.0.0.0:8080", new InetSocketAddress("0.0.0.0", 8080)),
                Arguments.of("[::1]:8080", new InetSocketAddress("::1", 8080)),
                Arguments.of("localhost:8080", new InetSocketAddress("localhost", 8080)));
    }

    static Stream<Arguments> bindsInBothModes() {
        return binds().flatMap(b -> bothModes().map(m -> Arguments.of(m, b.get()[0], b.get()[1])));
    }

    @ParameterizedTest(name = "preload={0}: --bind {1}")
    @MethodSource("bindsInBothModes")
    void everyBindFormIsAcceptedInBothModesAndByTheBuilder(boolean preload, String form, InetSocketAddress expected) {
        assertThat(parse(preload, "--bind", form).bind()).isEqualTo(expected);
        assertThat(parse(preload, "--bind=" + form).bind()).isEqualTo(expected);
        assertThat(ArbiterConfig.builder().preload(preload).bind(form).app("x.Main").build().bind())
                .isEqualTo(expected);
    }

    @ParameterizedTest(name = "--bind {0}")
    @CsvSource(delimiter = '|', value = {
            "localhost|bad bind address 'localhost' (--bind): add a port",
            "127.0.0.1:99999|port out of range in bind address '127.0.0.1:99999' (--bind): use 0..65535",
            "127.0.0.1:http|bad port in bind address '127.0.0.1:http' (--bind): use a number 0..65535",
            "::1:8080|bad bind address '::1:8080' (--bind): put an IPv6 address in brackets, e.g. [::1]:8080",
            "[::1]8080|bad bind address '[::1]8080' (--bind): write an IPv6 address as [::1]:8080",
            "-1|bad bind address '-1' (--bind): add a port",
            "no-such-host.invalid:80|unknown host in bind address 'no-such-host.invalid:80' (--bind)"})
    void badBindFormsExitTwoWithTheFix(String bad, String message) {
        Result r = run("--bind", bad, "--", "x.Main");
        assertThat(r.code()).isEqualTo(2);
        assertThat(r.err()).contains(message);
        assertThatThrownBy(() -> ArbiterConfig.builder().bind(bad)).hasMessageContaining(message);
    }

    @ParameterizedTest(name = "preload={0}")
    @MethodSource("bothModes")
    void theClassPathFlagHasThreeSpellingsInBothModes(boolean preload) {
        assertThat(parse(preload, "--classpath", "/a").classpath()).isEqualTo("/a");
        assertThat(parse(preload, "--cp", "/b").classpath()).isEqualTo("/b");
        assertThat(parse(preload, "-cp", "/c").classpath()).isEqualTo("/c");
        assertThat(parse(preload, "--cp=/d").classpath()).isEqualTo("/d");
    }

    @ParameterizedTest(name = "--log-max-size {0}")
    @CsvSource({"1048576,1048576", "512k,524288", "10m,10485760", "1g,1073741824", "2M,2097152"})
    void sizes(String form, long bytes) {
        assertThat(parse(false, "--log-max-size", form).logMaxBytes()).isEqualTo(bytes);
        assertThat(OptionValues.size("--x", form)).isEqualTo(bytes);
    }

    @ParameterizedTest(name = "--log-max-size {0}")
    @ValueSource(strings = {"-1m", "1.5m", "10mb", "big", "9999999999g"})
    void badSizesExitTwo(String bad) {
        Result r = run("--bind", "127.0.0.1:0", "--log-max-size", bad, "--", "x.Main");
        assertThat(r.code()).isEqualTo(2);
        assertThat(r.err()).contains("--log-max-size").contains("'" + bad + "'");
    }

    @ParameterizedTest(name = "preload={0}")
    @MethodSource("bothModes")
    void theOptionsOfBothModesParseTheSameWay(boolean preload) {
        ArbiterConfig c = parse(preload, "--workers", "3", "--boot-timeout", "2m", "--graceful-timeout", "1.5s",
                "--status-port", "0", "--pidfile", "/tmp/x.pid", "--java", "/bin/java", "--jvm-opts", "-Xmx64m -Da=b",
                "--jvm-opt", "-Dc=d", "--env", "A=B=C", "--env", "D=", "--print-events");
        assertThat(c.preload()).isEqualTo(preload);
        assertThat(c.workers()).isEqualTo(3);
        assertThat(c.bootTimeout()).isEqualTo(Duration.ofMinutes(2));
        assertThat(c.gracefulTimeout()).isEqualTo(Duration.ofMillis(1500));
        assertThat(c.statusPort()).isZero();
        assertThat(c.pidfile()).isEqualTo(Path.of("/tmp/x.pid"));
        assertThat(c.javaCommand()).isEqualTo("/bin/java");
        assertThat(c.jvmOptions()).containsExactly("-Xmx64m", "-Da=b", "-Dc=d");
        assertThat(c.environment()).containsEntry("A", "B=C").containsEntry("D", "");
        assertThat(c.printEvents()).isTrue();
        assertThat(c.mainClass()).isEqualTo("com.example.Main");
        assertThat(c.args()).containsExactly("a1");
    }

    @Test
    void theProbeOptionsParseAndAreChecked() {
        ArbiterConfig c = parse(false, "--workers", "3", "--status-bind", "0.0.0.0:9090", "--min-ready", "2",
                "--drain-delay", "5s");
        assertThat(c.statusAddress()).isEqualTo(new InetSocketAddress("0.0.0.0", 9090));
        assertThat(c.minReady()).isEqualTo(2);
        assertThat(c.drainDelay()).isEqualTo(Duration.ofSeconds(5));
        ArbiterConfig defaults = parse(false, "--workers", "3", "--status-port", "0");
        assertThat(defaults.statusAddress()).isEqualTo(new InetSocketAddress(java.net.InetAddress.getLoopbackAddress(), 0));
        assertThat(defaults.minReady()).as("default: every worker").isEqualTo(3);
        assertThat(defaults.drainDelay()).isZero();

        Result tooMany = run("--bind", "127.0.0.1:0", "--workers", "2", "--min-ready", "3", "--", "x.Main");
        assertThat(tooMany.code()).isEqualTo(2);
        assertThat(tooMany.err()).contains("--min-ready must be 1..2 (at most --workers), got 3")
                .contains("lower it or raise --workers");
        assertThat(run("--bind", "127.0.0.1:0", "--min-ready", "0", "--", "x.Main").err())
                .contains("--min-ready must be 1..1");
        Result both = run("--bind", "127.0.0.1:0", "--status-port", "9090", "--status-bind", "0.0.0.0:9091", "--",
                "x.Main");
        assertThat(both.code()).isEqualTo(2);
        assertThat(both.err()).contains("--status-port and --status-bind both place the status port")
                .contains("use one of them");
        assertThat(run("--bind", "127.0.0.1:0", "--status-bind", "nowhere", "--", "x.Main").err())
                .contains("--status-bind").contains("add a port");
        assertThat(run("--bind", "127.0.0.1:0", "--drain-delay", "-1s", "--", "x.Main").err())
                .contains("--drain-delay needs a duration");
    }

    @Test
    void theWorkDirIsAPreloadOption() {
        assertThat(parse(true, "--work-dir", "/tmp/img").workDir()).isEqualTo(Path.of("/tmp/img"));
        Result r = run("--work-dir", "/tmp/img", "--bind", "127.0.0.1:0", "--", "x.Main");
        assertThat(r.code()).isEqualTo(2);
        assertThat(r.err()).contains("--work-dir applies only with --preload: spawned workers have no checkpoint "
                + "image; add --preload or remove it");
    }

    static Stream<Arguments> spawnOnly() {
        return Stream.of(
                Arguments.of(ArbiterOption.CDS_ARCHIVE, "/tmp/a.jsa"));
    }

    @Test
    void theSpawnOnlyOptionsAreTheTablesOwn() {
        assertThat(spawnOnly().map(a -> a.get()[0]))
                .containsExactlyInAnyOrderElementsOf(Arrays.stream(ArbiterOption.values())
                        .filter(o -> o.mode() == ArbiterOption.Mode.SPAWN_ONLY).toList());
    }

    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("spawnOnly")
    void optionsThatDoNotApplyToRestoredCopiesAreRefusedWithTheReason(ArbiterOption option, String value) {
        Result r = run("--preload", option.flag(), value, "--bind", "127.0.0.1:8080", "--", "x.Main");
        assertThat(r.code()).isEqualTo(2);
        assertThat(r.err()).containsPattern("forksafe arbiter: " + option.flag()
                + " does not apply with --preload: .+; remove it");
        // the same flag is fine in spawn mode (an AppCDS archive needs a class path of jars; /tmp exists)
        assertThat(parse(false, option.flag(), value, "--cp", "/tmp/app.jar").preload()).isFalse();
    }

    @Test
    void theLibraryBuilderHasTheSameModeRule() {
        assertThatThrownBy(() -> ArbiterConfig.builder().preload(true).bind("127.0.0.1:8080").app("x.Main")
                .cdsArchive(Path.of("/tmp/a.jsa")).build())
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("--cds-archive does not apply with --preload: restored copies are one image of the "
                        + "template's memory, its classes included; remove it");
        // supervision works the same for both worker sources
        assertThat(ArbiterConfig.builder().preload(true).bind("127.0.0.1:8080").app("x.Main")
                .timeout(Duration.ofSeconds(5)).maxBackoff(Duration.ofSeconds(2)).build().timeout())
                .isEqualTo(Duration.ofSeconds(5));
        // the arbiter binds the socket in both modes: an ephemeral port and a backlog are fine with --preload
        ArbiterConfig ephemeral = ArbiterConfig.builder().preload(true).bind("127.0.0.1:0").backlog(16).app("x.Main")
                .build();
        assertThat(ephemeral.bind().getPort()).isZero();
        assertThat(ephemeral.backlog()).isEqualTo(16);
        assertThatThrownBy(() -> ArbiterConfig.builder().bind("127.0.0.1:0").app("x.Main")
                .workDir(Path.of("/tmp")).build())
                .hasMessageContaining("--work-dir applies only with --preload");
    }

    @Test
    void helpExitsZeroAndListsEveryFlagAndAlias() {
        for (String help : List.of("--help", "-h")) {
            Result r = run("--workers", "2", help, "--nonsense");
            assertThat(r.code()).isZero();
            assertThat(r.err()).isEmpty();
            assertThat(r.out()).startsWith("Usage: java -cp <app class path> io.forksafe.arbiter.ArbiterMain");
            for (ArbiterOption o : ArbiterOption.values()) {
                assertThat(r.out()).contains(o.flag());
                o.aliases().forEach(a -> assertThat(r.out()).contains(a));
            }
            assertThat(r.out()).contains("Not with --preload:",
                    "Only with --preload", "1.5s", "[::1]:8080", "HUP rolling restart");
        }
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', value = {
            "--wrokers|unknown option --wrokers: did you mean --workers?",
            "--preloda|unknown option --preloda: did you mean --preload?",
            "--class-path|unknown option --class-path: did you mean --classpath?",
            "--bnid|unknown option --bnid: did you mean --bind?",
            "--frobnicate-everything|unknown option --frobnicate-everything: see --help for the options"})
    void anUnknownFlagExitsTwoNamingItAndTheClosest(String flag, String message) {
        for (String[] prefix : List.of(new String[0], new String[] {"--preload"})) {
            List<String> args = new ArrayList<>(List.of(prefix));
            args.addAll(List.of(flag, "2", "--bind", "127.0.0.1:8080", "--", "x.Main"));
            Result r = run(args.toArray(String[]::new));
            assertThat(r.code()).isEqualTo(2);
            assertThat(r.err()).contains("forksafe arbiter: " + message).contains("Run with --help");
        }
    }

    @ParameterizedTest(name = "preload={0}")
    @MethodSource("bothModes")
    void aMissingMainClassValueOrSeparatorExitsTwo(boolean preload) {
        String mode = preload ? "--preload" : "--print-events";
        assertThat(run(mode, "--bind", "127.0.0.1:8080").err()).contains("no worker main class: end the options "
                + "with -- com.example.AppMain");
        assertThat(run(mode, "--bind", "127.0.0.1:8080", "--").err()).contains("no worker main class");
        Result noSeparator = run(mode, "--bind", "127.0.0.1:8080", "x.Main");
        assertThat(noSeparator.code()).isEqualTo(2);
        assertThat(noSeparator.err()).contains("unexpected argument 'x.Main': put the worker's main class after --");
        assertThat(run(mode, "--bind", "127.0.0.1:8080", "--workers", "--", "x.Main").err())
                .contains("--workers needs a value: a whole number");
        assertThat(run(mode, "--bind", "127.0.0.1:8080", "--workers").err()).contains("--workers needs a value");
        assertThat(run(mode, "--workers", "2", "--", "x.Main").err()).contains("--bind is required");
        assertThat(run(mode, "--bind", "127.0.0.1:8080", "--workers", "two", "--", "x.Main").err())
                .contains("--workers needs a whole number, got 'two'");
        assertThat(run(mode, "--bind", "127.0.0.1:8080", "--workers", "0", "--", "x.Main").err())
                .contains("--workers must be at least 1, got 0");
        assertThat(run(mode, "--bind", "127.0.0.1:8080", "--env", "NOEQUALS", "--", "x.Main").err())
                .contains("--env needs NAME=VALUE, got 'NOEQUALS'");
        assertThat(run(mode, "--bind", "127.0.0.1:8080", "--print-events=yes", "--", "x.Main").err())
                .contains("--print-events takes no value");
        assertThat(run(mode, "--bind", "127.0.0.1:8080", "--status-port", "70000", "--", "x.Main").err())
                .contains("--status-port must be 0..65535");
        assertThat(run(mode, "--bind", "127.0.0.1:8080", "--workers", "0", "--", "x.Main").code()).isEqualTo(2);
    }

    @ParameterizedTest
    @EnumSource(ArbiterOption.class)
    void everyOptionIsDocumentedInTheTableAndInTheHelp(ArbiterOption option) {
        assertThat(ArbiterOption.markdownTable()).contains("`" + option.flag() + "`");
        assertThat(ArbiterMain.USAGE).contains(option.flag());
    }

    /** docs/arbiter.md holds the table rendered from the options, verbatim, so the docs cannot drift. */
    @Test
    void docsArbiterMdHoldsTheGeneratedOptionsTable() throws Exception {
        Path doc = Path.of("..", "docs", "arbiter.md");
        String text = Files.readString(doc);
        String begin = "<!-- options:begin (generated from io.forksafe.arbiter.internal.ArbiterOption by "
                + "ArbiterOptionsTest: do not edit) -->\n";
        String end = "<!-- options:end -->";
        int b = text.indexOf(begin);
        int e = text.indexOf(end);
        String expected = begin + ArbiterOption.markdownTable() + end;
        if (b < 0 || e < b || !text.substring(b, e + end.length()).equals(expected)) {
            Path regenerated = Path.of("target", "arbiter-options.md");
            Files.createDirectories(regenerated.getParent());
            Files.writeString(regenerated, expected + "\n");
            assertThat(b).as("the begin marker in " + doc).isNotNegative();
            assertThat(text.substring(b, Math.max(b, e + end.length())))
                    .as("the options table in docs/arbiter.md; the current one is in " + regenerated.toAbsolutePath())
                    .isEqualTo(expected);
        }
    }
}
