package io.forksafe.arbiter.internal;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Routes process signals to the supervisor with {@code sun.misc.Signal}. Verified on HotSpot 17 and 25: TERM, INT,
 * HUP, TTIN, TTOU (and USR1, USR2, WINCH, CHLD) can be handled; QUIT cannot (the JVM keeps it for thread dumps),
 * nor can KILL and STOP (no process can). Installing replaces the JVM's own TERM/INT/HUP handling, so the arbiter
 * JVM does not run its shutdown hooks on those signals; it stops its workers first and then exits.
 */
public final class Signals {

    private Signals() {
    }

    /**
     * Installs TERM/INT (stop), HUP (rolling restart), TTIN (+1 worker), TTOU (-1 worker).
     *
     * @return the signals installed, and for each one that could not be, why
     */
    public static Map<String, String> install(Supervisor supervisor) {
        return install(supervisor::requestStop, supervisor::requestReload, supervisor::requestIncrease,
                supervisor::requestDecrease);
    }

    /**
     * Installs TERM/INT ({@code stop}), HUP ({@code reload}), TTIN ({@code increase}), TTOU ({@code decrease}).
     *
     * @return the signals installed, and for each one that could not be, why
     */
    public static Map<String, String> install(Runnable stop, Runnable reload, Runnable increase, Runnable decrease) {
        Map<String, Runnable> actions = new LinkedHashMap<>();
        actions.put("TERM", stop);
        actions.put("INT", stop);
        actions.put("HUP", reload);
        actions.put("TTIN", increase);
        actions.put("TTOU", decrease);
        Map<String, String> result = new LinkedHashMap<>();
        List<String> failed = new ArrayList<>();
        actions.forEach((name, action) -> {
            try {
                sun.misc.Signal.handle(new sun.misc.Signal(name), sig -> action.run());
                result.put(name, "handled");
            } catch (IllegalArgumentException | LinkageError e) {
                result.put(name, "not handled: " + e.getMessage());
                failed.add(name);
            }
        });
        return result;
    }
}
