package io.forksafe.spring;

import io.forksafe.ForkEvent;

import java.lang.annotation.Documented;
import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;

/**
 * Names the event type of a {@link io.forksafe.ForkHook} bean when its type parameter does not (a raw
 * {@code ForkHook}, or a bean declared as {@code ForkHook<ForkEvent>} that should only see one type). Without it, the
 * type parameter of the bean's declared type decides.
 *
 * <pre>{@code
 * @Bean
 * @ForkHookEvent(PostFork.class)
 * ForkHook<ForkEvent> logCopies() {
 *     return e -> log.info("new copy {}", e.worker());
 * }
 * }</pre>
 */
@Target({ElementType.METHOD, ElementType.TYPE})
@Retention(RetentionPolicy.RUNTIME)
@Documented
public @interface ForkHookEvent {

    /** The event type the hook subscribes to. */
    Class<? extends ForkEvent> value();
}
