package dev.safemerge.tensor;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.List;

/**
 * Typed access to the keys of one JSON config object (config.json, generation_config.json), with one-line messages
 * that name the file and the key. Accessors tell an absent key (the caller's default) from an explicit null.
 *
 * @param where the file (and object inside it) named in messages
 */
public record ConfigKeys(JsonNode node, String where) {

    /** The keys of {@code root}, which must be a JSON object. */
    public static ConfigKeys of(JsonNode root, String where) {
        if (root == null || !root.isObject()) {
            throw new BadInputException(where + ": not a JSON object");
        }
        return new ConfigKeys(root, where);
    }

    private JsonNode present(String key) {
        JsonNode value = node.get(key);
        return value == null || value.isNull() ? null : value;
    }

    private BadInputException bad(String key, String expected, JsonNode value) {
        return new BadInputException(where + ": key '" + key + "' must be " + expected + ", got " + value);
    }

    /** True when the key is present and not null. */
    public boolean has(String key) {
        return present(key) != null;
    }

    public int requiredPositiveInt(String key) {
        if (present(key) == null) {
            throw new BadInputException(where + ": missing key '" + key + "'");
        }
        return positiveInt(key, null);
    }

    /** An absent key gives {@code absent}; an explicit null gives null. */
    public Integer positiveInt(String key, Integer absent) {
        JsonNode value = node.get(key);
        if (value == null) {
            return absent;
        }
        if (value.isNull()) {
            return null;
        }
        if (!value.isIntegralNumber() || !value.canConvertToInt() || value.asInt() <= 0) {
            throw bad(key, "a positive integer", value);
        }
        return value.asInt();
    }

    /** An absent or null key gives {@code absent}. */
    public int nonNegativeInt(String key, int absent) {
        JsonNode value = present(key);
        if (value == null) {
            return absent;
        }
        if (!value.isIntegralNumber() || !value.canConvertToInt() || value.asInt() < 0) {
            throw bad(key, "a non-negative integer", value);
        }
        return value.asInt();
    }

    /** An absent key gives {@code absent}; an explicit null gives null. */
    public Integer nonNegativeIntOrNull(String key, Integer absent) {
        JsonNode value = node.get(key);
        if (value == null) {
            return absent;
        }
        if (value.isNull()) {
            return null;
        }
        if (!value.isIntegralNumber() || !value.canConvertToInt() || value.asInt() < 0) {
            throw bad(key, "a non-negative integer", value);
        }
        return value.asInt();
    }

    /** A non-negative integer or a list of them (a single int becomes one element); null when absent or null. */
    public List<Integer> nonNegativeIntList(String key) {
        JsonNode value = present(key);
        if (value == null) {
            return null;
        }
        List<Integer> ids = new ArrayList<>();
        Iterable<JsonNode> elements = value.isArray() ? value : List.of(value);
        for (JsonNode element : elements) {
            if (!element.isIntegralNumber() || !element.canConvertToInt() || element.asInt() < 0) {
                throw bad(key, "a non-negative integer or a list of them", element);
            }
            ids.add(element.asInt());
        }
        return ids;
    }

    /** An absent key gives {@code absent}; an explicit null gives null. */
    public Double positiveDouble(String key, Double absent) {
        JsonNode value = node.get(key);
        if (value == null) {
            return absent;
        }
        if (value.isNull()) {
            return null;
        }
        if (!value.isNumber() || !(value.asDouble() > 0) || Double.isInfinite(value.asDouble())) {
            throw bad(key, "a positive number", value);
        }
        return value.asDouble();
    }

    /** Any finite number; an absent or null key gives {@code absent}. */
    public double finiteDouble(String key, double absent) {
        JsonNode value = present(key);
        if (value == null) {
            return absent;
        }
        if (!value.isNumber() || !Double.isFinite(value.asDouble())) {
            throw bad(key, "a number", value);
        }
        return value.asDouble();
    }

    /** An absent or null key gives {@code absent}. */
    public boolean bool(String key, boolean absent) {
        JsonNode value = present(key);
        if (value == null) {
            return absent;
        }
        if (!value.isBoolean()) {
            throw bad(key, "true or false", value);
        }
        return value.asBoolean();
    }

    /** An absent key gives {@code absent}; an explicit null gives null. */
    public String string(String key, String absent) {
        JsonNode value = node.get(key);
        if (value == null) {
            return absent;
        }
        if (value.isNull()) {
            return null;
        }
        if (!value.isTextual()) {
            throw bad(key, "a string", value);
        }
        return value.asText();
    }

    /** The keys of a nested object, named {@code where key} in messages; null when absent or null. */
    public ConfigKeys object(String key) {
        JsonNode value = present(key);
        if (value == null) {
            return null;
        }
        if (!value.isObject()) {
            throw new BadInputException(where + ": key '" + key + "' must be an object");
        }
        return new ConfigKeys(value, where + " " + key);
    }
}
