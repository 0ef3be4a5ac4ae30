package dev.safemerge.eval;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;

/** Values computed by src/test/python/golden.py (an independent Python implementation), committed as golden.json. */
public final class Golden {
    private static JsonNode root;

    private Golden() {}

    public static synchronized JsonNode get(String key) {
        if (root == null) {
            try (InputStream in = Golden.class.getResourceAsStream("golden.json")) {
                root = Json.MAPPER.readTree(in);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
        return root.get(key);
    }
}
