package io.forksafe.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import javax.tools.Diagnostic;
import javax.tools.DiagnosticCollector;
import javax.tools.JavaCompiler;
import javax.tools.JavaFileObject;
import javax.tools.StandardJavaFileManager;
import javax.tools.ToolProvider;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Compiles every {@code ```java} block of {@code README.md} and {@code docs/*.md}, so a snippet that stops compiling
 * fails the build ({@code mvn -B verify}). All snippets go to one {@code javax.tools.JavaCompiler} call against this
 * test's class path with {@code --release 17}; the generated sources are written to {@code target/doc-snippets-src}
 * (to read what was compiled) and the classes to {@code target/doc-snippets}. A failure lists every failing snippet as
 * {@code docs/foo.md:LINE: javac's message}, LINE being the Markdown line of the offending code.
 *
 * <p>Wrapping rules. Each block gets its own package, {@code docsnippets.<file>_l<fence line>}:
 * <ol>
 *   <li>A block with a top-level {@code class}, {@code record}, {@code interface} or {@code enum} declaration (the
 *       declaration starts in column 0, without {@code static}) is a <b>whole compilation unit</b>: compiled as it is,
 *       its {@code package} line replaced, <b>without default imports</b> (a complete class must compile when
 *       copied).</li>
 *   <li>Otherwise the block's leading {@code import} lines stay imports, and the rest is wrapped in
 *       {@code class Snippet}, which also gets the default imports ({@link #DEFAULT_IMPORTS}):
 *       <ul>
 *         <li>if its first line of code starts with a member modifier ({@code public}, {@code protected},
 *             {@code private}, {@code static}, {@code abstract}, {@code synchronized}) or an annotation, the rest
 *             is <b>class members</b> (fields, methods, initializers);</li>
 *         <li>else it is the <b>body of</b> {@code void snippet() throws Exception { ... }}.</li>
 *       </ul>
 *       A block mixing member declarations and loose statements therefore does not compile: put the statements in
 *       a method (or an initializer) of the snippet.</li>
 * </ol>
 *
 * <p>Context. The names a snippet uses but does not declare (the reader's own objects: {@code pool},
 * {@code random}, {@code server}, ...) come from an HTML comment on the line(s) directly above the fence, invisible on
 * GitHub: {@code <!-- snippet-context: HikariDataSource pool; Random random; -->}. Its text is inserted verbatim
 * into the wrapping class as members, before the snippet (write {@code static} where a static snippet method uses
 * them); for a whole compilation unit it is appended after the unit as top-level declarations (types only).
 * Third-party types that are not on this module's test class path (MongoDB's {@code MongoClient}) are declared there
 * as minimal stand-ins; libraries forksafe already builds with (HikariCP, Jetty, Undertow, slf4j) are real
 * test dependencies instead. {@code <!-- snippet-context: skip (reason) -->} leaves a block out; it is only for blocks
 * that are not Java or show deliberately wrong code, needs a reason, and every skip is printed.
 *
 * <p>The snippets compile on the class path, so this checks names and types, not the modules' exports.
 */
class DocSnippetsTest {

    /** The imports every wrapped (not whole-unit) snippet gets. */
    static final List<String> DEFAULT_IMPORTS = List.of(
            "io.forksafe.*",
            "io.forksafe.recipes.*",
            "io.forksafe.hikari.*",
            "io.forksafe.servlet.*",
            "io.forksafe.spi.*",
            "io.forksafe.testing.*",
            "io.forksafe.jetty.*",
            "io.forksafe.undertow.*",
            "io.forksafe.tomcat.*",
            "io.forksafe.arbiter.*",
            "io.forksafe.uwsgi.*",
            "io.forksafe.crac.*",
            "java.util.*",
            "java.util.concurrent.*",
            "java.security.*",
            "java.time.*",
            "org.eclipse.jetty.server.Server",
            "org.eclipse.jetty.server.ServerConnector",
            "org.eclipse.jetty.server.Handler",
            "org.eclipse.jetty.server.handler.*",
            "io.undertow.Undertow",
            "io.undertow.Handlers",
            "io.undertow.server.HttpHandler",
            "io.undertow.server.HttpServerExchange",
            "io.undertow.server.handlers.BlockingHandler",
            "org.apache.catalina.startup.Tomcat",
            "org.apache.catalina.connector.Connector",
            "com.zaxxer.hikari.HikariConfig",
            "com.zaxxer.hikari.HikariDataSource",
            "io.forksafe.spring.*",
            "org.springframework.context.annotation.Bean");

    private static final Pattern FENCE_OPEN = Pattern.compile("^```java\\s*$");
    private static final Pattern FENCE_CLOSE = Pattern.compile("^```\\s*$");
    private static final Pattern CONTEXT = Pattern.compile(
            "^<!--\\s*snippet-context:(.*?)-->\\s*$", Pattern.DOTALL);
    private static final Pattern SKIP = Pattern.compile("^skip\\s*\\((.*)\\)\\s*$", Pattern.DOTALL);
    private static final Pattern TOP_LEVEL_TYPE = Pattern.compile(
            "^(?:(?:public|final|abstract|sealed|non-sealed|strictfp)\\s+)*(class|record|interface|enum|@interface)"
                    + "\\s+([A-Za-z_$][\\w$]*)");
    private static final Pattern MEMBER_START = Pattern.compile(
            "^(?:public|protected|private|static|abstract|synchronized)\\b|^@");
    private static final Pattern IMPORT = Pattern.compile("^import\\s+[\\w.*\\s]+;\\s*$");

    /** One {@code ```java} block. */
    record Snippet(String file, int fenceLine, List<String> code, String context, int contextLine,
                   String skipReason) {

        String where() {
            return file + ":" + fenceLine;
        }
    }

    enum Kind { WHOLE_UNIT, MEMBERS, STATEMENTS }

    /** A generated source; {@code origin.get(i)} is the Markdown line of its line {@code i + 1}. */
    record Unit(Snippet snippet, Kind kind, String packageName, String className, String source,
                List<Integer> origin) {

        String relativePath() {
            return packageName.replace('.', '/') + "/" + className + ".java";
        }

        int markdownLine(long javaLine) {
            int i = (int) javaLine - 1;
            return i >= 0 && i < origin.size() ? origin.get(i) : snippet.fenceLine();
        }
    }

    // ------------------------------------------------------------------ the tests

    @Test
    void everyJavaSnippetInTheDocsCompiles() throws IOException {
        Path root = Path.of("").toAbsolutePath().getParent();
        assertThat(root.resolve("README.md")).as("the repository root, from the module directory").exists();
        List<Snippet> snippets = extractAll(root);
        Map<String, Long> perFile = snippets.stream()
                .collect(Collectors.groupingBy(Snippet::file, LinkedHashMap::new, Collectors.counting()));
        System.out.println("doc snippets per file: " + perFile);
        snippets.stream().filter(s -> s.skipReason() != null)
                .forEach(s -> System.out.println("doc snippet skipped: " + s.where() + ": " + s.skipReason()));
        List<Snippet> compiled = snippets.stream().filter(s -> s.skipReason() == null).toList();
        assertThat(compiled).as("java snippets found").hasSizeGreaterThan(10);

        Path target = Path.of("target");
        List<String> failures = compile(compiled, target.resolve("doc-snippets-src"), target.resolve("doc-snippets"));

        assertThat(failures)
                .as("doc snippets that do not compile (generated sources in %s; wrapping rules in DocSnippetsTest's "
                        + "Javadoc and CONTRIBUTING.md)", target.resolve("doc-snippets-src").toAbsolutePath())
                .isEmpty();
    }

    @Test
    void aBrokenSnippetFailsNamingItsFileLineAndJavacsMessage(@TempDir Path dir) throws IOException {
        String md = String.join("\n",
                "# Title",                                              // 1
                "",                                                     // 2
                "```java",                                              // 3
                "List<String> names = new ArrayList<>();",              // 4
                "```",                                                  // 5
                "",                                                     // 6
                "<!-- snippet-context: Random random; -->",             // 7
                "```java",                                              // 8
                "long seed = random.nextLong();",                       // 9
                "random.setSeed(SecureRandom.getSeed(32));",            // 10: Random has no setSeed(byte[])
                "```");
        List<Snippet> snippets = extract("docs/broken.md", md.lines().toList());
        assertThat(snippets).extracting(Snippet::fenceLine).containsExactly(3, 8);
        assertThat(snippets.get(1).context()).isEqualTo("Random random;");

        List<String> failures = compile(snippets, dir.resolve("src"), dir.resolve("classes"));

        assertThat(failures).hasSize(1);
        assertThat(failures.get(0)).startsWith("docs/broken.md:10: ").contains("byte[] cannot be converted to long");
    }

    @Test
    void wrapsWholeUnitsMembersAndStatementsByTheDocumentedRules() {
        Snippet whole = snippet("import java.util.List;", "", "public final class Hooks implements Runnable {",
                "    public void run() { }", "}");
        Snippet members = snippet("import java.util.UUID;", "static final UUID ID = UUID.randomUUID();",
                "void use() { System.out.println(ID); }");
        Snippet statements = snippet("import java.util.UUID;", "UUID id = UUID.randomUUID();");

        Unit w = wrap(whole);
        assertThat(w.kind()).isEqualTo(Kind.WHOLE_UNIT);
        assertThat(w.className()).isEqualTo("Hooks");
        assertThat(w.source()).doesNotContain("import io.forksafe.*;").contains("package docsnippets.");
        assertThat(wrap(members).kind()).isEqualTo(Kind.MEMBERS);
        Unit s = wrap(statements);
        assertThat(s.kind()).isEqualTo(Kind.STATEMENTS);
        assertThat(s.source()).contains("import io.forksafe.*;", "import java.util.UUID;",
                "void snippet() throws Exception {");
        // the snippet's second line (the statement) maps back to Markdown line fence + 2
        int statementLine = s.source().lines().toList().indexOf("UUID id = UUID.randomUUID();") + 1;
        assertThat(s.markdownLine(statementLine)).isEqualTo(12);
    }

    @Test
    void aSkipWithoutAReasonIsRejected() {
        List<String> md = List.of("<!-- snippet-context: skip -->", "```java", "not java", "```");
        assertThatThrownBy(() -> extract("docs/x.md", md))
                .hasMessageContaining("docs/x.md:2").hasMessageContaining("skip (reason)");
        List<String> ok = List.of("<!-- snippet-context: skip (shows the wrong way on purpose) -->", "```java",
                "not java", "```");
        assertThat(extract("docs/x.md", ok)).singleElement()
                .extracting(Snippet::skipReason).isEqualTo("shows the wrong way on purpose");
    }

    private static Snippet snippet(String... lines) {
        return new Snippet("docs/t.md", 10, List.of(lines), "", 0, null);
    }

    // ------------------------------------------------------------------ extraction

    /** Every java block of README.md and docs/*.md, in file order. */
    static List<Snippet> extractAll(Path root) throws IOException {
        List<Path> files = new ArrayList<>();
        files.add(root.resolve("README.md"));
        try (Stream<Path> docs = Files.list(root.resolve("docs"))) {
            docs.filter(p -> p.getFileName().toString().endsWith(".md")).sorted(Comparator.naturalOrder())
                    .forEach(files::add);
        }
        List<Snippet> all = new ArrayList<>();
        for (Path f : files) {
            String name = root.relativize(f).toString().replace('\\', '/');
            all.addAll(extract(name, Files.readAllLines(f, StandardCharsets.UTF_8)));
        }
        return all;
    }

    /** The java blocks of one Markdown file, with the snippet-context comment directly above each fence. */
    static List<Snippet> extract(String file, List<String> lines) {
        List<Snippet> out = new ArrayList<>();
        for (int i = 0; i < lines.size(); i++) {
            if (!FENCE_OPEN.matcher(lines.get(i)).matches()) {
                continue;
            }
            int fence = i + 1;                       // 1-based line of the ```java fence
            List<String> code = new ArrayList<>();
            int j = i + 1;
            while (j < lines.size() && !FENCE_CLOSE.matcher(lines.get(j)).matches()) {
                code.add(lines.get(j));
                j++;
            }
            if (j == lines.size()) {
                throw new IllegalStateException(file + ":" + fence + ": the ```java block is never closed");
            }
            String context = "";
            int contextLine = 0;
            String skip = null;
            if (i > 0 && lines.get(i - 1).strip().endsWith("-->")) {
                int start = i - 1;
                while (start > 0 && !lines.get(start).contains("<!--")) {
                    start--;
                }
                String comment = String.join("\n", lines.subList(start, i)).strip();
                Matcher m = CONTEXT.matcher(comment);
                if (m.matches()) {
                    contextLine = start + 1;
                    String text = m.group(1).strip();
                    if (text.startsWith("skip")) {
                        Matcher s = SKIP.matcher(text);
                        if (!s.matches() || s.group(1).isBlank()) {
                            throw new IllegalStateException(file + ":" + fence + ": write the skip as "
                                    + "'<!-- snippet-context: skip (reason) -->', with the reason");
                        }
                        skip = s.group(1).strip();
                    } else {
                        context = text;
                    }
                }
            }
            out.add(new Snippet(file, fence, List.copyOf(code), context, contextLine, skip));
            i = j;
        }
        return out;
    }

    // ------------------------------------------------------------------ wrapping

    /** The compilation unit for one snippet, following the rules in the class Javadoc. */
    static Unit wrap(Snippet s) {
        String pkg = "docsnippets." + s.file().replaceAll("\\.md$", "").replaceAll("[^A-Za-z0-9]", "_")
                .toLowerCase(Locale.ROOT) + "_l" + s.fenceLine();
        List<String> code = s.code();
        int firstCodeLine = s.fenceLine() + 1;
        Source src = new Source();
        src.add("package " + pkg + ";", s.fenceLine());

        String wholeName = null;
        for (String line : code) {
            Matcher m = TOP_LEVEL_TYPE.matcher(line);
            if (m.find()) {
                if (line.startsWith("public") || wholeName == null) {
                    wholeName = m.group(2);
                }
            }
        }
        if (wholeName != null) {
            boolean anyPublic = code.stream().anyMatch(l -> TOP_LEVEL_TYPE.matcher(l).find() && l.startsWith("public"));
            for (int k = 0; k < code.size(); k++) {
                String line = code.get(k);
                src.add(line.startsWith("package ") ? "" : line, firstCodeLine + k);
            }
            addContext(src, s);
            return new Unit(s, Kind.WHOLE_UNIT, pkg, anyPublic ? wholeName : "Snippet", src.text(), src.origin);
        }

        for (String imp : DEFAULT_IMPORTS) {
            src.add("import " + imp + ";", s.fenceLine());
        }
        int k = 0;
        while (k < code.size() && (code.get(k).isBlank() || IMPORT.matcher(code.get(k).strip()).matches())) {
            src.add(code.get(k), firstCodeLine + k);
            k++;
        }
        Kind kind = Kind.STATEMENTS;
        for (int f = k; f < code.size(); f++) {
            String t = code.get(f).strip();
            if (t.isEmpty() || t.startsWith("//")) {
                continue;
            }
            kind = MEMBER_START.matcher(t).find() ? Kind.MEMBERS : Kind.STATEMENTS;
            break;
        }
        src.add("@SuppressWarnings(\"all\") class Snippet {", s.fenceLine());
        addContext(src, s);
        if (kind == Kind.STATEMENTS) {
            src.add("void snippet() throws Exception {", s.fenceLine());
        }
        for (; k < code.size(); k++) {
            src.add(code.get(k), firstCodeLine + k);
        }
        if (kind == Kind.STATEMENTS) {
            src.add("}", firstCodeLine + code.size());
        }
        src.add("}", firstCodeLine + code.size());
        return new Unit(s, kind, pkg, "Snippet", src.text(), src.origin);
    }

    private static void addContext(Source src, Snippet s) {
        if (!s.context().isEmpty()) {
            for (String line : s.context().split("\n")) {
                src.add(line, s.contextLine());
            }
        }
    }

    /** Generated lines with the Markdown line each came from. */
    private static final class Source {
        final StringBuilder text = new StringBuilder();
        final List<Integer> origin = new ArrayList<>();

        void add(String line, int markdownLine) {
            text.append(line).append('\n');
            origin.add(markdownLine);
        }

        String text() {
            return text.toString();
        }
    }

    // ------------------------------------------------------------------ compiling

    /**
     * Compiles all snippets in one javac run against this JVM's class path. Returns one line per javac error,
     * {@code file.md:LINE: message}, ordered by file and line; empty when everything compiles.
     */
    static List<String> compile(List<Snippet> snippets, Path sourceDir, Path classDir) throws IOException {
        deleteRecursively(sourceDir);
        deleteRecursively(classDir);
        Files.createDirectories(classDir);
        Map<Path, Unit> units = new LinkedHashMap<>();
        for (Snippet snippet : snippets) {
            Unit u = wrap(snippet);
            Path file = sourceDir.resolve(u.relativePath()).toAbsolutePath().normalize();
            Files.createDirectories(file.getParent());
            Files.writeString(file, u.source(), StandardCharsets.UTF_8);
            units.put(file, u);
        }
        JavaCompiler javac = ToolProvider.getSystemJavaCompiler();
        assertThat(javac).as("a JDK's compiler (javax.tools)").isNotNull();
        DiagnosticCollector<JavaFileObject> diagnostics = new DiagnosticCollector<>();
        // should-stop.ifError=FLOW: javac goes on to type-check every unit even when one has a syntax error, so one
        // run reports every failing snippet.
        List<String> options = List.of("--release", "17", "-proc:none", "-XDshould-stop.ifError=FLOW", "-nowarn", "-Xlint:none", "-encoding", "UTF-8",
                "-classpath", System.getProperty("java.class.path"), "-d", classDir.toString());
        try (StandardJavaFileManager files = javac.getStandardFileManager(diagnostics, Locale.ROOT,
                StandardCharsets.UTF_8)) {
            javac.getTask(null, files, diagnostics, options, null, files.getJavaFileObjectsFromPaths(units.keySet()))
                    .call();
        }
        List<Diagnostic<? extends JavaFileObject>> errors = new ArrayList<>(diagnostics.getDiagnostics());
        errors.sort(Comparator.comparing((Diagnostic<? extends JavaFileObject> d) ->
                d.getSource() == null ? "" : d.getSource().toUri().toString()).thenComparingLong(Diagnostic::getLineNumber));
        List<String> failures = new ArrayList<>();
        for (Diagnostic<? extends JavaFileObject> d : errors) {
            if (d.getKind() != Diagnostic.Kind.ERROR) {
                continue;
            }
            Unit u = d.getSource() == null ? null
                    : units.get(Path.of(d.getSource().toUri()).toAbsolutePath().normalize());
            String message = d.getMessage(Locale.ROOT).replace("\n", "\n      ");
            if (u == null) {
                failures.add("(no snippet): " + message);
            } else {
                failures.add(u.snippet().file() + ":" + u.markdownLine(d.getLineNumber()) + ": " + message
                        + "\n      (" + u.kind() + " in " + u.relativePath() + ":" + d.getLineNumber() + ")");
            }
        }
        return failures;
    }

    private static void deleteRecursively(Path dir) throws IOException {
        if (!Files.exists(dir)) {
            return;
        }
        try (Stream<Path> walk = Files.walk(dir)) {
            walk.sorted(Comparator.reverseOrder()).forEach(p -> {
                try {
                    Files.delete(p);
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
            });
        }
    }
}
