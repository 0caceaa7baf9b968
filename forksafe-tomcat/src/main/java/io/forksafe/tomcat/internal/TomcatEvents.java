package io.forksafe.tomcat.internal;

import io.forksafe.ContainerInfo;

import org.apache.catalina.util.ServerInfo;

/** The Tomcat adapter's host description. Not API. */
public final class TomcatEvents {

    /** The host name used in log lines and status lines. */
    public static final String HOST = "Tomcat";

    private TomcatEvents() {
    }

    /** {@code tomcat <version>} of the Tomcat on the class path. */
    public static ContainerInfo container() {
        String info = ServerInfo.getServerInfo(); // "Apache Tomcat/11.0.27"
        int slash = info.indexOf('/');
        return ContainerInfo.of("tomcat", slash >= 0 ? info.substring(slash + 1) : info);
    }
}
