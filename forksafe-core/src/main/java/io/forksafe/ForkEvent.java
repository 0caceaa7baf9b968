package io.forksafe;

import java.time.Instant;
import java.util.Map;

/**
 * One container-neutral fork event. There are exactly six, one per point in a worker's life:
 *
 * <table>
 *   <caption>The events and where they run</caption>
 *   <tr><th>event</th><th>runs</th><th>order</th></tr>
 *   <tr><td>{@link PreFork}</td><td>in the parent, before a worker is created</td><td>reverse</td></tr>
 *   <tr><td>{@link PostFork}</td><td>in the new worker, before anything else runs there</td><td>forward</td></tr>
 *   <tr><td>{@link PostForkParent}</td><td>in the parent, once the worker exists</td><td>forward</td></tr>
 *   <tr><td>{@link PostWorkerInit}</td><td>in the worker, once its container serves</td><td>forward</td></tr>
 *   <tr><td>{@link WorkerExit}</td><td>in the worker, as it shuts down</td><td>forward</td></tr>
 *   <tr><td>{@link ChildExit}</td><td>in the parent, after the worker ended</td><td>forward</td></tr>
 * </table>
 *
 * <pre>{@code
 * Forksafe.subscribe(ForkEvent.class, e -> log.info("{} for {}", e.type(), e.worker()));
 * }</pre>
 */
public sealed interface ForkEvent permits PreFork, PostFork, PostForkParent, PostWorkerInit, WorkerExit, ChildExit {

    /** The worker this event is about (for parent-side events: the child). */
    WorkerInfo worker();

    /** The host that reported the event. */
    ContainerInfo container();

    /** Read-only settings: the container's configuration plus {@code forksafe.*} system properties. */
    Map<String, String> settings();

    /** When the event was created. */
    Instant at();

    /** The event's type, handy for switches and for the status. */
    EventType type();
}
