package io.forksafe.jetty;

import com.fasterxml.jackson.databind.JsonNode;

import io.forksafe.ForkEvent;
import io.forksafe.ForkRegistry;
import io.forksafe.Forksafe;
import io.forksafe.PostFork;
import io.forksafe.PostForkParent;
import io.forksafe.PostWorkerInit;
import io.forksafe.PreFork;
import io.forksafe.Subscription;
import io.forksafe.WorkerExit;
import io.forksafe.WorkerKind;

import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import org.eclipse.jetty.util.resource.ResourceFactory;
import org.eclipse.jetty.xml.XmlConfiguration;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.net.URI;
import java.net.URL;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;

import static io.forksafe.jetty.JettyTestSupport.await;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * etc/forksafe.xml, as packaged in the jar, applied through Jetty's own XmlConfiguration and followed by a
 * jetty.xml-like file configuring the same Server (the jetty-home order), produces the same events as the embedded
 * set-up. It publishes to the global registry, as jetty-home users get.
 */
class XmlConfigurationTest {

    private Server server;
    private Subscription subscription;

    @AfterEach
    void tearDown() throws Exception {
        if (server != null) {
            server.stop();
        }
        if (subscription != null) {
            subscription.close();
        }
    }

    @Test
    void forksafeXmlSwapsInTheHookedPoolAndInstallsTheListener() throws Exception {
        ForkRegistry registry = Forksafe.registry();
        List<ForkEvent> events = new CopyOnWriteArrayList<>();
        subscription = registry.subscribe(ForkEvent.class, "xml.test.recorder", 0, events::add);

        URL forksafeXml = ForksafeJetty.class.getResource("/META-INF/jetty/etc/forksafe.xml");
        assertThat(forksafeXml).as("etc/forksafe.xml is packaged under META-INF/jetty/etc").isNotNull();
        URL testXml = XmlConfigurationTest.class.getResource("/xml/test-jetty.xml");
        Map<String, String> properties = Map.of(
                "jetty.threadPool.namePrefix", "fs-xml",
                "jetty.threadPool.minThreads", "4",
                "jetty.threadPool.maxThreads", "40",
                "jetty.threadPool.idleTimeout", "300",
                "jetty.threadPool.maxEvictCount", "40");

        XmlConfiguration first = null;
        Object configured = null;
        for (URL url : List.of(forksafeXml, testXml)) {
            XmlConfiguration xml = new XmlConfiguration(ResourceFactory.root().newResource(url.toURI()));
            xml.getProperties().putAll(properties);
            if (first != null) {
                xml.getIdMap().putAll(first.getIdMap());
            }
            configured = xml.configure();
            first = xml;
        }
        server = (Server) configured;
        assertThat(first.getIdMap().get("Server")).isSameAs(server);
        assertThat(server.getThreadPool()).isInstanceOf(ForksafeThreadPool.class)
                .isSameAs(first.getIdMap().get("threadPool"));
        ForksafeThreadPool pool = (ForksafeThreadPool) server.getThreadPool();
        assertThat(pool.getName()).isEqualTo("fs-xml");
        assertThat(pool.getMinThreads()).isEqualTo(4);
        assertThat(pool.getMaxThreads()).isEqualTo(40);
        assertThat(pool.getIdleTimeout()).isEqualTo(300);
        assertThat(pool.registry()).isSameAs(registry);

        server.start();
        SlowHandler.INSIDE.set(0);
        SlowHandler.GATE = new java.util.concurrent.CountDownLatch(1);
        int port = ((ServerConnector) server.getConnectors()[0]).getLocalPort();
        HttpClient client = JettyTestSupport.client();
        List<CompletableFuture<HttpResponse<String>>> all = new ArrayList<>();
        for (int i = 0; i < 20; i++) {
            all.add(client.sendAsync(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/slow/"))
                    .timeout(JettyTestSupport.TIMEOUT).build(), HttpResponse.BodyHandlers.ofString()));
        }
        await("20 requests inside the handler at once", () -> SlowHandler.INSIDE.get() >= 20);
        SlowHandler.GATE.countDown();
        Set<String> servedBy = new HashSet<>();
        for (CompletableFuture<HttpResponse<String>> f : all) {
            HttpResponse<String> r = f.get(20, TimeUnit.SECONDS);
            assertThat(r.statusCode()).isEqualTo(200);
            servedBy.add(r.body());
        }
        HttpResponse<String> status = JettyTestSupport.get(client,
                URI.create("http://127.0.0.1:" + port + "/forksafe/status"));
        assertThat(status.statusCode()).isEqualTo(200);
        JsonNode json = JettyTestSupport.json(status.body());
        assertThat(json.path("details").path("jetty").path("threadPool").path("hooked").asBoolean()).isTrue();
        assertThat(json.path("autoconfigureLog").toString()).contains("Jetty hook configured");

        await("idle retirement to minThreads", () -> pool.getThreads() == 4, pool::toString);
        server.stop();
        await("every thread ended", () -> pool.threadsRetired() == pool.threadsCreated());

        Set<String> created = names(events, PostFork.class);
        assertThat(created).hasSize((int) pool.threadsCreated()).hasSizeGreaterThanOrEqualTo(20);
        assertThat(created).allSatisfy(n -> assertThat(n).startsWith("fs-xml-"));
        assertThat(servedBy).allSatisfy(n -> assertThat(created).contains(n));
        assertThat(names(events, PreFork.class)).isEqualTo(created);
        assertThat(names(events, PostForkParent.class)).isEqualTo(created);
        assertThat(names(events, WorkerExit.class)).isEqualTo(created);
        assertThat(count(events, PostFork.class)).isEqualTo(created.size());
        assertThat(count(events, WorkerExit.class)).isEqualTo(created.size());
        assertThat(events.stream().filter(e -> e instanceof WorkerExit w && w.reason().equals("idle timeout")))
                .isNotEmpty();
        assertThat(events.stream().filter(PostWorkerInit.class::isInstance)).hasSize(1);
        assertThat(events.stream().filter(e -> e instanceof WorkerExit && e.worker().kind() == WorkerKind.PROCESS))
                .hasSize(1);
    }

    @Test
    void forksafeModProvidesThreadpoolAndReferencesThePackagedXml() throws Exception {
        URL mod = ForksafeJetty.class.getResource("/META-INF/jetty/modules/forksafe.mod");
        assertThat(mod).isNotNull();
        Map<String, List<String>> sections = new java.util.LinkedHashMap<>();
        String current = null;
        try (BufferedReader in = new BufferedReader(new InputStreamReader(mod.openStream(), StandardCharsets.UTF_8))) {
            for (String line; (line = in.readLine()) != null; ) {
                String t = line.strip();
                if (t.startsWith("[") && t.endsWith("]")) {
                    current = t.substring(1, t.length() - 1);
                    sections.put(current, new ArrayList<>());
                } else if (current != null && !t.isEmpty() && !t.startsWith("#")) {
                    sections.get(current).add(t);
                }
            }
        }
        assertThat(sections.get("provides")).containsExactly("threadpool");
        assertThat(sections.get("xml")).containsExactly("etc/forksafe.xml");
        for (String xml : sections.get("xml")) {
            assertThat(ForksafeJetty.class.getResource("/META-INF/jetty/" + xml)).as(xml).isNotNull();
        }
        assertThat(sections.get("lib")).containsExactly("lib/forksafe/*.jar");
    }

    private static Set<String> names(List<ForkEvent> events, Class<? extends ForkEvent> type) {
        return events.stream().filter(type::isInstance).filter(e -> e.worker().kind() == WorkerKind.THREAD)
                .map(e -> e.worker().name()).collect(Collectors.toSet());
    }

    private static long count(List<ForkEvent> events, Class<? extends ForkEvent> type) {
        return events.stream().filter(type::isInstance).filter(e -> e.worker().kind() == WorkerKind.THREAD).count();
    }
}
