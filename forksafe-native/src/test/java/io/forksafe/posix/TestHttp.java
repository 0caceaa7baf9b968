package io.forksafe.posix;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.Locale;

/** The tests' HTTP client: one GET over a fresh connection to 127.0.0.1, bounded by connect and read timeouts. */
public final class TestHttp {

    private TestHttp() {
    }

    /** A GET over a fresh connection: {status line, body}, the body de-chunked when the reply was chunked. */
    public static String[] get(int port, String path) throws IOException {
        try (Socket s = new Socket()) {
            s.connect(new InetSocketAddress("127.0.0.1", port), 2000);
            s.setSoTimeout(10_000);
            s.getOutputStream().write(("GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
                    .getBytes(StandardCharsets.US_ASCII));
            ByteArrayOutputStream all = new ByteArrayOutputStream();
            s.getInputStream().transferTo(all);
            String r = all.toString(StandardCharsets.UTF_8);
            int headerEnd = r.indexOf("\r\n\r\n");
            if (headerEnd < 0) {
                throw new IOException("incomplete HTTP response from port " + port + ": " + r);
            }
            return new String[] {r.substring(0, r.indexOf("\r\n")),
                    dechunk(r.substring(0, headerEnd), r.substring(headerEnd + 4))};
        }
    }

    private static String dechunk(String headers, String body) {
        if (!headers.toLowerCase(Locale.ROOT).contains("transfer-encoding: chunked")) {
            return body;
        }
        StringBuilder out = new StringBuilder();
        int i = 0;
        while (i < body.length()) {
            int eol = body.indexOf("\r\n", i);
            int size = Integer.parseInt(body.substring(i, eol).trim(), 16);
            if (size == 0) {
                break;
            }
            out.append(body, eol + 2, eol + 2 + size);
            i = eol + 2 + size + 2;
        }
        return out.toString();
    }
}
