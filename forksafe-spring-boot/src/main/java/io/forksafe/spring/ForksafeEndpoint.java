package io.forksafe.spring;

import io.forksafe.ForkRegistry;

import org.springframework.boot.actuate.endpoint.annotation.Endpoint;
import org.springframework.boot.actuate.endpoint.annotation.ReadOperation;

/**
 * forksafe's status as the Actuator endpoint {@code forksafe} ({@code GET /actuator/forksafe}): the same document as
 * every other forksafe status endpoint (settings and hook errors redacted), with a {@code details.spring} section.
 * Like every Actuator endpoint beyond {@code health}, it is served over HTTP only once exposed:
 *
 * <pre>{@code
 * management.endpoints.web.exposure.include=health,forksafe
 * }</pre>
 */
@Endpoint(id = "forksafe")
public class ForksafeEndpoint {

    private final ForkRegistry registry;

    /** An endpoint for {@code registry}'s status. */
    public ForksafeEndpoint(ForkRegistry registry) {
        this.registry = registry;
    }

    /**
     * The status, as the JSON document every forksafe status endpoint serves. A string: Actuator writes it as it is
     * (no second rendering by the application's JSON mapper that could differ from the other endpoints').
     */
    @ReadOperation(produces = "application/json")
    public String status() {
        return registry.status().toJson();
    }
}
