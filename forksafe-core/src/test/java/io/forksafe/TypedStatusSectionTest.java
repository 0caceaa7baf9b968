package io.forksafe;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.forksafe.spi.HostContext;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** A status section can be a record: the snapshot renders it once, and JSON, the text dump and JMX show the same. */
class TypedStatusSectionTest {

    public enum Mode { FAST, SAFE }

    public record Pool(String name, int threads, Mode mode, List<Slot> slots) {
    }

    public record Slot(int slot, long generation) {
    }

    @Test
    void aRecordSectionIsRenderedAsItsComponentsInOrderEverywhere() throws Exception {
        ForkRegistry registry = new ForkRegistry("typed");
        HostContext.of(registry).statusDetail("myhost", () -> new Pool("main", 2, Mode.SAFE,
                List.of(new Slot(1, 0), new Slot(2, 3))));
        ForksafeStatus status = registry.status();
        Object section = status.details().get("myhost");
        assertThat(section).isInstanceOf(Map.class);
        assertThat(((Map<?, ?>) section).keySet()).map(String::valueOf).containsExactly("name", "threads", "mode", "slots");
        assertThat(section).hasToString("{name=main, threads=2, mode=SAFE, slots=[{slot=1, generation=0}, "
                + "{slot=2, generation=3}]}");
        JsonNode json = new ObjectMapper().readTree(status.toJson()).path("details").path("myhost");
        assertThat(json.path("threads").asInt()).isEqualTo(2);
        assertThat(json.path("mode").asText()).isEqualTo("SAFE");
        assertThat(json.path("slots").get(1).path("generation").asLong()).isEqualTo(3);
        assertThat(status.dump()).contains("myhost").contains("generation=3");
    }
}
