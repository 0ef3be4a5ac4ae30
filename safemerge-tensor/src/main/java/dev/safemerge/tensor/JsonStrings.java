package dev.safemerge.tensor;

import java.util.Locale;

/**
 * JSON string literals written by hand where output must match other tools byte for byte: serde_json (safetensors
 * headers) and Python's {@code json.dumps(ensure_ascii=False)} (chat templates' {@code tojson}) escape alike.
 */
public final class JsonStrings {
    private JsonStrings() {}

    /** Appends {@code value} quoted: short escapes where JSON has them, other control characters as \\u00xx. */
    public static void appendQuoted(StringBuilder json, String value) {
        json.append('"');
        for (int i = 0; i < value.length(); i++) {
            char c = value.charAt(i);
            switch (c) {
                case '"' -> json.append("\\\"");
                case '\\' -> json.append("\\\\");
                case '\b' -> json.append("\\b");
                case '\f' -> json.append("\\f");
                case '\n' -> json.append("\\n");
                case '\r' -> json.append("\\r");
                case '\t' -> json.append("\\t");
                default -> {
                    if (c < 0x20) {
                        json.append(String.format(Locale.ROOT, "\\u%04x", (int) c));
                    } else {
                        json.append(c);
                    }
                }
            }
        }
        json.append('"');
    }
}
