package io.forksafe.crac.testcrac;

/** Mirrors {@code jdk.crac.Context}. */
public abstract class Context<R extends Resource> implements Resource {
    protected Context() {
    }

    public abstract void register(R resource);
}
