package io.forksafe.internal;

import java.time.Duration;
import java.time.Instant;
import java.util.Collection;
import java.util.Map;

/**
 * A minimal JSON writer for the status: maps, collections, arrays, strings, numbers, booleans, null, instants and
 * durations. Strings are escaped per RFC 8259. Anything else is written as its {@code toString()}.
 */
public final class Json {

    private Json() {
    }

    /** Renders {@code value} as compact-but-readable JSON (two-space indentation). */
    public static String write(Object value) {
        StringBuilder out = new StringBuilder(1024);
        write(out, value, 0);
        return out.toString();
    }

    private static void write(StringBuilder out, Object value, int depth) {
        if (value == null) {
            out.append("null");
        } else if (value instanceof String s) {
            string(out, s);
        } else if (value instanceof Boolean b) {
            out.append(b.booleanValue());
        } else if (value instanceof Double d && (d.isNaN() || d.isInfinite())) {
            out.append("null");
        } else if (value instanceof Float f && (f.isNaN() || f.isInfinite())) {
            out.append("null");
        } else if (value instanceof Number n) {
            out.append(n);
        } else if (value instanceof Instant i) {
            string(out, i.toString());
        } else if (value instanceof Duration d) {
            out.append(d.toNanos() / 1_000_000.0);
        } else if (value instanceof Map<?, ?> map) {
            object(out, map, depth);
        } else if (value instanceof Collection<?> c) {
            array(out, c.toArray(), depth);
        } else if (value instanceof Object[] a) {
            array(out, a, depth);
        } else if (value instanceof Enum<?> e) {
            string(out, e.name());
        } else {
            string(out, String.valueOf(value));
        }
    }

    private static void object(StringBuilder out, Map<?, ?> map, int depth) {
        if (map.isEmpty()) {
            out.append("{}");
            return;
        }
        out.append("{\n");
        int i = 0;
        for (Map.Entry<?, ?> e : map.entrySet()) {
            indent(out, depth + 1);
            string(out, String.valueOf(e.getKey()));
            out.append(": ");
            write(out, e.getValue(), depth + 1);
            out.append(++i < map.size() ? ",\n" : "\n");
        }
        indent(out, depth);
        out.append('}');
    }

    private static void array(StringBuilder out, Object[] items, int depth) {
        if (items.length == 0) {
            out.append("[]");
            return;
        }
        out.append("[\n");
        for (int i = 0; i < items.length; i++) {
            indent(out, depth + 1);
            write(out, items[i], depth + 1);
            out.append(i + 1 < items.length ? ",\n" : "\n");
        }
        indent(out, depth);
        out.append(']');
    }

    private static void indent(StringBuilder out, int depth) {
        out.append("  ".repeat(depth));
    }

    /** Appends {@code s} as a quoted, escaped JSON string. */
    public static void string(StringBuilder out, String s) {
        out.append('"');
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '"' -> out.append("\\\"");
                case '\\' -> out.append("\\\\");
                case '\n' -> out.append("\\n");
                case '\r' -> out.append("\\r");
                case '\t' -> out.append("\\t");
                case '\b' -> out.append("\\b");
                case '\f' -> out.append("\\f");
                default -> {
                    // Control characters, and U+2028/2029 so the output is also safe inside <script>.
                    if (c < 0x20 || c == '\u2028' || c == '\u2029' || c == '<' || c == '>' || c == '&') {
                        out.append(String.format("\\u%04x", (int) c));
                    } else {
                        out.append(c);
                    }
                }
            }
        }
        out.append('"');
    }
}
