package io.forksafe.uwsgi.testapp;

import io.forksafe.spi.HostContext;
import io.forksafe.ForkEvent;
import io.forksafe.ForkRegistry;
import io.forksafe.WorkerExit;
import io.forksafe.WorkerInfo;
import io.forksafe.spi.ForkHookProvider;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Zero-code hook for the uWSGI integration test: records every event in the status (detail "testEvents") and appends
 * it to the file named by -Dforksafe.test.eventsFile, so that events of workers that are gone can still be checked.
 */
public final class EventRecorder implements ForkHookProvider {

    private static final List<Map<String, Object>> EVENTS = new ArrayList<>();

    @Override
    public void subscribe(ForkRegistry registry) {
        String file = System.getProperty("forksafe.test.eventsFile");
        HostContext.of(registry).statusDetail("testEvents", () -> {
            synchronized (EVENTS) {
                return new ArrayList<>(EVENTS);
            }
        });
        registry.subscribe(ForkEvent.class, "test-recorder", 0, e -> {
            WorkerInfo w = e.worker();
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("event", e.type().displayName());
            m.put("slot", w.slot());
            m.put("kind", w.kind().name());
            m.put("pid", w.pid());
            m.put("parentPid", w.parentPid());
            m.put("generation", w.generation());
            m.put("container", e.container().toString());
            m.put("at", e.at().toString());
            m.put("thread", Thread.currentThread().getName());
            if (e instanceof WorkerExit x) {
                m.put("reason", x.reason());
            }
            synchronized (EVENTS) {
                EVENTS.add(m);
            }
            if (file != null) {
                String line = m.get("event") + " slot=" + w.slot() + " generation=" + w.generation() + " pid=" + w.pid()
                        + " parent=" + w.parentPid()
                        + " thread=" + m.get("thread") + " at=" + m.get("at")
                        + (e instanceof WorkerExit x ? " reason=" + x.reason() : "") + "\n";
                try {
                    Files.writeString(Path.of(file), line, StandardCharsets.UTF_8, StandardOpenOption.CREATE,
                            StandardOpenOption.APPEND, StandardOpenOption.WRITE);
                } catch (IOException ex) {
                    throw new IllegalStateException("cannot append to " + file, ex);
                }
            }
        });
    }
}
