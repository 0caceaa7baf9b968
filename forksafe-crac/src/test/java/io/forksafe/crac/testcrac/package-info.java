/**
 * A test double of the JDK's {@code jdk.crac} API for JVMs without CRaC. {@code org.crac} loads it when started
 * with {@code -Dorg.crac.Core.Compat=io.forksafe.crac.testcrac} (the same hook AWS Lambda's runtime uses), so the
 * real {@code org.crac} code (proxies, weak references, exception conversion) runs end to end. It follows the JDK's
 * documented contract: resources are held weakly; {@code beforeCheckpoint} runs in reverse registration order and
 * {@code afterRestore} in registration order; {@code afterRestore} runs even when the checkpoint failed; a
 * resource's {@code CheckpointException} is flattened into its suppressed exceptions (as
 * {@code jdk.crac.impl.AbstractContextImpl} does). No memory is copied: the "restore" is the same process.
 */
package io.forksafe.crac.testcrac;
