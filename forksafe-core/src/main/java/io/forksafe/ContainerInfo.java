package io.forksafe;

import java.util.Objects;

/**
 * The host that reported an event, for example {@code jetty 12.1.14} or {@code uWSGI 2.0.21}.
 *
 * <pre>{@code
 * ContainerInfo jetty = ContainerInfo.of("jetty", Jetty.VERSION);
 * }</pre>
 *
 * @param name    the host's short name, never blank
 * @param version the host's version, or {@code ""} when it is unknown
 */
public record ContainerInfo(String name, String version) {

    /** The container used when no host has been configured. */
    public static final ContainerInfo NONE = new ContainerInfo("none", "");

    public ContainerInfo {
        Objects.requireNonNull(name, "name must not be null");
        if (name.isBlank()) {
            throw new IllegalArgumentException("container name must not be blank: pass the host's name, e.g. \"jetty\"");
        }
        version = version == null ? "" : version.strip();
    }

    /** Creates a container description; a null version means unknown. */
    public static ContainerInfo of(String name, String version) {
        return new ContainerInfo(name, version);
    }

    /** {@code name + " " + version}, or just the name when the version is unknown. */
    @Override
    public String toString() {
        return version.isEmpty() ? name : name + " " + version;
    }
}
