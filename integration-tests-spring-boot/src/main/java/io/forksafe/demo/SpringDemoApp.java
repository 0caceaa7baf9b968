package io.forksafe.demo;

import io.forksafe.ForkEvent;
import io.forksafe.ForkHook;
import io.forksafe.ForkLocal;
import io.forksafe.ForkRegistry;
import io.forksafe.PostFork;
import io.forksafe.WorkerInfo;
import io.forksafe.recipes.RandomReseed;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import java.util.UUID;

import org.springframework.boot.ApplicationRunner;
import org.springframework.boot.SpringApplication;
import org.springframework.boot.autoconfigure.SpringBootApplication;
import org.springframework.context.annotation.Bean;
import org.springframework.context.event.EventListener;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.RestController;

/**
 * A small Spring Boot 4 web app with forksafe-spring-boot (Jetty, Actuator, HikariCP): what the Boot process tests
 * run plain, under the arbiter and under {@code --preload}. It serves on {@code /} which process answered, the
 * {@link Random} value and {@link UUID} it drew at start-up (per copy: a {@link ForkLocal}), a next random value (the
 * Random is reseeded in every copy by a {@code ForkHook<PostFork>} bean), and on {@code /db} the H2 session id of a
 * pooled connection; {@code /events} lists the forksafe events its {@code @EventListener} received.
 *
 * <pre>{@code
 * java -cp ... io.forksafe.demo.SpringDemoApp --server.port=8080 \
 *     --spring.datasource.url=jdbc:h2:tcp://127.0.0.1:9092/mem:demo
 * }</pre>
 */
@SpringBootApplication
@RestController
public class SpringDemoApp {

    private final Random random = new Random();
    private final List<String> events = Collections.synchronizedList(new ArrayList<>());
    private final ForkRegistry registry;
    private final JdbcTemplate jdbc;
    private final ForkLocal<String> startup;

    public SpringDemoApp(ForkRegistry registry, JdbcTemplate jdbc) {
        this.registry = registry;
        this.jdbc = jdbc;
        this.startup = ForkLocal.of(registry, "startup-values", () -> random.nextLong() + "," + UUID.randomUUID());
    }

    public static void main(String[] args) {
        SpringApplication.run(SpringDemoApp.class, args);
    }

    /** Every copy of the process draws its own random values (worker threads have PostFork too: skipped). */
    @Bean
    ForkHook<PostFork> reseedRandom() {
        return e -> {
            if (e.worker().kind().copiesMemory()) {
                random.setSeed(ByteBuffer.wrap(RandomReseed.osEntropy(Long.BYTES)).getLong());
            }
        };
    }

    /** Warms the pool (so a template is checkpointed with open connections) and draws the start-up values. */
    @Bean
    ApplicationRunner warmUp() {
        return args -> {
            jdbc.queryForObject("SELECT 1", Integer.class);
            startup.get();
        };
    }

    @EventListener
    void onForkEvent(ForkEvent e) {
        events.add(e.type().displayName() + " " + e.worker().name() + " " + e.worker().kind());
    }

    @GetMapping("/")
    String values() {
        WorkerInfo w = registry.processWorker();
        // the worker's pid as forksafe knows it: a restored copy's ProcessHandle.current() is the template's pid
        return "slot=" + w.slot() + " generation=" + w.generation() + " pid=" + w.pid()
                + " startup=" + startup.get() + " next=" + random.nextLong() + " uuid=" + UUID.randomUUID() + "\n";
    }

    @GetMapping("/db")
    String db() {
        return "pid=" + registry.processWorker().pid() + " session="
                + jdbc.queryForObject("SELECT SESSION_ID()", Long.class) + "\n";
    }

    @GetMapping("/events")
    List<String> events() {
        synchronized (events) {
            return List.copyOf(events);
        }
    }
}
