package io.forksafe.uwsgi;

import static org.assertj.core.api.Assertions.assertThat;

import io.forksafe.ContainerInfo;
import io.forksafe.ForkRegistry;
import io.forksafe.ForksafeStatus;
import io.forksafe.PostFork;
import io.forksafe.PostWorkerInit;
import io.forksafe.WorkerKind;
import io.forksafe.uwsgi.internal.UwsgiContainerAdapter;
import io.forksafe.uwsgi.internal.UwsgiRuntime;
import io.forksafe.uwsgi.internal.UwsgiVersion;

import java.io.IOException;
import java.lang.reflect.Field;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The uWSGI adapter's decisions without a uWSGI server: plain java, uWSGI's API class without its natives, and a
 * stand-in {@code uwsgi} class (compiled into its own directory, never on the test class path) for worker id 0,
 * missing --master and a correct worker.
 */
class UwsgiAdapterTest {

    @TempDir
    static Path dir;
    static Path fakeWorker;
    static Path unregisteredNatives;

    @BeforeAll
    static void compileStandIns() throws Exception {
        // detected once per JVM; the stand-in executable of these tests is the JDK's java, not uwsgi
        System.setProperty(UwsgiVersion.PROPERTY, "2.0.99-test");
        fakeWorker = compile("fake", """
                public class uwsgi {
                    static java.util.HashMap<String, Object> opt;
                    public static int wid;
                    public static int worker_id() { return wid; }
                }
                """);
        unregisteredNatives = compile("natives", """
                public class uwsgi {
                    static java.util.HashMap<String, Object> opt;
                    public static native int worker_id();
                }
                """);
    }

    @AfterAll
    static void clearProperty() {
        System.clearProperty(UwsgiVersion.PROPERTY);
    }

    @Test
    void underPlainJavaAutoconfigureLogsNotAvailableAndMovesOn() {
        ForkRegistry registry = new ForkRegistry("plain");
        ForksafeStatus status = registry.autoconfigure();
        assertThat(status.autoconfigureLog()).anyMatch(l -> l.startsWith("uWSGI not available: class 'uwsgi'"));
        assertThat(status.status()).doesNotStartWith("uWSGI");
        assertThat(status.errors()).isEmpty();
    }

    @Test
    void theBootstrapOutsideUwsgiNamesTheFix() {
        ForkRegistry registry = new ForkRegistry("bootstrap");
        UwsgiBootstrap.bootstrap(registry);
        assertThat(registry.status().status())
                .startsWith("uWSGI error: io.forksafe.uwsgi.UwsgiBootstrap ran outside a uWSGI worker")
                .contains("--jvm-class io/forksafe/uwsgi/UwsgiBootstrap");
    }

    @Test
    void uwsgiJarWithoutItsNativesIsNotUwsgi() throws Exception {
        ForkRegistry registry = new ForkRegistry("natives");
        ForksafeStatus status = withLoader(unregisteredNatives, registry::autoconfigure);
        assertThat(status.autoconfigureLog())
                .anyMatch(l -> l.startsWith("uWSGI not available") && l.contains("native methods are not registered"));
        assertThat(status.errors()).isEmpty();
    }

    @Test
    void workerIdZeroIsNotAWorker() throws Exception {
        ForkRegistry registry = new ForkRegistry("mule");
        List<PostFork> postForks = record(registry);
        ForksafeStatus status = fakeUwsgi(registry, 0, Map.of("master", Boolean.TRUE));
        assertThat(status.status()).startsWith("uWSGI error: forksafe was loaded in a uWSGI process that is not a "
                + "worker (worker id 0");
        assertThat(postForks).isEmpty();
    }

    @Test
    void withoutMasterTheStatusSaysRunWithMaster() throws Exception {
        ForkRegistry registry = new ForkRegistry("nomaster");
        List<PostFork> postForks = record(registry);
        ForksafeStatus status = fakeUwsgi(registry, 1, Map.of("processes", "2"));
        assertThat(status.status()).startsWith("uWSGI error: run uWSGI with --master");
        assertThat(status.autoconfigureLog()).contains("uWSGI available");
        assertThat(postForks).isEmpty();
        assertThat(registry.processWorker().slot()).isEqualTo(1);

        ForkRegistry off = new ForkRegistry("masterfalse");
        assertThat(fakeUwsgi(off, 1, Map.of("master", "false")).status())
                .startsWith("uWSGI error: run uWSGI with --master");
    }

    @Test
    void aWorkerWithMasterGetsOnePostForkForItsSlotWithTheMasterAsParent() throws Exception {
        ForkRegistry registry = new ForkRegistry("worker");
        List<PostFork> postForks = record(registry);
        List<PostWorkerInit> inits = new ArrayList<>();
        registry.subscribe(PostWorkerInit.class, inits::add);

        ForksafeStatus status = fakeUwsgi(registry, 2, Map.of("master", Boolean.TRUE, "jvm-classpath",
                new ArrayList<>(List.of("/a.jar", "/b.jar")), "jvm-opt",
                new ArrayList<>(List.of("-Xmx64m", "-Ddb.password=hunter2")), "env", "API_TOKEN=abc123"));
        assertThat(status.status()).isEqualTo("uWSGI hook configured");
        assertThat(status.environment()).isEqualTo("uWSGI 2.0.99-test");
        assertThat(status.autoconfigureLog()).contains("uWSGI available", "uWSGI hook configured");
        assertThat(postForks).hasSize(1);
        PostFork pf = postForks.get(0);
        assertThat(pf.worker().slot()).isEqualTo(2);
        assertThat(pf.worker().kind()).isEqualTo(WorkerKind.PROCESS);
        assertThat(pf.worker().pid()).isEqualTo(ProcessHandle.current().pid());
        assertThat(pf.worker().parentPid()).isEqualTo(ProcessHandle.current().parent().orElseThrow().pid());
        assertThat(pf.container()).isEqualTo(ContainerInfo.of("uWSGI", "2.0.99-test"));
        assertThat(pf.settings()).containsEntry("uwsgi.master", "true")
                .containsEntry("uwsgi.jvm-classpath", "/a.jar,/b.jar")
                .containsEntry("uwsgi.jvm-opt", "-Xmx64m,-Ddb.password=<redacted>")
                .containsEntry("uwsgi.env", "API_TOKEN=<redacted>");
        assertThat(status.toJson()).doesNotContain("hunter2").doesNotContain("abc123");
        assertThat(registry.processWorker()).isEqualTo(pf.worker());
        assertThat(status.notes().get("uwsgi.master"))
                .contains("PreFork, PostForkParent and ChildExit cannot run under uWSGI");
        assertThat(status.notes().get("uwsgi.workerExit")).contains("SIGKILL");

        // a second autoconfigure (bootstrap, then the app) changes nothing
        ForksafeStatus again = withLoader(fakeWorker, registry::autoconfigure);
        assertThat(postForks).hasSize(1);
        assertThat(again.autoconfigureLog()).anyMatch(l -> l.startsWith("uWSGI already configured for worker 2"));

        // here the test runner's main thread never enters a uWSGI request loop: the application can say when
        assertThat(UwsgiWorker.ready(registry)).isTrue();
        assertThat(UwsgiWorker.ready(registry)).isFalse();
        assertThat(inits).hasSize(1);
        assertThat(inits.get(0).worker()).isEqualTo(pf.worker());
    }

    @Test
    void masterFlagParsing() {
        assertThat(UwsgiRuntime.masterEnabled(Map.of("master", "true"))).isTrue();
        assertThat(UwsgiRuntime.masterEnabled(Map.of("master", "1"))).isTrue();
        assertThat(UwsgiRuntime.masterEnabled(Map.of("master", "true,false"))).isFalse();
        assertThat(UwsgiRuntime.masterEnabled(Map.of("master", "off"))).isFalse();
        assertThat(UwsgiRuntime.masterEnabled(Map.of())).isFalse();
    }

    @Test
    void versionFromTheExecutableOrTheProperty() throws Exception {
        Path good = script("good", "echo 2.0.21-debian");
        Path bad = script("bad", "echo 'not a version'");
        assertThat(resolve(null, good).version()).isEqualTo("2.0.21-debian");
        assertThat(resolve(null, good).source()).matches(".*good.sh --version \\(\\d+ ms\\)");
        assertThat(resolve(null, bad).version()).isEmpty();
        assertThat(resolve(null, bad).source()).contains("printed 'not a version'");
        assertThat(resolve("2.0.28", bad).version()).isEqualTo("2.0.28");
        assertThat(resolve(null, dir.resolve("missing")).version()).isEmpty();
    }

    @Test
    void jwsgiStatusIsLoopbackOnlyAndHonoursTheFormat() {
        ForkRegistry registry = new ForkRegistry("jwsgi");
        Map<String, Object> env = new HashMap<>(Map.of("REMOTE_ADDR", "10.1.2.3", "QUERY_STRING", ""));
        assertThat(JwsgiStatus.respond(registry, env)[0]).isEqualTo(403);
        env.put("REMOTE_ADDR", "127.0.0.1");
        Object[] json = JwsgiStatus.respond(registry, env);
        assertThat(json[0]).isEqualTo(200);
        assertThat(json[2].toString()).startsWith("{");
        env.put("QUERY_STRING", "delay=5&format=text");
        Object[] text = JwsgiStatus.respond(registry, env);
        assertThat(((Map<?, ?>) text[1]).get("Content-Type").toString()).startsWith("text/plain");
        env.put("QUERY_STRING", "format=xml");
        assertThat(JwsgiStatus.respond(registry, env)[0]).isEqualTo(400);
    }

    // ------------------------------------------------------------------ helpers

    private static List<PostFork> record(ForkRegistry registry) {
        List<PostFork> out = new ArrayList<>();
        registry.subscribe(PostFork.class, out::add);
        return out;
    }

    private static ForksafeStatus fakeUwsgi(ForkRegistry registry, int workerId, Map<String, Object> options)
            throws Exception {
        return withLoader(fakeWorker, () -> {
            Class<?> c = Class.forName("uwsgi", true, Thread.currentThread().getContextClassLoader());
            c.getField("wid").setInt(null, workerId);
            Field opt = c.getDeclaredField("opt");
            opt.setAccessible(true);
            opt.set(null, new HashMap<>(options));
            return registry.autoconfigure();
        });
    }

    private static <T> T withLoader(Path classes, Callable<T> body) throws Exception {
        Thread t = Thread.currentThread();
        ClassLoader before = t.getContextClassLoader();
        try (URLClassLoader loader = new URLClassLoader(new URL[] {classes.toUri().toURL()}, before)) {
            t.setContextClassLoader(loader);
            return body.call();
        } finally {
            t.setContextClassLoader(before);
        }
    }

    private static UwsgiVersion resolve(String property, Path exe) throws Exception {
        var m = UwsgiVersion.class.getDeclaredMethod("resolve", String.class, Path.class);
        m.setAccessible(true);
        return (UwsgiVersion) m.invoke(null, property, exe);
    }

    private static Path script(String name, String body) throws IOException {
        Path p = dir.resolve(name + ".sh");
        Files.writeString(p, "#!/bin/sh\n" + body + "\n", StandardCharsets.UTF_8);
        p.toFile().setExecutable(true);
        return p;
    }

    private static Path compile(String name, String source) throws Exception {
        Path src = Files.createDirectories(dir.resolve(name + "-src")).resolve("uwsgi.java");
        Files.writeString(src, source, StandardCharsets.UTF_8);
        Path out = Files.createDirectories(dir.resolve(name + "-classes"));
        Process javac = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "javac").toString(),
                "--release", "17", "-d", out.toString(), src.toString()).redirectErrorStream(true).start();
        String output = new String(javac.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!javac.waitFor(120, TimeUnit.SECONDS) || javac.exitValue() != 0) {
            javac.destroyForcibly();
            throw new IllegalStateException("javac failed: " + output);
        }
        return out;
    }
}
