/**
 * Ready-made fixes for the objects that every application has to fix after a copy of the process (a CRaC or
 * SnapStart restore, a forking host): random generators ({@link io.forksafe.recipes.RandomReseed}, {@link io.forksafe.recipes.ForkSafeRandom}), and a
 * check that reports random values, UUIDs and timestamps captured before a copy and used after it
 * ({@link io.forksafe.recipes.CopyCheck}). Per-copy clients use {@link io.forksafe.ForkLocal}. The HikariCP pool recipe is
 * its own artifact, {@code forksafe-hikari} ({@code io.forksafe.hikari.HikariPoolRecipe}).
 *
 * <pre>{@code
 * RandomReseed.install(Forksafe.registry(), tokenRandom);
 * }</pre>
 */
package io.forksafe.recipes;
