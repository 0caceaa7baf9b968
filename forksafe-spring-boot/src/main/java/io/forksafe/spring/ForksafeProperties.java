package io.forksafe.spring;

import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import org.springframework.boot.context.properties.ConfigurationProperties;

/**
 * forksafe's settings as Spring Boot properties ({@code forksafe.*} in {@code application.properties}), mapped onto
 * the core settings the adapters read ({@code forksafe.status.allowRemote}, {@code forksafe.gracefulStop}, ...).
 * A {@code -Dforksafe.*} system property still wins over a property here, as everywhere in forksafe.
 *
 * <pre>{@code
 * forksafe.hikari.drain-timeout=5s
 * forksafe.readiness.enabled=true
 * forksafe.adapters=jetty,arbiter
 * }</pre>
 */
@ConfigurationProperties("forksafe")
public class ForksafeProperties {

    /** Whether the forksafe auto-configuration runs at all. */
    private boolean enabled = true;

    /**
     * Which container adapters autoconfigure may configure (names as in the status, e.g. jetty, arbiter); empty means
     * all. Core setting forksafe.adapters.
     */
    private List<String> adapters = List.of();

    /** Whether adapters set graceful-stop defaults on their server. Core setting forksafe.gracefulStop. */
    private boolean gracefulStop = true;

    /** Whether the status is registered as a JMX MBean. Core setting forksafe.jmx. */
    private boolean jmx = true;

    private final Status status = new Status();

    private final Hikari hikari = new Hikari();

    private final Readiness readiness = new Readiness();

    private final Events events = new Events();

    /** Whether the forksafe auto-configuration runs at all. */
    public boolean isEnabled() {
        return enabled;
    }

    /** See {@link #isEnabled()}. */
    public void setEnabled(boolean enabled) {
        this.enabled = enabled;
    }

    /** Which container adapters autoconfigure may configure; empty means all. */
    public List<String> getAdapters() {
        return adapters;
    }

    /** See {@link #getAdapters()}. */
    public void setAdapters(List<String> adapters) {
        this.adapters = adapters == null ? List.of() : List.copyOf(adapters);
    }

    /** Whether adapters set graceful-stop defaults. */
    public boolean isGracefulStop() {
        return gracefulStop;
    }

    /** See {@link #isGracefulStop()}. */
    public void setGracefulStop(boolean gracefulStop) {
        this.gracefulStop = gracefulStop;
    }

    /** Whether the status is registered as a JMX MBean. */
    public boolean isJmx() {
        return jmx;
    }

    /** See {@link #isJmx()}. */
    public void setJmx(boolean jmx) {
        this.jmx = jmx;
    }

    /** The status settings. */
    public Status getStatus() {
        return status;
    }

    /** The HikariCP settings. */
    public Hikari getHikari() {
        return hikari;
    }

    /** The readiness settings. */
    public Readiness getReadiness() {
        return readiness;
    }

    /** The event bridge settings. */
    public Events getEvents() {
        return events;
    }

    /** The core settings these properties stand for, by their forksafe names. */
    public Map<String, String> coreSettings() {
        Map<String, String> s = new LinkedHashMap<>();
        if (!adapters.isEmpty()) {
            s.put("forksafe.adapters", String.join(",", adapters));
        }
        s.put("forksafe.gracefulStop", Boolean.toString(gracefulStop));
        s.put("forksafe.jmx", Boolean.toString(jmx));
        s.put("forksafe.status.allowRemote", Boolean.toString(status.allowRemote));
        return s;
    }

    /** {@code forksafe.status.*}. */
    public static class Status {

        /**
         * Whether forksafe's own status endpoints (Jetty handler, servlet) answer non-loopback clients. The Actuator
         * endpoint follows management.endpoints.* instead. Core setting forksafe.status.allowRemote.
         */
        private boolean allowRemote;

        /** Whether non-loopback clients are answered. */
        public boolean isAllowRemote() {
            return allowRemote;
        }

        /** See {@link #isAllowRemote()}. */
        public void setAllowRemote(boolean allowRemote) {
            this.allowRemote = allowRemote;
        }
    }

    /** {@code forksafe.hikari.*}. */
    public static class Hikari {

        /** Whether every HikariDataSource bean gets forksafe's pool recipe. */
        private boolean enabled = true;

        /** How long PreFork waits for borrowed connections to be returned before it fails the copy. */
        private Duration drainTimeout = Duration.ofSeconds(10);

        /** Whether it is enabled. */
        public boolean isEnabled() {
            return enabled;
        }

        /** See {@link #isEnabled()}. */
        public void setEnabled(boolean enabled) {
            this.enabled = enabled;
        }

        /** The drain timeout. */
        public Duration getDrainTimeout() {
            return drainTimeout;
        }

        /** See {@link #getDrainTimeout()}. */
        public void setDrainTimeout(Duration drainTimeout) {
            this.drainTimeout = drainTimeout;
        }
    }

    /** {@code forksafe.readiness.*}. */
    public static class Readiness {

        /**
         * Whether readiness is REFUSING_TRAFFIC from PreFork of this process (a checkpoint) until its next
         * PostWorkerInit.
         */
        private boolean enabled = true;

        /** Whether it is enabled. */
        public boolean isEnabled() {
            return enabled;
        }

        /** See {@link #isEnabled()}. */
        public void setEnabled(boolean enabled) {
            this.enabled = enabled;
        }
    }

    /** {@code forksafe.events.*}. */
    public static class Events {

        /** Whether forksafe events are published into the ApplicationContext, for @EventListener methods. */
        private boolean publish = true;

        /** Whether worker-thread events (kind THREAD, one per server thread) are published too. */
        private boolean includeThreads;

        /** Whether events are published. */
        public boolean isPublish() {
            return publish;
        }

        /** See {@link #isPublish()}. */
        public void setPublish(boolean publish) {
            this.publish = publish;
        }

        /** Whether thread events are published. */
        public boolean isIncludeThreads() {
            return includeThreads;
        }

        /** See {@link #isIncludeThreads()}. */
        public void setIncludeThreads(boolean includeThreads) {
            this.includeThreads = includeThreads;
        }
    }
}
