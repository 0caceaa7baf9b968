package io.forksafe.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The README's Jetty, Undertow and Tomcat quick starts are, character for character, the apps that
 * {@link QuickStartProcessTest} runs as real processes (TomcatApp: compiled; TomcatWorkerApp is the one run): a user who copies them gets the tested code.
 */
class ReadmeQuickStartsTest {

    @ParameterizedTest
    @ValueSource(strings = {"JettyApp", "UndertowApp", "TomcatApp"})
    void theReadmeShowsTheAppTheTestsRun(String app) throws IOException {
        String source = Files.readString(Path.of("src/main/java/com/example/" + app + ".java"), StandardCharsets.UTF_8);
        String readme = Files.readString(Path.of("..", "README.md"), StandardCharsets.UTF_8);
        assertThat(readme).as("README.md must show src/main/java/com/example/%s.java verbatim in a ```java block", app)
                .contains("```java\n" + source + "```\n");
    }
}
