package io.forksafe.spring.internal;

import io.forksafe.ForkEvent;
import io.forksafe.ForkHook;
import io.forksafe.ForkRegistry;
import io.forksafe.PostWorkerInit;
import io.forksafe.PreFork;
import io.forksafe.Subscription;
import io.forksafe.WorkerKind;
import io.forksafe.spi.ArbiterContract;
import io.forksafe.spi.HostContext;
import io.forksafe.spring.ForkHookEvent;
import io.forksafe.spring.ForksafeProperties;

import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;

import org.springframework.beans.factory.config.BeanDefinition;
import org.springframework.beans.factory.config.ConfigurableListableBeanFactory;
import org.springframework.boot.SpringBootVersion;
import org.springframework.boot.availability.AvailabilityChangeEvent;
import org.springframework.boot.availability.ReadinessState;
import org.springframework.context.ApplicationContext;
import org.springframework.context.ApplicationListener;
import org.springframework.context.SmartLifecycle;
import org.springframework.core.Ordered;
import org.springframework.core.ResolvableType;
import org.springframework.core.annotation.Order;

/**
 * Connects one ApplicationContext to the forksafe registry: {@link ForkHook} beans become subscriptions, forksafe
 * events are published into the context (for {@code @EventListener}), readiness refuses traffic from a PreFork of this
 * process until its next PostWorkerInit, and the status gets a {@code spring} section. A {@link SmartLifecycle} of the
 * lowest phase: it subscribes after every singleton and {@code @EventListener} exists and before the web server
 * starts, and stays subscribed until the context is destroyed, so WorkerExit still reaches the beans. Not API.
 */
public final class SpringBridge implements SmartLifecycle, ApplicationListener<AvailabilityChangeEvent<?>>,
        AutoCloseable {

    /** The phase: before everything else starts (the web server, schedulers), after everything else stopped. */
    public static final int PHASE = Integer.MIN_VALUE + 1000;

    private static final int READINESS_HISTORY = 32;

    private final ForkRegistry registry;
    private final ForksafeProperties properties;
    private final ApplicationContext context;
    private final ConfigurableListableBeanFactory beanFactory;
    private final List<Subscription> subscriptions = new ArrayList<>();
    private final List<String> hookBeans = new ArrayList<>();
    private final Deque<ReadinessChange> readiness = new ArrayDeque<>();
    private volatile boolean running;
    private volatile boolean refusedByForksafe;
    private volatile String webServer = "none";

    /** One readiness change as Boot published it: the state, what caused it (a forksafe event or Boot), when. */
    public record ReadinessChange(String state, String cause, Instant at) {
    }

    /** The {@code spring} status section. */
    public record Status(String springBoot, String webServer, String arbiter, List<String> hookBeans,
                         boolean publishesEvents, boolean readinessFollowsForks, List<ReadinessChange> readiness) {
    }

    public SpringBridge(ForkRegistry registry, ForksafeProperties properties, ApplicationContext context,
                        ConfigurableListableBeanFactory beanFactory) {
        this.registry = registry;
        this.properties = properties;
        this.context = context;
        this.beanFactory = beanFactory;
        HostContext.of(registry).statusDetail("spring", this::status);
    }

    /** The web server forksafe installed itself on, for the status ("jetty 12.1.14", "tomcat 11.0.27"). */
    public void webServer(String description) {
        this.webServer = description;
    }

    @Override
    public void start() {
        if (running) {
            return;
        }
        running = true;
        subscribeHookBeans();
        if (properties.getEvents().isPublish()) {
            boolean threads = properties.getEvents().isIncludeThreads();
            subscriptions.add(registry.subscribe(ForkEvent.class, "spring.applicationEvents", 0, e -> {
                if (threads || e.worker().kind() != WorkerKind.THREAD) {
                    context.publishEvent(e);
                }
            }));
        }
        if (properties.getReadiness().isEnabled()) {
            // PreFork runs in reverse order, the highest first: after the server adapter stopped accepting
            // (Integer.MAX_VALUE), before every other hook quiesces
            subscriptions.add(registry.subscribe(PreFork.class, "spring.readiness.refuse", Integer.MAX_VALUE - 1,
                    e -> {
                        if (e.worker().kind() != WorkerKind.THREAD) {
                            refusedByForksafe = true;
                            AvailabilityChangeEvent.publish(context, e, ReadinessState.REFUSING_TRAFFIC);
                        }
                    }));
            subscriptions.add(registry.subscribe(PostWorkerInit.class, "spring.readiness.accept", Integer.MAX_VALUE,
                    e -> {
                        // only undo our own refusal: at start-up Boot itself says ACCEPTING once the app is ready
                        if (e.worker().kind() != WorkerKind.THREAD && refusedByForksafe) {
                            refusedByForksafe = false;
                            AvailabilityChangeEvent.publish(context, e, ReadinessState.ACCEPTING_TRAFFIC);
                        }
                    }));
        }
    }

    private void subscribeHookBeans() {
        for (String name : beanFactory.getBeanNamesForType(ForkHook.class)) {
            ForkHook<?> hook = beanFactory.getBean(name, ForkHook.class);
            Class<? extends ForkEvent> type = eventType(name, hook);
            int order = order(name, hook);
            subscribeRaw(type, "bean:" + name, order, hook);
            hookBeans.add(name + " -> " + type.getSimpleName() + (order == 0 ? "" : " (order " + order + ")"));
        }
    }

    @SuppressWarnings({"unchecked", "rawtypes"})
    private void subscribeRaw(Class<? extends ForkEvent> type, String name, int order, ForkHook hook) {
        subscriptions.add(registry.subscribe((Class) type, name, order, hook));
    }

    /** {@code @ForkHookEvent} first, then the type parameter of the bean's declared type, then of its class. */
    private Class<? extends ForkEvent> eventType(String name, ForkHook<?> hook) {
        ForkHookEvent explicit = beanFactory.findAnnotationOnBean(name, ForkHookEvent.class);
        if (explicit != null) {
            return explicit.value();
        }
        List<ResolvableType> candidates = new ArrayList<>();
        if (beanFactory.containsBeanDefinition(name)) {
            BeanDefinition definition = beanFactory.getMergedBeanDefinition(name);
            candidates.add(definition.getResolvableType());
        }
        candidates.add(ResolvableType.forClass(hook.getClass()));
        for (ResolvableType candidate : candidates) {
            ResolvableType parameter = candidate.as(ForkHook.class).getGeneric(0);
            if (parameter.getType() instanceof java.lang.reflect.TypeVariable<?>) {
                continue; // raw ForkHook or a lambda's class: would resolve to the bound, ForkEvent, by accident
            }
            Class<?> resolved = parameter.resolve();
            if (resolved != null && ForkEvent.class.isAssignableFrom(resolved)) {
                return resolved.asSubclass(ForkEvent.class);
            }
        }
        throw new IllegalStateException("forksafe: ForkHook bean '" + name + "' does not say which event it is for "
                + "(its type parameter cannot be resolved). Declare the @Bean method's return type with the event, "
                + "e.g. ForkHook<PostFork>, or annotate the method or class with @ForkHookEvent(PostFork.class)");
    }

    private int order(String name, ForkHook<?> hook) {
        if (hook instanceof Ordered ordered) {
            return ordered.getOrder();
        }
        Order order = beanFactory.findAnnotationOnBean(name, Order.class);
        return order != null ? order.value() : ForkRegistry.DEFAULT_ORDER;
    }

    @Override
    public void onApplicationEvent(AvailabilityChangeEvent<?> event) {
        if (!(event.getState() instanceof ReadinessState state)) {
            return;
        }
        Object source = event.getSource();
        String cause = source instanceof ForkEvent f ? f.type().displayName() + " (" + f.worker().name() + ")"
                : "Spring Boot (" + source.getClass().getSimpleName() + ")";
        synchronized (readiness) {
            if (readiness.size() == READINESS_HISTORY) {
                readiness.removeFirst();
            }
            readiness.addLast(new ReadinessChange(state.name(), cause, Instant.now()));
        }
    }

    private Status status() {
        List<ReadinessChange> changes;
        synchronized (readiness) {
            changes = List.copyOf(readiness);
        }
        String pid = ArbiterContract.arbiterPid(System::getenv);
        String arbiter = pid == null ? "none: not started by the forksafe arbiter (plain java -jar / java -cp)"
                : "worker of the forksafe arbiter, pid " + pid;
        return new Status(SpringBootVersion.getVersion(), webServer, arbiter, List.copyOf(hookBeans),
                properties.getEvents().isPublish(), properties.getReadiness().isEnabled(), changes);
    }

    @Override
    public void stop() {
        running = false; // the subscriptions stay until the context is destroyed: WorkerExit comes later
    }

    @Override
    public boolean isRunning() {
        return running;
    }

    @Override
    public int getPhase() {
        return PHASE;
    }

    @Override
    public void close() {
        subscriptions.forEach(Subscription::close);
        subscriptions.clear();
        HostContext.of(registry).removeStatusDetail("spring");
    }
}
