package io.forksafe.internal;

import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;

/** Hides settings values whose key looks secret. */
public final class Redaction {

    /** What a redacted value is replaced with. */
    public static final String MASK = "<redacted>";

    private static final String[] SECRET_WORDS = {"password", "passwd", "secret", "token", "key", "credential"};

    private Redaction() {
    }

    /** {@code true} when {@code key} contains password, secret, token, key or credential, in any case. */
    public static boolean isSecret(String key) {
        String k = key.toLowerCase(Locale.ROOT);
        for (String word : SECRET_WORDS) {
            if (k.contains(word)) {
                return true;
            }
        }
        return false;
    }

    /** A sorted copy of {@code settings} with every secret value replaced by {@link #MASK}. */
    public static Map<String, String> redact(Map<String, String> settings) {
        Map<String, String> out = new TreeMap<>();
        settings.forEach((k, v) -> out.put(k, isSecret(k) ? MASK : v));
        return out;
    }

    /** Redacts every value in {@code text} that a secret setting holds, for free-form strings such as errors. */
    public static String scrub(String text, Map<String, String> settings) {
        if (text == null) {
            return null;
        }
        String result = text;
        for (Map.Entry<String, String> e : new LinkedHashMap<>(settings).entrySet()) {
            String v = e.getValue();
            if (v != null && v.length() >= 4 && isSecret(e.getKey())) {
                result = result.replace(v, MASK);
            }
        }
        return result;
    }
}
