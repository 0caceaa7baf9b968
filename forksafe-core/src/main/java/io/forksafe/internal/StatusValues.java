package io.forksafe.internal;

import java.lang.reflect.RecordComponent;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Turns a status section into plain values once, when the status snapshot is taken: records become maps of their
 * components in declaration order, enums their names, collections and arrays lists, maps ordered maps. JSON, the text
 * dump and the JMX attributes all render that same snapshot, so a section is a typed record in the code and looks the
 * same everywhere. A section record must be a public type that its module exports (its accessors are called
 * reflectively from this module); one that is not renders its components as "unavailable: ...". Not API.
 */
public final class StatusValues {

    private static final int MAX_DEPTH = 16;

    private StatusValues() {
    }

    /** {@code value} as plain maps, lists, strings, numbers and booleans (times and durations stay as they are). */
    public static Object plain(Object value) {
        return plain(value, 0);
    }

    private static Object plain(Object value, int depth) {
        if (value == null || depth > MAX_DEPTH) {
            return value == null ? null : String.valueOf(value);
        }
        if (value instanceof Record r) {
            Map<String, Object> m = new LinkedHashMap<>();
            for (RecordComponent c : r.getClass().getRecordComponents()) {
                try {
                    m.put(c.getName(), plain(c.getAccessor().invoke(r), depth + 1));
                } catch (ReflectiveOperationException | RuntimeException e) {
                    m.put(c.getName(), "unavailable: " + e);
                }
            }
            return m;
        }
        if (value instanceof Map<?, ?> map) {
            Map<String, Object> m = new LinkedHashMap<>();
            map.forEach((k, v) -> m.put(String.valueOf(k), plain(v, depth + 1)));
            return m;
        }
        if (value instanceof Collection<?> c) {
            List<Object> l = new ArrayList<>(c.size());
            c.forEach(v -> l.add(plain(v, depth + 1)));
            return l;
        }
        if (value instanceof Object[] a) {
            return plain(java.util.Arrays.asList(a), depth);
        }
        if (value instanceof Optional<?> o) {
            return plain(o.orElse(null), depth);
        }
        if (value instanceof Enum<?> e) {
            return e.name();
        }
        return value;
    }
}
