package dev.safemerge.model;

import com.fasterxml.jackson.databind.JsonNode;
import dev.safemerge.tensor.BadInputException;

/**
 * Typed access to a JSON config object that tells an absent key (use the model class's default) from an explicit
 * null (feature off), and names the file and key in every error.
 */
record ConfigReader(JsonNode root, String file) {
    boolean has(String key) {
        return root.has(key);
    }

    boolean isNull(String key) {
        return root.has(key) && root.get(key).isNull();
    }

    int requiredInt(String key) {
        JsonNode node = root.get(key);
        if (node == null || node.isNull()) {
            throw new BadInputException(file + ": required key '" + key + "' is missing");
        }
        return toInt(key, node);
    }

    int intOr(String key, int fallback) {
        JsonNode node = root.get(key);
        return node == null || node.isNull() ? fallback : toInt(key, node);
    }

    private int toInt(String key, JsonNode node) {
        if (!node.isIntegralNumber() || !node.canConvertToInt() || node.asInt() < 0) {
            throw new BadInputException(file + ": key '" + key + "' must be a non-negative integer, got " + node);
        }
        return node.asInt();
    }

    double doubleOr(String key, double fallback) {
        JsonNode node = root.get(key);
        if (node == null || node.isNull()) {
            return fallback;
        }
        if (!node.isNumber() || !Double.isFinite(node.asDouble())) {
            throw new BadInputException(file + ": key '" + key + "' must be a number, got " + node);
        }
        return node.asDouble();
    }

    boolean boolOr(String key, boolean fallback) {
        JsonNode node = root.get(key);
        if (node == null || node.isNull()) {
            return fallback;
        }
        if (!node.isBoolean()) {
            throw new BadInputException(file + ": key '" + key + "' must be true or false, got " + node);
        }
        return node.asBoolean();
    }

    String stringOr(String key, String fallback) {
        JsonNode node = root.get(key);
        if (node == null || node.isNull()) {
            return fallback;
        }
        if (!node.isTextual()) {
            throw new BadInputException(file + ": key '" + key + "' must be a string, got " + node);
        }
        return node.asText();
    }

    /** A number, or 0 when the key is an explicit null; {@code fallback} when absent. */
    double optionalFeature(String key, double fallback) {
        if (!root.has(key)) {
            return fallback;
        }
        return isNull(key) ? 0 : doubleOr(key, fallback);
    }

    /** An int or a list of ints (e.g. eos_token_id); empty when absent or null. */
    int[] intList(String key) {
        JsonNode node = root.get(key);
        if (node == null || node.isNull()) {
            return new int[0];
        }
        if (node.isArray()) {
            int[] values = new int[node.size()];
            for (int i = 0; i < values.length; i++) {
                values[i] = toInt(key, node.get(i));
            }
            return values;
        }
        return new int[] {toInt(key, node)};
    }

    ConfigReader child(String key) {
        JsonNode node = root.get(key);
        if (node == null || node.isNull()) {
            return null;
        }
        if (!node.isObject()) {
            throw new BadInputException(file + ": key '" + key + "' must be an object, got " + node);
        }
        return new ConfigReader(node, file);
    }
}
