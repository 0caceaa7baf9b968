package io.forksafe.arbiter.internal;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The one reading of the arbiter's option values, shared by {@code ArbiterConfig.Builder} and the command line, so
 * a form accepted in one place is accepted everywhere. Each failure names the option, the value and a form that
 * works.
 */
public final class OptionValues {

    /** Forms shown in messages, --help and the docs. */
    public static final String DURATION_FORMS = "30, 30s, 1.5s, 500ms, 2m or 1h";
    public static final String SIZE_FORMS = "1048576, 512k, 10m or 1g";
    public static final String BIND_FORMS = "8080, :8080, 127.0.0.1:8080, 0.0.0.0:8080, [::1]:8080 or localhost:8080";

    // A decimal number and an optional unit; no sign, no exponent, no spaces inside.
    private static final Pattern DURATION = Pattern.compile("(\\d+(?:\\.\\d+)?)(ms|s|m|h)?");
    private static final Pattern SIZE = Pattern.compile("(\\d+)([kmg])?");

    private OptionValues() {
    }

    /**
     * A duration: a decimal number with an optional unit {@code ms}, {@code s} (the default), {@code m} or
     * {@code h}, case-insensitive, that comes to a whole number of milliseconds: {@code 30}, {@code 30s},
     * {@code 1.5s}, {@code 500ms}, {@code 2m}, {@code 1h}. Negative values and anything else are refused.
     */
    public static Duration duration(String option, String value) {
        String s = value == null ? "" : value.strip().toLowerCase(Locale.ROOT);
        Matcher m = DURATION.matcher(s);
        if (!m.matches()) {
            throw new IllegalArgumentException(option + " needs a duration such as " + DURATION_FORMS + ", got '"
                    + value + "'");
        }
        String unit = m.group(2) == null ? "s" : m.group(2);
        java.math.BigDecimal millis = new java.math.BigDecimal(m.group(1)).multiply(java.math.BigDecimal.valueOf(
                switch (unit) {
                    case "ms" -> 1L;
                    case "s" -> 1000L;
                    case "m" -> 60_000L;
                    default -> 3_600_000L;
                }));
        try {
            return Duration.ofMillis(millis.longValueExact());
        } catch (ArithmeticException e) {
            throw new IllegalArgumentException(option + " needs a whole number of milliseconds, got '" + value
                    + "': write it in ms, e.g. " + millis.setScale(0, java.math.RoundingMode.HALF_UP) + "ms");
        }
    }

    /** A size in bytes: digits with an optional binary suffix {@code k}, {@code m} or {@code g} (case-insensitive). */
    public static long size(String option, String value) {
        String s = value == null ? "" : value.strip().toLowerCase(Locale.ROOT);
        Matcher m = SIZE.matcher(s);
        if (!m.matches()) {
            throw new IllegalArgumentException(option + " needs a size such as " + SIZE_FORMS + ", got '" + value
                    + "'");
        }
        long mult = m.group(2) == null ? 1L : switch (m.group(2)) {
            case "k" -> 1024L;
            case "m" -> 1024L * 1024;
            default -> 1024L * 1024 * 1024;
        };
        try {
            return Math.multiplyExact(Long.parseLong(m.group(1)), mult);
        } catch (ArithmeticException | NumberFormatException e) {
            throw new IllegalArgumentException(option + " is too large: '" + value + "'");
        }
    }

    /** A whole number (an optional minus sign and digits); ranges are checked where the value is used. */
    public static int integer(String option, String value) {
        try {
            return Integer.parseInt(value == null ? "" : value.strip());
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(option + " needs a whole number, got '" + value + "'");
        }
    }

    /** A file system path; empty is refused. */
    public static Path path(String option, String value) {
        if (value == null || value.isBlank()) {
            throw new IllegalArgumentException(option + " needs a path, got an empty value");
        }
        try {
            return Path.of(value);
        } catch (java.nio.file.InvalidPathException e) {
            throw new IllegalArgumentException(option + " needs a path, got '" + value + "': " + e.getReason());
        }
    }

    /**
     * A listening address: {@code PORT} or {@code :PORT} (loopback), {@code HOST:PORT} with an IPv4 address or a
     * resolvable name, {@code [IPV6]:PORT}. Port 0 means an ephemeral port.
     */
    public static InetSocketAddress bind(String option, String value) {
        if (value == null || value.isBlank()) {
            throw new IllegalArgumentException(option + " is empty: use " + BIND_FORMS);
        }
        String s = value.strip();
        String host;
        String port;
        if (s.chars().allMatch(Character::isDigit)) {
            host = "";
            port = s;
        } else if (s.startsWith("[")) {
            int close = s.indexOf(']');
            if (close < 0 || close + 1 >= s.length() || s.charAt(close + 1) != ':') {
                throw new IllegalArgumentException("bad bind address '" + value + "' (" + option
                        + "): write an IPv6 address as [::1]:8080");
            }
            host = s.substring(1, close);
            port = s.substring(close + 2);
        } else {
            int colon = s.lastIndexOf(':');
            if (colon < 0) {
                throw new IllegalArgumentException("bad bind address '" + value + "' (" + option + "): add a port, "
                        + "use " + BIND_FORMS);
            }
            if (s.indexOf(':') != colon) {
                throw new IllegalArgumentException("bad bind address '" + value + "' (" + option
                        + "): put an IPv6 address in brackets, e.g. [::1]:8080");
            }
            host = s.substring(0, colon);
            port = s.substring(colon + 1);
        }
        int p;
        try {
            p = Integer.parseInt(port);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("bad port in bind address '" + value + "' (" + option
                    + "): use a number 0..65535");
        }
        if (p < 0 || p > 65535) {
            throw new IllegalArgumentException("port out of range in bind address '" + value + "' (" + option
                    + "): use 0..65535");
        }
        try {
            InetAddress addr = host.isEmpty() ? InetAddress.getLoopbackAddress() : InetAddress.getByName(host);
            return new InetSocketAddress(addr, p);
        } catch (UnknownHostException e) {
            throw new IllegalArgumentException("unknown host in bind address '" + value + "' (" + option
                    + "): use an IP address or a resolvable name");
        }
    }
}
