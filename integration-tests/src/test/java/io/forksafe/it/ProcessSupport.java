package io.forksafe.it;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.List;

/** Launches real JVMs with the integration-tests runtime class path. */
public final class ProcessSupport {

    private ProcessSupport() {
    }

    /** The runtime class path of the demo: dependencies plus this module's classes. */
    public static String demoClasspath() throws IOException {
        Path target = Paths.get("target");
        String deps = Files.readString(target.resolve("demo-classpath.txt")).strip();
        return target.resolve("classes").toAbsolutePath() + (deps.isEmpty() ? "" : java.io.File.pathSeparator + deps);
    }

    /** The java launcher of the JVM running the tests. */
    public static String javaBinary() {
        return Paths.get(System.getProperty("java.home"), "bin", "java").toString();
    }

    /** A command line that runs {@code mainClass} with the demo class path. */
    public static List<String> javaCommand(String mainClass, String... args) throws IOException {
        List<String> cmd = new ArrayList<>(List.of(javaBinary(), "-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC",
                "-cp", demoClasspath(), mainClass));
        cmd.addAll(List.of(args));
        return cmd;
    }
}
