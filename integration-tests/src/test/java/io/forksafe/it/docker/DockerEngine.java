package io.forksafe.it.docker;

import com.github.dockerjava.api.DockerClient;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;

import org.junit.jupiter.api.Assumptions;
import org.testcontainers.DockerClientFactory;

/**
 * Whether the Docker tests can run here, and why not. The tests call {@link #require()} first: when no engine is
 * reachable it prints the reason (including what {@code .ci/docker.sh} wrote when it could not start dockerd) and
 * aborts the test, so it is reported as skipped and the rest of the suite runs.
 */
final class DockerEngine {

    private static String unavailable;
    private static DockerClient client;
    private static LocalImage image;

    private DockerEngine() {
    }

    /** The engine's client, or the calling test is skipped with the printed reason. */
    static synchronized DockerClient require() {
        if (client == null && unavailable == null) {
            unavailable = check();
            if (unavailable != null) {
                System.out.println("SKIPPED Docker tests: " + unavailable);
            }
        }
        Assumptions.assumeTrue(unavailable == null, () -> unavailable);
        return client;
    }

    /** The locally built image (built once per test JVM, reused across builds while its inputs are unchanged). */
    static synchronized LocalImage image() throws Exception {
        DockerClient docker = require();
        if (image == null) {
            image = LocalImage.ensure(docker, Paths.get("").toAbsolutePath());
        }
        return image;
    }

    private static String check() {
        String os = System.getProperty("os.name");
        if (!os.toLowerCase(java.util.Locale.ROOT).contains("linux")) {
            return "the image is assembled from this JDK and its Linux shared libraries; this is " + os;
        }
        if (!Files.isExecutable(Paths.get("/usr/bin/ldd")) && !Files.isExecutable(Paths.get("/bin/ldd"))) {
            return "ldd (glibc's libc-bin) is needed to find the JDK's shared libraries for the image, and is missing";
        }
        if (!"true".equalsIgnoreCase(System.getenv("TESTCONTAINERS_RYUK_DISABLED"))) {
            return "TESTCONTAINERS_RYUK_DISABLED=true is not set (Ryuk's image cannot be pulled here): run with "
                    + "the integration-tests surefire configuration, which sets it, DOCKER_HOST and TESTCONTAINERS_CHECKS_DISABLE";
        }
        try {
            DockerClientFactory factory = DockerClientFactory.instance();
            if (!factory.isDockerAvailable()) {
                return "no Docker engine reachable at DOCKER_HOST=" + System.getenv("DOCKER_HOST") + scriptReason();
            }
            client = factory.client();
            return null;
        } catch (RuntimeException | LinkageError e) {
            return "no Docker engine reachable at DOCKER_HOST=" + System.getenv("DOCKER_HOST") + " (" + e + ")"
                    + scriptReason();
        }
    }

    /** What .ci/docker.sh recorded when it could not start dockerd, if anything. */
    private static String scriptReason() {
        Path reason = Paths.get(System.getProperty("forksafe.docker.dir", "/var/tmp/forksafe-docker"), "unavailable");
        try {
            if (Files.isRegularFile(reason)) {
                return "; .ci/docker.sh: " + Files.readString(reason).strip();
            }
        } catch (java.io.IOException ignored) {
            // no reason recorded
        }
        return "; start the private engine with: bash .ci/docker.sh";
    }
}
