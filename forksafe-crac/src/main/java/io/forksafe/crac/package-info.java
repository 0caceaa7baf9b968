/**
 * CRaC checkpoint/restore (and AWS Lambda SnapStart) as forksafe events. Entry point:
 * {@link io.forksafe.crac.ForksafeCrac#install()}.
 *
 * <pre>{@code
 * ForksafeCrac.install();
 * }</pre>
 */
package io.forksafe.crac;
