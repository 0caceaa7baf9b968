package io.forksafe;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.net.InetAddress;
import org.junit.jupiter.api.Test;

class StatusEndpointTest {

    private final ForkRegistry registry = new ForkRegistry();

    @Test
    void loopbackClientsGetJsonByDefault() throws Exception {
        StatusEndpoint.Response r = StatusEndpoint.loopbackOnly(registry).respond("127.0.0.1", null);
        assertThat(r.status()).isEqualTo(200);
        assertThat(r.contentType()).startsWith("application/json");
        assertThat(new ObjectMapper().readTree(r.body()).get("status").asText()).isEqualTo("attempting auto-configure");
        assertThat(StatusEndpoint.loopbackOnly(registry).respond("::1", "json").status()).isEqualTo(200);
        assertThat(StatusEndpoint.loopbackOnly(registry).respond("[0:0:0:0:0:0:0:1]", "json").status()).isEqualTo(200);
    }

    @Test
    void textFormatServesTheDump() {
        StatusEndpoint.Response r = StatusEndpoint.loopbackOnly(registry).respond("127.0.0.1", "text");
        assertThat(r.status()).isEqualTo(200);
        assertThat(r.contentType()).startsWith("text/plain");
        assertThat(r.body()).startsWith("forksafe status: attempting auto-configure");
    }

    @Test
    void nonLoopbackClientsAreRefusedWithTheFix() {
        for (String remote : new String[] {"10.1.2.3", "192.168.0.5", "2001:db8::1", "not-an-ip.example", "", null}) {
            StatusEndpoint.Response r = StatusEndpoint.loopbackOnly(registry).respond(remote, null);
            assertThat(r.status()).as(String.valueOf(remote)).isEqualTo(403);
            assertThat(r.body()).contains("forksafe.status.allowRemote=true");
        }
    }

    @Test
    void remoteAccessIsAnExplicitChoice() throws Exception {
        InetAddress remote = InetAddress.getByName("10.1.2.3");
        assertThat(StatusEndpoint.loopbackOnly(registry).allowRemote(true).respond(remote, null).status()).isEqualTo(200);
        System.setProperty(StatusEndpoint.ALLOW_REMOTE_SETTING, "true");
        try {
            assertThat(StatusEndpoint.loopbackOnly(registry).respond(remote, null).status()).isEqualTo(200);
            assertThat(StatusEndpoint.loopbackOnly(registry).allowRemote(false).respond(remote, null).status())
                    .isEqualTo(403);
        } finally {
            System.clearProperty(StatusEndpoint.ALLOW_REMOTE_SETTING);
        }
    }

    @Test
    void thePolicyAloneIsTheSameRule() throws Exception {
        StatusEndpoint endpoint = StatusEndpoint.loopbackOnly(registry);
        InetAddress remote = InetAddress.getByName("10.1.2.3");
        assertThat(endpoint.admits(InetAddress.getLoopbackAddress())).isTrue();
        assertThat(endpoint.admits(InetAddress.getByName("::1"))).isTrue();
        assertThat(endpoint.admits(remote)).isFalse();
        assertThat(endpoint.admits(null)).isFalse();
        assertThat(endpoint.allowRemote(true).admits(remote)).isTrue();
        assertThat(endpoint.refused()).isEqualTo(endpoint.respond(remote, null));
        assertThat(endpoint.refused().status()).isEqualTo(403);
    }

    @Test
    void unknownFormatIsA400NamingTheChoices() {
        StatusEndpoint.Response r = StatusEndpoint.loopbackOnly(registry).respond("127.0.0.1", "yaml");
        assertThat(r.status()).isEqualTo(400);
        assertThat(r.body()).contains("format=json").contains("format=text");
    }

    @Test
    void aHostNameIsNeverResolvedSoItIsNotLoopback() {
        ForkRegistry registry = new ForkRegistry();
        assertThat(StatusEndpoint.loopbackOnly(registry).respond("localhost", "json").status()).isEqualTo(403);
        assertThat(StatusEndpoint.loopbackOnly(registry).respond("", "json").status()).isEqualTo(403);
        assertThat(StatusEndpoint.loopbackOnly(registry).respond("127.0.0.9", "json").status()).isEqualTo(200);
        assertThat(StatusEndpoint.loopbackOnly(registry).respond("[::1]", "text").status()).isEqualTo(200);
    }
}
