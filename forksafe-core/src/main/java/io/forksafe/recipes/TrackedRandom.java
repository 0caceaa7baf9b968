package io.forksafe.recipes;

import java.util.Random;

/** A {@link Random} that delegates to another and tells a {@link CopyCheck} about every use. */
final class TrackedRandom extends Random {

    private static final long serialVersionUID = 1L;

    private final transient CopyCheck check;
    private final transient String name;
    private final transient Random delegate;
    private final transient long createdInCopy;

    TrackedRandom(CopyCheck check, String name, Random delegate, long createdInCopy) {
        this.check = check;
        this.name = name;
        this.delegate = delegate;
        this.createdInCopy = createdInCopy;
    }

    @Override
    protected int next(int bits) {
        check.used(name, delegate.getClass(), createdInCopy);
        return delegate.nextInt() >>> (32 - bits);
    }

    @Override
    public void setSeed(long seed) {
        if (delegate == null) {
            super.setSeed(seed); // called by Random's constructor, before the fields are set
            return;
        }
        delegate.setSeed(seed);
    }

    @Override
    public String toString() {
        return "TrackedRandom[" + name + " -> " + delegate + "]";
    }
}
