package io.forksafe.spring.internal;

import io.forksafe.ContainerInfo;
import io.forksafe.ForkRegistry;
import io.forksafe.arbiter.PreloadWorker;

import org.springframework.boot.SpringBootVersion;
import org.springframework.boot.context.event.ApplicationReadyEvent;
import org.springframework.context.ApplicationListener;

/**
 * In the arbiter's preload template ({@code --preload}), the checkpoint waits for Boot's {@link ApplicationReadyEvent}
 * instead of the web server's start: {@code ApplicationRunner}s and {@code CommandLineRunner}s (warm-ups, opening
 * pools) run after the server started, and a checkpoint in the middle of them would snapshot a half-started
 * application. Does nothing in any other process. Not API.
 */
public final class PreloadTemplateReadiness implements ApplicationListener<ApplicationReadyEvent> {

    private final PreloadWorker template;

    public PreloadTemplateReadiness(ForkRegistry registry) {
        this.template = PreloadWorker.isTemplate()
                ? PreloadWorker.attach(registry, ContainerInfo.of("spring-boot", SpringBootVersion.getVersion()))
                        .deferReadiness()
                : null;
    }

    @Override
    public void onApplicationEvent(ApplicationReadyEvent event) {
        if (template != null) {
            template.ready();
        }
    }
}
