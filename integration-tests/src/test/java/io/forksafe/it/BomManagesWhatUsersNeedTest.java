package io.forksafe.it;

import org.junit.jupiter.api.Test;
import org.w3c.dom.Document;
import org.w3c.dom.Element;
import org.w3c.dom.Node;
import org.w3c.dom.NodeList;

import javax.xml.parsers.DocumentBuilderFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A user who imports forksafe-bom and adds a forksafe module plus the host it adapts never has to write a version:
 * every non-test dependency of every published module is managed by the BOM, directly or through a BOM it imports
 * (Jetty's). The POMs are read with the JDK's XML parser; imported BOMs from the local Maven repository.
 */
class BomManagesWhatUsersNeedTest {

    private static final Path ROOT = Path.of(System.getProperty("basedir", "integration-tests"))
            .toAbsolutePath().getParent();
    private static final Pattern PROPERTY = Pattern.compile("\\$\\{([^}]+)}");

    private static Document read(Path pom) throws Exception {
        assertThat(pom).as("POM to read").isRegularFile();
        DocumentBuilderFactory f = DocumentBuilderFactory.newInstance();
        f.setFeature("http://apache.org/xml/features/disallow-doctype-decl", true);
        return f.newDocumentBuilder().parse(pom.toFile());
    }

    /** The direct child elements of {@code parent} named {@code name}. */
    private static List<Element> children(Element parent, String name) {
        List<Element> out = new ArrayList<>();
        if (parent == null) {
            return out;
        }
        NodeList nodes = parent.getChildNodes();
        for (int i = 0; i < nodes.getLength(); i++) {
            Node n = nodes.item(i);
            if (n instanceof Element && ((Element) n).getTagName().equals(name)) {
                out.add((Element) n);
            }
        }
        return out;
    }

    private static Element child(Element parent, String name) {
        List<Element> c = children(parent, name);
        return c.isEmpty() ? null : c.get(0);
    }

    private static String text(Element parent, String name) {
        Element e = child(parent, name);
        return e == null ? "" : e.getTextContent().strip();
    }

    private static Map<String, String> properties(Element project) {
        Map<String, String> props = new LinkedHashMap<>();
        Element properties = child(project, "properties");
        if (properties != null) {
            NodeList nodes = properties.getChildNodes();
            for (int i = 0; i < nodes.getLength(); i++) {
                if (nodes.item(i) instanceof Element e) {
                    props.put(e.getTagName(), e.getTextContent().strip());
                }
            }
        }
        props.put("project.version", text(project, "version"));
        return props;
    }

    private static String resolve(String value, Map<String, String> props) {
        Matcher m = PROPERTY.matcher(value);
        StringBuilder out = new StringBuilder();
        while (m.find()) {
            String v = props.get(m.group(1));
            assertThat(v).as("property ${%s} used in the BOM must be defined in the BOM itself: importing a BOM "
                    + "brings no properties from elsewhere", m.group(1)).isNotNull();
            m.appendReplacement(out, Matcher.quoteReplacement(v));
        }
        return m.appendTail(out).toString();
    }

    /** groupId:artifactId of everything {@code bom} manages with a version, following its imports. */
    private static Set<String> managed(Path bom, Set<String> imported) throws Exception {
        Element project = read(bom).getDocumentElement();
        Map<String, String> props = properties(project);
        Set<String> out = new LinkedHashSet<>();
        for (Element d : children(child(child(project, "dependencyManagement"), "dependencies"), "dependency")) {
            String ga = resolve(text(d, "groupId"), props) + ":" + resolve(text(d, "artifactId"), props);
            String version = resolve(text(d, "version"), props);
            assertThat(version).as("the BOM's entry for %s has a version", ga).isNotBlank();
            if ("import".equals(text(d, "scope"))) {
                imported.add(ga + ":" + version);
                out.addAll(managed(localRepositoryPom(ga, version), new LinkedHashSet<>()));
            } else {
                out.add(ga);
            }
        }
        return out;
    }

    private static Path localRepositoryPom(String ga, String version) {
        String repo = System.getProperty("forksafe.localRepository",
                Path.of(System.getProperty("user.home"), ".m2", "repository").toString());
        String[] parts = ga.split(":");
        return Path.of(repo, parts[0].replace('.', '/'), parts[1], version, parts[1] + "-" + version + ".pom");
    }

    /** The modules users depend on: jar modules of the build that are deployed. */
    private static List<Path> publishedModules() throws Exception {
        Element root = read(ROOT.resolve("pom.xml")).getDocumentElement();
        List<Path> out = new ArrayList<>();
        for (Element m : children(child(root, "modules"), "module")) {
            Path pom = ROOT.resolve(m.getTextContent().strip()).resolve("pom.xml");
            Element project = read(pom).getDocumentElement();
            boolean jar = text(project, "packaging").isEmpty() || text(project, "packaging").equals("jar");
            boolean deployed = !"true".equals(properties(project).get("maven.deploy.skip"));
            if (jar && deployed) {
                out.add(pom);
            }
        }
        return out;
    }

    @Test
    void theBomHasNoParentSoImportingItBringsOnlyWhatItLists() throws Exception {
        Element bom = read(ROOT.resolve("forksafe-bom/pom.xml")).getDocumentElement();
        assertThat(child(bom, "parent")).as("forksafe-bom must not have a parent").isNull();
    }

    @Test
    void everyPublishedModuleAndEachOfItsNonTestDependenciesIsManagedByTheBom() throws Exception {
        Set<String> imports = new LinkedHashSet<>();
        Set<String> managed = managed(ROOT.resolve("forksafe-bom/pom.xml"), imports);
        List<Path> modules = publishedModules();
        assertThat(modules).extracting(p -> p.getParent().getFileName().toString())
                .contains("forksafe-core", "forksafe-servlet", "forksafe-hikari", "forksafe-jetty", "forksafe-undertow",
                        "forksafe-tomcat", "forksafe-native", "forksafe-crac", "forksafe-spring-boot")
                .doesNotContain("integration-tests", "forksafe-benchmarks");

        List<String> unmanaged = new ArrayList<>();
        for (Path pom : modules) {
            Element project = read(pom).getDocumentElement();
            String self = "io.forksafe:" + text(project, "artifactId");
            if (!managed.contains(self)) {
                unmanaged.add(self + " (the module itself)");
            }
            for (Element d : children(child(project, "dependencies"), "dependency")) {
                if ("test".equals(text(d, "scope"))) {
                    continue;
                }
                if (text(d, "groupId").equals("org.springframework.boot")) {
                    continue; // Spring Boot's own artifacts: Boot's BOM manages them, and every Boot app imports it
                }
                String ga = text(d, "groupId") + ":" + text(d, "artifactId");
                if (!managed.contains(ga)) {
                    unmanaged.add(ga + " (a dependency of " + self + ")");
                }
            }
        }
        assertThat(unmanaged).as("add these to forksafe-bom's dependencyManagement (versions from its properties), "
                + "so users who import the BOM can add them without a version").isEmpty();
        assertThat(imports).as("Jetty's own BOMs, at the version forksafe is built with")
                .contains("org.eclipse.jetty:jetty-bom:" + bomProperty("jetty.version"),
                        "org.eclipse.jetty.ee10:jetty-ee10-bom:" + bomProperty("jetty.version"));
        assertThat(managed).contains("org.eclipse.jetty:jetty-server", "org.eclipse.jetty.ee10:jetty-ee10-servlet",
                "io.undertow:undertow-core", "io.undertow:undertow-servlet", "jakarta.servlet:jakarta.servlet-api",
                "com.github.jnr:jnr-posix", "org.crac:crac", "com.zaxxer:HikariCP",
                "org.apache.tomcat.embed:tomcat-embed-core");
    }

    @Test
    void theBuildInheritsItsHostVersionsFromTheBomSoTheyAreWrittenOnce() throws Exception {
        Element parent = read(ROOT.resolve("pom.xml")).getDocumentElement();
        assertThat(text(child(parent, "parent"), "artifactId")).isEqualTo("forksafe-bom");
        Map<String, String> parentProperties = properties(parent);
        for (String hostVersion : List.of("jetty.version", "undertow.version", "jakarta.servlet.version",
                "jnr-posix.version", "crac.version", "hikaricp.version", "tomcat.version")) {
            assertThat(bomProperty(hostVersion)).as(hostVersion).isNotBlank();
            assertThat(parentProperties).as("%s is written in forksafe-bom only", hostVersion)
                    .doesNotContainKey(hostVersion);
        }
        String pom = Files.readString(ROOT.resolve("pom.xml"));
        assertThat(pom).as("the parent manages no host artifact itself").doesNotContain("<artifactId>jetty-server<",
                "<artifactId>undertow-core<", "<artifactId>jnr-posix<", "<artifactId>crac<",
                "<artifactId>tomcat-embed-core<");
    }

    private static String bomProperty(String name) throws Exception {
        return properties(read(ROOT.resolve("forksafe-bom/pom.xml")).getDocumentElement()).get(name);
    }
}
