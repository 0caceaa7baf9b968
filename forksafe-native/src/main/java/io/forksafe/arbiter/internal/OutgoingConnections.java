package io.forksafe.arbiter.internal;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

/** The TCP connections a process opened itself, which must not go into a checkpoint image. */
public final class OutgoingConnections {

    private OutgoingConnections() {
    }

    /**
     * The remote ends of {@code pid}'s TCP connections that it opened itself (its local port is not one it listens
     * on), from {@code /proc/<pid>/net/tcp{,6}} and its socket descriptors.
     */
    public static List<String> of(long pid) throws IOException {
        java.util.Set<String> inodes = new java.util.HashSet<>();
        try (Stream<Path> fds = Files.list(Path.of("/proc/" + pid + "/fd"))) {
            for (Path fd : (Iterable<Path>) fds::iterator) {
                try {
                    String link = Files.readSymbolicLink(fd).toString();
                    if (link.startsWith("socket:[")) {
                        inodes.add(link.substring(8, link.length() - 1));
                    }
                } catch (IOException ignored) {
                    // closed meanwhile
                }
            }
        }
        List<String[]> rows = new ArrayList<>();
        for (String table : List.of("tcp", "tcp6")) {
            Path f = Path.of("/proc/" + pid + "/net/" + table);
            if (Files.exists(f)) {
                List<String> lines = Files.readAllLines(f);
                for (String line : lines.subList(Math.min(1, lines.size()), lines.size())) {
                    String[] c = line.strip().split("\\s+");
                    if (c.length > 9 && inodes.contains(c[9])) {
                        rows.add(c);
                    }
                }
            }
        }
        java.util.Set<String> listening = new java.util.HashSet<>();
        for (String[] c : rows) {
            if (c[3].equals("0A")) {
                listening.add(c[1].substring(c[1].indexOf(':') + 1));
            }
        }
        List<String> outgoing = new ArrayList<>();
        for (String[] c : rows) {
            String localPort = c[1].substring(c[1].indexOf(':') + 1);
            if (!c[3].equals("0A") && !c[3].equals("07") && !listening.contains(localPort)) {
                outgoing.add(hexAddress(c[2]));
            }
        }
        return outgoing;
    }

    private static String hexAddress(String hex) {
        int colon = hex.indexOf(':');
        String a = hex.substring(0, colon);
        int port = Integer.parseInt(hex.substring(colon + 1), 16);
        if (a.length() == 8) {
            int v = (int) Long.parseLong(a, 16);
            return (v & 0xff) + "." + ((v >> 8) & 0xff) + "." + ((v >> 16) & 0xff) + "." + ((v >>> 24) & 0xff) + ":" + port;
        }
        if (a.equals("0000000000000000FFFF0000" + a.substring(24))) {
            return hexAddress(a.substring(24) + ":" + hex.substring(colon + 1));
        }
        return "[" + a + "]:" + port;
    }

}
