package dev.safemerge.registry;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;

/** SHA-256 of text and files, as lowercase hex. */
public final class Hashing {
    private Hashing() {}

    public static String sha256Hex(String text) {
        return HexFormat.of().formatHex(digest().digest(text.getBytes(StandardCharsets.UTF_8)));
    }

    public static String sha256Hex(Path file) {
        MessageDigest digest = digest();
        byte[] buffer = new byte[1 << 20];
        try (InputStream in = Files.newInputStream(file)) {
            int n;
            while ((n = in.read(buffer)) > 0) {
                digest.update(buffer, 0, n);
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + file, e);
        }
        return HexFormat.of().formatHex(digest.digest());
    }

    /** A hash of several fields that no choice of field contents can make collide with another list of fields. */
    public static String sha256OfFields(String... fields) {
        StringBuilder framed = new StringBuilder();
        for (String field : fields) {
            String value = field == null ? "" : field;
            framed.append(field == null ? "-" : Integer.toString(value.length()))
                    .append(':')
                    .append(value)
                    .append('\n');
        }
        return sha256Hex(framed.toString());
    }

    private static MessageDigest digest() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
