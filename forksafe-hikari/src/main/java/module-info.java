/**
 * forksafe HikariCP: the pool recipe ({@code io.forksafe.hikari.HikariPoolRecipe}), so that no copy of the process
 * (a forked or spawned worker, a restored snapshot) reuses the connections another copy holds.
 */
module io.forksafe.hikari {
    requires transitive io.forksafe.core;
    requires static com.zaxxer.hikari;
    requires static java.sql;

    exports io.forksafe.hikari;
}
