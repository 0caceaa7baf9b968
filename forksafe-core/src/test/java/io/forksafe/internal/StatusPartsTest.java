package io.forksafe.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.forksafe.ForkRegistry;
import io.forksafe.WorkerKind;

import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import javax.management.Attribute;
import javax.management.AttributeList;
import javax.management.AttributeNotFoundException;

import org.junit.jupiter.api.Test;

/** Redaction, plain status values and the status MBean, each on its own. */
class StatusPartsTest {

    @Test
    void secretSettingsAreMaskedAndTheirValuesScrubbedFromText() {
        Map<String, String> settings = new LinkedHashMap<>();
        settings.put("db.password", "hunter2");
        settings.put("api.TOKEN", "abcd");
        settings.put("short.secret", "abc");
        settings.put("unset.key", null);
        settings.put("url", "jdbc:h2:mem");
        assertThat(Redaction.redact(Map.of("b.key", "k", "a", "1"))).containsExactly(Map.entry("a", "1"),
                Map.entry("b.key", Redaction.MASK));
        assertThat(Redaction.scrub("login hunter2 with abcd and abc at jdbc:h2:mem", settings))
                .as("a value of four characters or more is scrubbed; shorter ones would mask ordinary words")
                .isEqualTo("login <redacted> with <redacted> and abc at jdbc:h2:mem");
        assertThat(Redaction.scrub(null, settings)).isNull();
        assertThat(Redaction.isSecret("x.Credentials")).isTrue();
        assertThat(Redaction.isSecret("x.passwd")).isTrue();
        assertThat(Redaction.isSecret("x.user")).isFalse();
    }

    record Pool(String name, int size, Optional<String> owner, WorkerKind kind) {
    }

    record Broken(String value) {
        @Override
        public String value() {
            throw new IllegalStateException("closed");
        }
    }

    @Test
    void recordsBecomeMapsAndContainersBecomePlain() {
        Map<Object, Object> map = new LinkedHashMap<>();
        map.put(1, new Pool("p", 4, Optional.empty(), WorkerKind.THREAD));
        map.put("list", List.of(Optional.of("x"), new Object[] {"a", 2}));
        map.put("took", Duration.ofMillis(5));
        Map<String, Object> pool = new LinkedHashMap<>();
        pool.put("name", "p");
        pool.put("size", 4);
        pool.put("owner", null);
        pool.put("kind", "THREAD");
        assertThat(StatusValues.plain(map)).isEqualTo(Map.of("1", pool, "list", List.of("x", List.of("a", 2)),
                "took", Duration.ofMillis(5)));
        assertThat(StatusValues.plain(null)).isNull();
        assertThat(StatusValues.plain(new Broken("v"))).isEqualTo(Map.of("value",
                "unavailable: java.lang.reflect.InvocationTargetException"));
    }

    @Test
    void nestingDeeperThanSixteenLevelsIsCutToAString() {
        Object deep = "leaf";
        for (int i = 0; i < 17; i++) {
            deep = List.of(deep);
        }
        Object plain = StatusValues.plain(deep);
        for (int i = 0; i < 16; i++) {
            assertThat(plain).as("level %d", i).isInstanceOf(List.class);
            plain = ((List<?>) plain).get(0);
        }
        assertThat(plain).isEqualTo(List.of("leaf"));

        Object deeper = List.of(deep);
        Object cut = StatusValues.plain(deeper);
        for (int i = 0; i < 17; i++) {
            cut = ((List<?>) cut).get(0);
        }
        assertThat(cut).isEqualTo("[leaf]");
    }

    @Test
    void theMBeanReadsTheStatusAndRefusesEverythingElse() throws Exception {
        ForkRegistry registry = new ForkRegistry("mbean-parts");
        registry.markConfigured("launcher");
        StatusMBeans.StatusMBean bean = new StatusMBeans.StatusMBean(registry);
        assertThat(bean.getAttribute("Status")).isEqualTo("launcher mark_configured");
        assertThat(bean.getAttribute("Environment")).isEqualTo("launcher");
        assertThat(bean.getAttribute("HookFailures")).isEqualTo(0L);
        assertThat(bean.getAttribute("LiveWorkers")).isEqualTo(0);
        assertThat((String) bean.getAttribute("Text")).startsWith("forksafe status: launcher mark_configured\n");
        AttributeList list = bean.getAttributes(new String[] {"Status", "Nope", "Environment"});
        assertThat(list.asList()).extracting(Attribute::getName).containsExactly("Status", "Environment");
        assertThat(list.asList()).extracting(Attribute::getValue)
                .containsExactly("launcher mark_configured", "launcher");
        assertThat(bean.setAttributes(new AttributeList(new ArrayList<>(list.asList())))).isEmpty();
        assertThatThrownBy(() -> bean.getAttribute("Nope")).isInstanceOf(AttributeNotFoundException.class)
                .hasMessage("no attribute Nope; the forksafe status MBean has Status, Environment, Pid, "
                        + "AutoconfigureLog, Json, Text, HookFailures and LiveWorkers");
        assertThatThrownBy(() -> bean.setAttribute(new Attribute("Status", "x")))
                .hasMessage("the forksafe status MBean is read-only");
        assertThatThrownBy(() -> bean.invoke("reset", null, null))
                .hasMessage("the forksafe status MBean has no operations");
        assertThat(bean.getMBeanInfo().getAttributes()).hasSize(8);
    }

    @Test
    void registeringTwiceKeepsOneMBeanUnderOneName() {
        ForkRegistry registry = new ForkRegistry("mbean-twice");
        String first = StatusMBeans.register(registry, false);
        assertThat(first).startsWith("io.forksafe:type=Status,name=\"mbean-twice@");
        assertThat(StatusMBeans.register(registry, false)).isEqualTo(first);
    }
}
