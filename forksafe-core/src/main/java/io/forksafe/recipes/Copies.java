package io.forksafe.recipes;

import io.forksafe.ForkEvent;

import java.util.Set;

/** Which events mean "this process's memory is (about to be) copied". */
final class Copies {

    /** The classes a tracked value passes through on its way to user code. */
    private static final Set<String> PLUMBING = Set.of(Copies.class.getName(), CopyCheck.class.getName(),
            CopyCheck.Captured.class.getName(), TrackedRandom.class.getName(), ForkSafeRandom.class.getName());

    private Copies() {
    }

    /**
     * {@code true} for events about a process or a restored snapshot. Worker threads share the process's memory,
     * so their events never mean a copy.
     */
    static boolean isCopy(ForkEvent event) {
        return event.worker().kind().copiesMemory();
    }

    /** The first stack frame outside this plumbing and the JDK: where user code touched a value. */
    static String callerLocation() {
        return StackWalker.getInstance().walk(frames -> frames
                .filter(f -> !PLUMBING.contains(f.getClassName())
                        && !f.getClassName().startsWith("java.")
                        && !f.getClassName().startsWith("jdk."))
                .findFirst()
                .map(f -> f.getClassName() + "." + f.getMethodName() + "(" + f.getFileName() + ":"
                        + f.getLineNumber() + ")")
                .orElse("(unknown)"));
    }
}
