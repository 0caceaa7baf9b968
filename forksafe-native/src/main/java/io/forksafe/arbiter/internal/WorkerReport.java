package io.forksafe.arbiter.internal;

import io.forksafe.ForksafeStatus;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * What a worker tells the arbiter about its own health: its configuration errors, its failing hooks, its hook
 * runs by event type and its notes, as four control-channel lines (see {@link ControlProtocol}). Each line carries
 * the whole current list and replaces the previous one, so a lost or repeated line is harmless.
 *
 * <pre>
 * errors [&lt;text&gt; ...]
 * hook-failures [&lt;subscriber&gt;,&lt;event&gt;,&lt;failures&gt;,&lt;lastError&gt; ...]
 * hooks [&lt;event&gt;,&lt;runs&gt;,&lt;failures&gt; ...]
 * notes [&lt;key&gt;,&lt;text&gt; ...]
 * </pre>
 *
 * Every field is percent-encoded UTF-8: only {@code A-Z a-z 0-9 - . _} stay as they are, everything else (space,
 * comma, {@code %}, {@code ~}, quotes, angle brackets, newlines, any non-ASCII) becomes {@code %XX}; a null field is
 * {@code ~}. So a line is printable ASCII without a newline whatever the worker's messages contain, and fields split
 * on space and comma. Both sides bound the lists ({@link #MAX_ITEMS}) and the texts ({@link #MAX_TEXT}); the
 * arbiter also makes every decoded text one printable line ({@link #oneLine}) because it is untrusted.
 *
 * @param errors       the worker's configuration errors ({@code status().errors()}), oldest first
 * @param hookFailures the worker's hooks that failed at least once ({@code status().executedHooks()})
 * @param hooks        the worker's hook runs and failures summed by event type, in the order of the event types
 * @param notes        the worker's notes ({@code status().notes()})
 */
public record WorkerReport(List<String> errors, List<HookFailure> hookFailures, List<HookRuns> hooks,
                           List<Note> notes) {

    /** The most errors, and the most hook failures, one report carries. */
    public static final int MAX_ITEMS = 16;
    /** The longest text (in chars) one field carries; longer ones are cut and end with "...". */
    public static final int MAX_TEXT = 500;

    static final String ERRORS = "errors";
    static final String HOOK_FAILURES = "hook-failures";
    static final String HOOKS = "hooks";
    static final String NOTES = "notes";
    private static final String NULL = "~";
    private static final char[] HEX = "0123456789ABCDEF".toCharArray();

    /** An empty report. */
    public static final WorkerReport NONE = new WorkerReport(List.of(), List.of(), List.of(), List.of());

    /**
     * One hook that failed in the worker.
     *
     * @param subscriber the subscription's name
     * @param event      the event type, for example "PostWorkerInit"
     * @param failures   how many of its runs threw
     * @param lastError  the last failure, "class: message" (already redacted by the worker's status), or null
     */
    public record HookFailure(String subscriber, String event, long failures, String lastError) {
    }

    /**
     * How often a worker's hooks ran for one event type, all subscribers together.
     *
     * @param event    the event type, for example "PostFork"
     * @param runs     how many hook runs (each subscriber's run counts once)
     * @param failures how many of them threw
     */
    public record HookRuns(String event, long runs, long failures) {
    }

    /**
     * One of a worker's notes: a plain statement from an adapter or the application.
     *
     * @param key  what it is about ("forksafe-jetty.connector")
     * @param text the statement
     */
    public record Note(String key, String text) {
    }

    /** A report of errors and failing hooks only. */
    public WorkerReport(List<String> errors, List<HookFailure> hookFailures) {
        this(errors, hookFailures, List.of(), List.of());
    }

    public WorkerReport {
        errors = List.copyOf(errors.subList(0, Math.min(MAX_ITEMS, errors.size())).stream()
                .map(WorkerReport::cut).toList());
        hookFailures = List.copyOf(hookFailures.subList(0, Math.min(MAX_ITEMS, hookFailures.size())).stream()
                .map(h -> new HookFailure(cut(h.subscriber()), cut(h.event()), h.failures(), cut(h.lastError())))
                .toList());
        hooks = List.copyOf(hooks.subList(0, Math.min(MAX_ITEMS, hooks.size())).stream()
                .map(h -> new HookRuns(cut(h.event()), h.runs(), h.failures())).toList());
        notes = List.copyOf(notes.subList(0, Math.min(MAX_ITEMS, notes.size())).stream()
                .map(n -> new Note(cut(n.key()), cut(n.text()))).toList());
    }

    /** The errors and failing hooks of a worker's status, bounded: the newest errors, the first failing hooks. */
    public static WorkerReport of(ForksafeStatus status) {
        List<String> errors = status.errors();
        List<HookFailure> failures = new ArrayList<>();
        for (ForksafeStatus.HookExecution h : status.executedHooks()) {
            if (h.failures() > 0 && failures.size() < MAX_ITEMS) {
                failures.add(new HookFailure(h.subscriber(), h.event(), h.failures(), h.lastError()));
            }
        }
        List<HookRuns> hooks = new ArrayList<>();
        for (HookRuns h : hookRunsByEvent(status)) {
            if (h.runs() > 0) {
                hooks.add(h);
            }
        }
        List<Note> notes = new ArrayList<>();
        status.notes().forEach((key, text) -> notes.add(new Note(key, text)));
        return new WorkerReport(errors.subList(Math.max(0, errors.size() - MAX_ITEMS), errors.size()), failures,
                hooks, notes);
    }


    /**
     * The hook runs and failures of {@code status}, summed by event type: every event type, in its declaration order
     * (0 for one that never ran), then any other event name the status has.
     */
    static List<HookRuns> hookRunsByEvent(ForksafeStatus status) {
        java.util.Map<String, long[]> byEvent = new java.util.LinkedHashMap<>();
        for (io.forksafe.EventType t : io.forksafe.EventType.values()) {
            byEvent.put(t.displayName(), new long[2]);
        }
        for (ForksafeStatus.HookExecution h : status.executedHooks()) {
            long[] sum = byEvent.computeIfAbsent(h.event(), e -> new long[2]);
            sum[0] += h.count();
            sum[1] += h.failures();
        }
        List<HookRuns> out = new ArrayList<>(byEvent.size());
        byEvent.forEach((event, sum) -> out.add(new HookRuns(event, sum[0], sum[1])));
        return out;
    }

    /** Whether there is nothing to report. */
    public boolean isEmpty() {
        return errors.isEmpty() && hookFailures.isEmpty() && hooks.isEmpty() && notes.isEmpty();
    }

    /** The {@code hooks ...} line (without the newline). */
    public String hooksLine() {
        StringBuilder b = new StringBuilder(HOOKS);
        for (HookRuns h : hooks) {
            b.append(' ').append(encode(h.event())).append(',').append(h.runs()).append(',').append(h.failures());
        }
        return b.toString();
    }

    /** The {@code notes ...} line (without the newline). */
    public String notesLine() {
        StringBuilder b = new StringBuilder(NOTES);
        for (Note n : notes) {
            b.append(' ').append(encode(n.key())).append(',').append(encode(n.text()));
        }
        return b.toString();
    }

    /** The {@code errors ...} line (without the newline). */
    public String errorsLine() {
        StringBuilder b = new StringBuilder(ERRORS);
        for (String e : errors) {
            b.append(' ').append(encode(e));
        }
        return b.toString();
    }

    /** The {@code hook-failures ...} line (without the newline). */
    public String hookFailuresLine() {
        StringBuilder b = new StringBuilder(HOOK_FAILURES);
        for (HookFailure h : hookFailures) {
            b.append(' ').append(encode(h.subscriber())).append(',').append(encode(h.event())).append(',')
                    .append(h.failures()).append(',').append(encode(h.lastError()));
        }
        return b.toString();
    }

    /** Whether {@code line} is a report line ({@code errors}, {@code hook-failures}, {@code hooks}, {@code notes}). */
    static boolean isReportLine(String line) {
        return isLine(line, ERRORS) || isLine(line, HOOK_FAILURES) || isLine(line, HOOKS) || isLine(line, NOTES);
    }

    private static boolean isLine(String line, String keyword) {
        return line.startsWith(keyword) && (line.length() == keyword.length() || line.charAt(keyword.length()) == ' ');
    }

    /**
     * This report with {@code line} applied: an {@code errors} line replaces the errors, a {@code hook-failures}
     * line the hook failures. Decoded texts are made one printable line.
     *
     * @throws IllegalArgumentException if the line is malformed (the caller ignores it)
     */
    public WorkerReport apply(String line) {
        if (isLine(line, ERRORS)) {
            List<String> out = new ArrayList<>();
            for (String field : fields(line, ERRORS)) {
                out.add(oneLine(decode(field)));
            }
            return new WorkerReport(out, hookFailures, hooks, notes);
        }
        if (isLine(line, HOOK_FAILURES)) {
            List<HookFailure> out = new ArrayList<>();
            for (String item : fields(line, HOOK_FAILURES)) {
                String[] f = split(item, 4, "a hook failure");
                out.add(new HookFailure(oneLine(decode(f[0])), oneLine(decode(f[1])), count(f[2]),
                        oneLine(decode(f[3]))));
            }
            return new WorkerReport(errors, out, hooks, notes);
        }
        if (isLine(line, HOOKS)) {
            List<HookRuns> out = new ArrayList<>();
            for (String item : fields(line, HOOKS)) {
                String[] f = split(item, 3, "a hook count");
                out.add(new HookRuns(oneLine(decode(f[0])), count(f[1]), count(f[2])));
            }
            return new WorkerReport(errors, hookFailures, out, notes);
        }
        if (isLine(line, NOTES)) {
            List<Note> out = new ArrayList<>();
            for (String item : fields(line, NOTES)) {
                String[] f = split(item, 2, "a note");
                out.add(new Note(oneLine(decode(f[0])), oneLine(decode(f[1]))));
            }
            return new WorkerReport(errors, hookFailures, hooks, out);
        }
        throw new IllegalArgumentException("not a report line");
    }

    private static String[] split(String item, int fields, String what) {
        String[] f = item.split(",", -1);
        if (f.length != fields) {
            throw new IllegalArgumentException(what + " has " + fields + " fields, got " + f.length);
        }
        return f;
    }

    /** A count field: a decimal number, never negative. */
    private static long count(String field) {
        long n = Long.parseLong(field);
        if (n < 0) {
            throw new IllegalArgumentException("negative count " + n);
        }
        return n;
    }

    private static List<String> fields(String line, String keyword) {
        if (line.length() == keyword.length()) {
            return List.of();
        }
        String[] f = line.substring(keyword.length() + 1).split(" ", -1);
        return List.of(f).subList(0, Math.min(MAX_ITEMS, f.length));
    }

    /** Percent-encodes {@code text} (UTF-8); null becomes {@code ~}. */
    static String encode(String text) {
        if (text == null) {
            return NULL;
        }
        StringBuilder b = new StringBuilder(text.length() + 16);
        for (byte x : text.getBytes(StandardCharsets.UTF_8)) {
            int c = x & 0xff;
            if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.'
                    || c == '_') {
                b.append((char) c);
            } else {
                b.append('%').append(HEX[c >> 4]).append(HEX[c & 0xf]);
            }
        }
        return b.toString();
    }

    /**
     * Reverses {@link #encode}; malformed UTF-8 becomes U+FFFD.
     *
     * @throws IllegalArgumentException on a character that encode never writes, or a broken {@code %XX}
     */
    static String decode(String field) {
        if (field.equals(NULL)) {
            return null;
        }
        ByteArrayOutputStream bytes = new ByteArrayOutputStream(field.length());
        for (int i = 0; i < field.length(); i++) {
            char c = field.charAt(i);
            if (c == '%') {
                if (i + 2 >= field.length()) {
                    throw new IllegalArgumentException("truncated %XX escape");
                }
                int hi = Character.digit(field.charAt(i + 1), 16);
                int lo = Character.digit(field.charAt(i + 2), 16);
                if (hi < 0 || lo < 0) {
                    throw new IllegalArgumentException("bad %XX escape");
                }
                bytes.write(hi << 4 | lo);
                i += 2;
            } else if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-'
                    || c == '.' || c == '_') {
                bytes.write(c);
            } else {
                throw new IllegalArgumentException("unencoded character " + (int) c);
            }
        }
        return bytes.toString(StandardCharsets.UTF_8);
    }

    /**
     * {@code text} as one printable line: line breaks, other control characters and the Unicode line and paragraph
     * separators become visible escapes ({@code \n}, {@code \u0007}); null stays null. HTML and JSON escaping is the
     * renderer's job (forksafe's JSON escapes {@code <}, {@code >} and {@code &}).
     */
    public static String oneLine(String text) {
        if (text == null) {
            return null;
        }
        StringBuilder b = new StringBuilder(text.length());
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            switch (c) {
                case '\n' -> b.append("\\n");
                case '\r' -> b.append("\\r");
                case '\t' -> b.append("\\t");
                default -> {
                    if (c < 0x20 || (c >= 0x7f && c <= 0x9f) || c == '\u2028' || c == '\u2029') {
                        b.append(String.format("\\u%04x", (int) c));
                    } else {
                        b.append(c);
                    }
                }
            }
        }
        return cut(b.toString());
    }

    private static String cut(String text) {
        if (text == null || text.length() <= MAX_TEXT) {
            return text;
        }
        int end = MAX_TEXT - 3;
        if (Character.isHighSurrogate(text.charAt(end - 1))) {
            end--;
        }
        return text.substring(0, end) + "...";
    }
}
