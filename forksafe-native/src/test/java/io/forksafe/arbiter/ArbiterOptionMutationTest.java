package io.forksafe.arbiter;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.forksafe.arbiter.internal.ArbiterOption;
import io.forksafe.arbiter.internal.OptionValues;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import org.junit.jupiter.api.Test;

/**
 * The rules behind the options table's renderings and suggestions: the --help layout (checked as properties of the
 * table, not as a copy of its text), the "did you mean" threshold, and the parser's edges.
 */
class ArbiterOptionMutationTest {

    private static final int TEXT_COLUMN = 28;
    private static final int TEXT_WIDTH = 66;

    /** The --help lines of each option, in table order, each block starting with the option's own line. */
    private static List<List<String>> blocks() {
        // rendered anew (ArbiterMain.USAGE is rendered once, when the class loads)
        String usage = ArbiterOption.usage();
        assertThat(usage).isEqualTo(ArbiterMain.USAGE);
        String section = usage.substring(usage.indexOf("Options:\n") + "Options:\n".length(),
                usage.indexOf("\n\nDurations:"));
        List<List<String>> blocks = new ArrayList<>();
        for (String line : section.split("\n")) {
            if (line.startsWith("  -")) {
                blocks.add(new ArrayList<>());
            }
            blocks.get(blocks.size() - 1).add(line);
        }
        return blocks;
    }

    private static String text(String line) {
        return line.length() > TEXT_COLUMN ? line.substring(TEXT_COLUMN) : "";
    }

    @Test
    void eachOptionHasOneBlockHeadedByAllItsSpellings() {
        List<List<String>> blocks = blocks();
        ArbiterOption[] options = ArbiterOption.values();
        assertThat(blocks).hasSize(options.length);
        for (int i = 0; i < options.length; i++) {
            ArbiterOption o = options[i];
            List<String> spellings = new ArrayList<>(List.of(o.flag()));
            spellings.addAll(o.aliases());
            String head = blocks.get(i).get(0);
            assertThat(head).as(o.flag()).startsWith("  " + String.join(", ", spellings)
                    + (o.takesValue() ? " " : ""));
            if (!o.takesValue()) {
                assertThat(head.substring(2, TEXT_COLUMN).strip()).as(o.flag()).isEqualTo(String.join(", ", spellings));
            }
        }
    }

    @Test
    void theHelpTextIsWrappedGreedilyInItsColumn() {
        for (List<String> block : blocks()) {
            String head = block.get(0);
            List<String> texts = new ArrayList<>();
            for (int k = 0; k < block.size(); k++) {
                String line = block.get(k);
                if (k == 0 && line.length() >= TEXT_COLUMN && line.charAt(TEXT_COLUMN - 1) != ' ') {
                    // a head too long to share its line with the text (the text column is padded with spaces)
                    assertThat(line.length()).as(line).isGreaterThan(TEXT_COLUMN - 1);
                    assertThat(block.get(1)).as(head).startsWith(" ".repeat(TEXT_COLUMN));
                    continue;
                }
                assertThat(line.substring(0, TEXT_COLUMN).isBlank() || k == 0).as(line).isTrue();
                assertThat(line.charAt(TEXT_COLUMN)).as(line).isNotEqualTo(' ');
                assertThat(text(line)).as(line).hasSizeLessThanOrEqualTo(TEXT_WIDTH).doesNotEndWith(" ");
                texts.add(text(line));
            }
            assertThat(texts).as(head).isNotEmpty();
            for (int k = 0; k + 1 < texts.size(); k++) {
                String next = texts.get(k + 1);
                String firstWord = next.split(" ")[0];
                boolean noteStarts = next.startsWith("Not with --preload:") || next.startsWith("Only with --preload.");
                if (!noteStarts) {
                    assertThat(texts.get(k).length() + 1 + firstWord.length())
                            .as("'%s' would have fitted after '%s'", firstWord, texts.get(k)).isGreaterThan(TEXT_WIDTH);
                }
            }
        }
    }

    @Test
    void theModeNoteDefaultAndRepeatableMarkAreWhereTheTableSays() {
        List<List<String>> blocks = blocks();
        ArbiterOption[] options = ArbiterOption.values();
        for (int i = 0; i < options.length; i++) {
            ArbiterOption o = options[i];
            List<String> texts = blocks.get(i).stream().map(ArbiterOptionMutationTest::text).filter(t -> !t.isEmpty())
                    .toList();
            String joined = String.join(" ", texts);
            assertThat(joined.contains("(repeatable)")).as(o.flag()).isEqualTo(o.repeatable());
            assertThat(texts.stream().anyMatch(t -> t.startsWith("Only with --preload.")))
                    .as(o.flag()).isEqualTo(o.mode() == ArbiterOption.Mode.PRELOAD_ONLY);
            assertThat(texts.stream().anyMatch(t -> t.startsWith("Not with --preload: ")))
                    .as(o.flag()).isEqualTo(o.mode() == ArbiterOption.Mode.SPAWN_ONLY);
        }
        assertThat(Arrays.stream(options).filter(ArbiterOption::repeatable)).isNotEmpty();
        assertThat(Arrays.stream(options).filter(o -> o.mode() == ArbiterOption.Mode.SPAWN_ONLY)).isNotEmpty();
        assertThat(Arrays.stream(options).filter(o -> o.mode() == ArbiterOption.Mode.PRELOAD_ONLY)).isNotEmpty();
    }

    @Test
    void aCloseMisspellingIsSuggestedUpToAThirdOfItsLength() {
        assertThat(ArbiterOption.unknown("--bindxyz")).as("3 edits in 9 characters")
                .isEqualTo("unknown option --bindxyz: did you mean --bind?");
        assertThat(ArbiterOption.unknown("--pidfilexy")).isEqualTo("unknown option --pidfilexy: did you mean --pidfile?");
        assertThat(ArbiterOption.unknown("--jvm-optx")).as("a tie goes to the option listed first")
                .isEqualTo("unknown option --jvm-optx: did you mean --jvm-opts?");
        assertThat(ArbiterOption.unknown("--hlep")).isEqualTo("unknown option --hlep: did you mean --help?");
        assertThat(ArbiterOption.unknown("--statusport")).isEqualTo("unknown option --statusport: did you mean "
                + "--status-port?");
        assertThat(ArbiterOption.unknown("--WORKERS")).isEqualTo("unknown option --WORKERS: did you mean --workers?");
        assertThat(ArbiterOption.unknown("--envxyz")).as("3 edits in 8 characters")
                .isEqualTo("unknown option --envxyz: see --help for the options");
        assertThat(ArbiterOption.byName("-cp")).contains(ArbiterOption.CLASSPATH);
        assertThat(ArbiterOption.byName("--nope")).isEmpty();
    }

    @Test
    void aRepeatableOptionCollectsEveryValue() {
        ArbiterConfig c = ArbiterMain.parse(new String[] {"--bind", "8080", "--env", "A=1", "--env", "B=2",
                "--jvm-opt", "-Xmx64m", "--jvm-opt", "-Dy=2", "--", "x.Main"});
        assertThat(c.environment()).containsEntry("A", "1").containsEntry("B", "2");
        assertThat(c.jvmOptions()).containsSubsequence("-Xmx64m", "-Dy=2");
        assertThat(ArbiterOption.ENV.repeatable()).isTrue();
        assertThat(ArbiterOption.WORKERS.repeatable()).isFalse();
    }

    @Test
    void theParserStopsAtTheSeparatorAndNeedsAValueBeforeIt() {
        ArbiterConfig c = ArbiterMain.parse(new String[] {"--bind=127.0.0.1:8080", "--", "x.Main", "--help", "--"});
        assertThat(c.mainClass()).isEqualTo("x.Main");
        assertThat(c.args()).containsExactly("--help", "--");
        assertThatThrownBy(() -> ArbiterMain.parse(new String[] {"--bind", "8080", "--workers"}))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageStartingWith("--workers needs a value: ");
        assertThatThrownBy(() -> ArbiterMain.parse(new String[] {"--bind", "8080", "-", "x.Main"}))
                .hasMessage("unexpected argument '-': put the worker's main class after --, e.g. -- com.example.AppMain");
        assertThatThrownBy(() -> ArbiterMain.parse(new String[] {"--bind", "8080"}))
                .hasMessage("no worker main class: end the options with -- com.example.AppMain [args...]");
        assertThatThrownBy(() -> ArbiterMain.parse(new String[] {"--bind", "8080", "--print-events=", "--", "x.M"}))
                .hasMessage("--print-events takes no value, got '': write --print-events");
    }

    @Test
    void aBindAddressIsCheckedAtItsEdges() {
        assertThat(OptionValues.bind("--bind", "[::1]:65535").getPort()).isEqualTo(65535);
        assertThat(OptionValues.bind("--bind", "0").getPort()).isZero();
        assertThatThrownBy(() -> OptionValues.bind("--bind", "[::1]"))
                .hasMessage("bad bind address '[::1]' (--bind): write an IPv6 address as [::1]:8080");
        assertThatThrownBy(() -> OptionValues.bind("--bind", "[::1]8080"))
                .hasMessage("bad bind address '[::1]8080' (--bind): write an IPv6 address as [::1]:8080");
        assertThatThrownBy(() -> OptionValues.bind("--bind", "[::1]:"))
                .hasMessage("bad port in bind address '[::1]:' (--bind): use a number 0..65535");
        assertThatThrownBy(() -> OptionValues.bind("--bind", "127.0.0.1:65536"))
                .hasMessage("port out of range in bind address '127.0.0.1:65536' (--bind): use 0..65535");
        assertThatThrownBy(() -> OptionValues.bind("--bind", "127.0.0.1:-1"))
                .hasMessage("port out of range in bind address '127.0.0.1:-1' (--bind): use 0..65535");
    }
}
