/**
 * forksafe CRaC: checkpoint/restore notifications ({@code org.crac}) as forksafe events.
 * Only {@code io.forksafe.crac} is exported; the resource and the detection live in {@code ...crac.internal}.
 */
module io.forksafe.crac {
    requires transitive io.forksafe.core;
    requires transitive org.crac;
    requires java.management;

    exports io.forksafe.crac;
    // status sections are records in the internal package; core renders their components
    opens io.forksafe.crac.internal to io.forksafe.core;

    provides io.forksafe.spi.ContainerAdapter with io.forksafe.crac.internal.CracAdapter;
}
