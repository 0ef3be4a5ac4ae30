package dev.safemerge.tensor;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;

/**
 * What checkpoint-level code (merging, inspecting, writing) needs from a Hugging Face {@code config.json}: only the
 * keys read here are validated, and none has a default. The model module's {@code ModelConfig} reads the whole file
 * with each transformers config class's defaults.
 *
 * @param architecture the first entry of the architectures list, or null when the file has none
 * @param torchDtype {@code torch_dtype} or {@code dtype} as written ("bfloat16"), or null
 * @param raw the whole parsed file, copied into merged models
 */
public record CheckpointConfig(
        String architecture, String modelType, int numHiddenLayers, int vocabSize, String torchDtype, JsonNode raw) {

    private static final ObjectMapper JSON = JsonMappers.strict();

    /** Reads a config.json file and the keys of this view. */
    public static CheckpointConfig read(Path configJson) {
        String file = configJson.toString();
        ConfigKeys keys = ConfigKeys.of(parse(configJson), file);
        String modelType = modelType(keys);
        String architecture = architecture(keys);
        int vocabSize = keys.requiredPositiveInt("vocab_size");
        int layers = keys.requiredPositiveInt("num_hidden_layers");
        return new CheckpointConfig(architecture, modelType, layers, vocabSize, torchDtype(keys), keys.node());
    }

    /** Parses a config.json file; a missing file or invalid JSON is a one-line {@link BadInputException}. */
    public static JsonNode parse(Path configJson) {
        String file = configJson.toString();
        try {
            return JSON.readTree(Files.readString(configJson));
        } catch (NoSuchFileException e) {
            throw new BadInputException(file + ": no such file (a model directory needs its config.json)", e);
        } catch (IOException e) {
            throw new BadInputException(file + ": not valid JSON: " + BadInputException.firstLine(e.getMessage()), e);
        }
    }

    /** The required {@code model_type}. */
    public static String modelType(ConfigKeys keys) {
        String modelType = keys.string("model_type", null);
        if (modelType == null) {
            throw new BadInputException(keys.where() + ": missing key 'model_type'");
        }
        return modelType;
    }

    /** The first entry of {@code architectures}, or null when the file has none. */
    public static String architecture(ConfigKeys keys) {
        JsonNode architectures = keys.node().get("architectures");
        if (architectures == null || architectures.isNull()) {
            return null;
        }
        if (!architectures.isArray()
                || architectures.isEmpty()
                || !architectures.get(0).isTextual()) {
            throw new BadInputException(keys.where() + ": key 'architectures' must be a non-empty list of strings");
        }
        return architectures.get(0).asText();
    }

    /** {@code torch_dtype}, or transformers v5's {@code dtype}, as written; null when neither is set. */
    public static String torchDtype(ConfigKeys keys) {
        String torchDtype = keys.string("torch_dtype", null);
        return torchDtype != null ? torchDtype : keys.string("dtype", null);
    }
}
