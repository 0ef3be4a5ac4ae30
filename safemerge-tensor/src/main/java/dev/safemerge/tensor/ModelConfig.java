package dev.safemerge.tensor;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The parts of a Hugging Face {@code config.json} that decoder-only models need. A key that is absent takes the
 * default of the transformers config class for the {@code model_type} (LlamaConfig, MistralConfig, Qwen2Config,
 * GemmaConfig, Gemma2Config; other types get LlamaConfig's defaults); an explicit JSON null turns a feature off.
 *
 * @param architecture the first entry of the architectures list, or null when the file has none
 * @param numKeyValueHeads {@code num_key_value_heads}; absent or null means {@code num_attention_heads} (MistralConfig:
 *     absent means 8)
 * @param headDim {@code head_dim}; absent or null means hidden/heads (Gemma and Gemma2: 256)
 * @param ropeTheta from {@code rope_theta} or {@code rope_parameters.rope_theta}
 * @param ropeScaling from {@code rope_scaling} or {@code rope_parameters}; null when absent or of type "default"
 * @param torchDtype {@code torch_dtype} or {@code dtype} as written ("bfloat16"), or null
 * @param hiddenAct {@code hidden_act}; for Gemma and Gemma2 {@code hidden_activation}, default gelu_pytorch_tanh
 * @param slidingWindow window in tokens, or null for full attention (Qwen2: null unless useSlidingWindow)
 * @param useSlidingWindow Qwen2's switch; for other types true exactly when slidingWindow is set
 * @param maxWindowLayers Qwen2's {@code max_window_layers} (layers below it use full attention), else 0
 * @param queryPreAttnScalar Gemma2's attention scale base (scores use its inverse square root), else null
 * @param eosTokenIds {@code eos_token_id} as a list (a single int becomes one element), empty when unset
 * @param raw the whole parsed file, for keys this record does not model
 */
public record ModelConfig(
        String architecture,
        String modelType,
        int vocabSize,
        int hiddenSize,
        int intermediateSize,
        int numHiddenLayers,
        int numAttentionHeads,
        int numKeyValueHeads,
        int headDim,
        int maxPositionEmbeddings,
        double rmsNormEps,
        double ropeTheta,
        RopeScaling ropeScaling,
        boolean tieWordEmbeddings,
        String torchDtype,
        String hiddenAct,
        boolean attentionBias,
        boolean mlpBias,
        Integer slidingWindow,
        boolean useSlidingWindow,
        int maxWindowLayers,
        Double finalLogitSoftcapping,
        Double attnLogitSoftcapping,
        Double queryPreAttnScalar,
        Integer bosTokenId,
        List<Integer> eosTokenIds,
        Integer padTokenId,
        JsonNode raw) {

    public ModelConfig {
        eosTokenIds = List.copyOf(eosTokenIds);
    }

    /**
     * RoPE scaling parameters as written; the meaning of each depends on {@code type} (llama3, linear, dynamic, yarn,
     * longrope). Fields absent from the file are null.
     *
     * @param type {@code rope_type}, or the legacy {@code type}
     */
    public record RopeScaling(
            String type,
            Double factor,
            Double lowFreqFactor,
            Double highFreqFactor,
            Integer originalMaxPositionEmbeddings,
            Double attentionFactor,
            Double betaFast,
            Double betaSlow) {}

    private static final ObjectMapper JSON = JsonMappers.strict();

    /** Reads and validates a config.json file. */
    public static ModelConfig read(Path configJson) {
        String file = configJson.toString();
        JsonNode root;
        try {
            root = JSON.readTree(Files.readString(configJson));
        } catch (NoSuchFileException e) {
            throw new BadInputException(file + ": no such file (a model directory needs its config.json)", e);
        } catch (IOException e) {
            throw new BadInputException(file + ": not valid JSON: " + BadInputException.firstLine(e.getMessage()), e);
        }
        return fromJson(root, file);
    }

    /** Interprets a parsed config.json; {@code where} names the file in messages. */
    public static ModelConfig fromJson(JsonNode root, String where) {
        if (root == null || !root.isObject()) {
            throw new BadInputException(where + ": not a JSON object");
        }
        Keys keys = new Keys(root, where);
        String modelType = keys.string("model_type", null);
        if (modelType == null) {
            throw new BadInputException(where + ": missing key 'model_type'");
        }
        String architecture = null;
        JsonNode architectures = root.get("architectures");
        if (architectures != null && !architectures.isNull()) {
            if (!architectures.isArray()
                    || architectures.isEmpty()
                    || !architectures.get(0).isTextual()) {
                throw new BadInputException(where + ": key 'architectures' must be a non-empty list of strings");
            }
            architecture = architectures.get(0).asText();
        }
        boolean gemmaFamily = modelType.equals("gemma") || modelType.equals("gemma2");

        int vocabSize = keys.requiredPositiveInt("vocab_size");
        int hiddenSize = keys.requiredPositiveInt("hidden_size");
        int intermediateSize = keys.requiredPositiveInt("intermediate_size");
        int layers = keys.requiredPositiveInt("num_hidden_layers");
        int heads = keys.requiredPositiveInt("num_attention_heads");
        Integer kvHeads = keys.positiveInt("num_key_value_heads", modelType.equals("mistral") ? 8 : null);
        int numKeyValueHeads = kvHeads == null ? heads : kvHeads;
        if (heads % numKeyValueHeads != 0) {
            throw new BadInputException(where + ": key 'num_key_value_heads' (" + numKeyValueHeads
                    + ") must divide num_attention_heads (" + heads + ")");
        }
        Integer headDimValue = keys.positiveInt("head_dim", gemmaFamily ? 256 : null);
        int headDim = headDimValue != null ? headDimValue : hiddenSize / heads;
        if (headDim == 0) {
            throw new BadInputException(where + ": hidden_size " + hiddenSize + " is smaller than num_attention_heads "
                    + heads + " and no head_dim is given");
        }
        int maxPositions = keys.positiveInt(
                "max_position_embeddings",
                switch (modelType) {
                    case "mistral" -> 4096 * 32;
                    case "qwen2" -> 32768;
                    case "gemma", "gemma2" -> 8192;
                    default -> 2048;
                });

        JsonNode ropeParameters = root.get("rope_parameters");
        if (ropeParameters != null && !ropeParameters.isNull() && !ropeParameters.isObject()) {
            throw new BadInputException(where + ": key 'rope_parameters' must be an object");
        }
        double ropeTheta = keys.positiveDouble("rope_theta", null) != null
                ? keys.positiveDouble("rope_theta", null)
                : ropeParameters != null && ropeParameters.has("rope_theta")
                        ? new Keys(ropeParameters, where + " rope_parameters").positiveDouble("rope_theta", 10000.0)
                        : 10000.0;
        JsonNode scalingNode = root.get("rope_scaling");
        if (scalingNode == null || scalingNode.isNull()) {
            scalingNode = ropeParameters;
        }
        RopeScaling ropeScaling = ropeScaling(scalingNode, where);

        String hiddenAct =
                gemmaFamily ? keys.string("hidden_activation", "gelu_pytorch_tanh") : keys.string("hidden_act", "silu");
        if (hiddenAct == null) {
            hiddenAct = gemmaFamily ? "gelu_pytorch_tanh" : "silu";
        }

        boolean useSlidingWindow;
        Integer slidingWindow;
        switch (modelType) {
            case "mistral", "gemma2" -> {
                slidingWindow = keys.positiveInt("sliding_window", 4096);
                useSlidingWindow = slidingWindow != null;
            }
            case "qwen2" -> {
                useSlidingWindow = keys.bool("use_sliding_window", false);
                Integer window = keys.positiveInt("sliding_window", 4096);
                slidingWindow = useSlidingWindow ? window : null;
                useSlidingWindow = slidingWindow != null;
            }
            default -> {
                slidingWindow = keys.positiveInt("sliding_window", null);
                useSlidingWindow = slidingWindow != null;
            }
        }
        int maxWindowLayers = modelType.equals("qwen2") ? keys.nonNegativeInt("max_window_layers", 28) : 0;

        boolean gemma2 = modelType.equals("gemma2");
        Double finalSoftcap = keys.positiveDouble("final_logit_softcapping", gemma2 ? 30.0 : null);
        Double attnSoftcap = keys.positiveDouble("attn_logit_softcapping", gemma2 ? 50.0 : null);
        Double queryPreAttnScalar = keys.positiveDouble("query_pre_attn_scalar", gemma2 ? 256.0 : null);

        Integer bos = keys.nonNegativeIntOrNull(
                "bos_token_id",
                switch (modelType) {
                    case "llama", "mistral" -> 1;
                    case "gemma", "gemma2" -> 2;
                    default -> null;
                });
        List<Integer> eos = eosTokenIds(root, where, modelType);
        Integer pad = keys.nonNegativeIntOrNull("pad_token_id", gemmaFamily ? 0 : null);
        String torchDtype = keys.string("torch_dtype", null);
        if (torchDtype == null) {
            torchDtype = keys.string("dtype", null);
        }
        return new ModelConfig(
                architecture,
                modelType,
                vocabSize,
                hiddenSize,
                intermediateSize,
                layers,
                heads,
                numKeyValueHeads,
                headDim,
                maxPositions,
                keys.positiveDouble("rms_norm_eps", 1e-6),
                ropeTheta,
                ropeScaling,
                keys.bool("tie_word_embeddings", gemmaFamily),
                torchDtype,
                hiddenAct,
                keys.bool("attention_bias", false),
                keys.bool("mlp_bias", false),
                slidingWindow,
                useSlidingWindow,
                maxWindowLayers,
                finalSoftcap,
                attnSoftcap,
                queryPreAttnScalar,
                bos,
                eos,
                pad,
                root);
    }

    /** The dtype the weights are declared in ({@code torch_dtype}), or null when unset or not a float type. */
    public DType declaredDtype() {
        if (torchDtype == null) {
            return null;
        }
        try {
            return DType.fromTorchName(torchDtype);
        } catch (BadInputException e) {
            return null;
        }
    }

    private static RopeScaling ropeScaling(JsonNode node, String where) {
        if (node == null || node.isNull()) {
            return null;
        }
        String at = where + " rope_scaling";
        if (!node.isObject()) {
            throw new BadInputException(at + ": must be an object or null");
        }
        Keys keys = new Keys(node, at);
        String type = keys.string("rope_type", null);
        if (type == null) {
            type = keys.string("type", null);
        }
        if (type == null) {
            throw new BadInputException(at + ": missing key 'rope_type' (or 'type')");
        }
        if (type.equals("default")) {
            return null;
        }
        return new RopeScaling(
                type,
                keys.positiveDouble("factor", null),
                keys.positiveDouble("low_freq_factor", null),
                keys.positiveDouble("high_freq_factor", null),
                keys.positiveInt("original_max_position_embeddings", null),
                keys.positiveDouble("attention_factor", null),
                keys.positiveDouble("beta_fast", null),
                keys.positiveDouble("beta_slow", null));
    }

    private static List<Integer> eosTokenIds(JsonNode root, String where, String modelType) {
        JsonNode node = root.get("eos_token_id");
        if (node == null) {
            return switch (modelType) {
                case "llama", "mistral" -> List.of(2);
                case "gemma", "gemma2" -> List.of(1);
                default -> List.of();
            };
        }
        if (node.isNull()) {
            return List.of();
        }
        List<Integer> ids = new ArrayList<>();
        if (node.isArray()) {
            for (JsonNode id : node) {
                ids.add(tokenId(id, where));
            }
        } else {
            ids.add(tokenId(node, where));
        }
        return ids;
    }

    private static int tokenId(JsonNode id, String where) {
        if (!id.isIntegralNumber() || !id.canConvertToInt() || id.asInt() < 0) {
            throw new BadInputException(
                    where + ": key 'eos_token_id' must be a non-negative integer or a list of them, got " + id);
        }
        return id.asInt();
    }

    /** Typed access to the keys of one JSON object, with messages that name the file and the key. */
    private record Keys(JsonNode node, String where) {
        private JsonNode present(String key) {
            JsonNode value = node.get(key);
            return value == null || value.isNull() ? null : value;
        }

        private BadInputException bad(String key, String expected, JsonNode value) {
            return new BadInputException(where + ": key '" + key + "' must be " + expected + ", got " + value);
        }

        int requiredPositiveInt(String key) {
            if (present(key) == null) {
                throw new BadInputException(where + ": missing key '" + key + "'");
            }
            return positiveInt(key, null);
        }

        /** An absent key gives {@code absent}; an explicit null gives null. */
        Integer positiveInt(String key, Integer absent) {
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

        int nonNegativeInt(String key, int absent) {
            JsonNode value = present(key);
            if (value == null) {
                return absent;
            }
            if (!value.isIntegralNumber() || !value.canConvertToInt() || value.asInt() < 0) {
                throw bad(key, "a non-negative integer", value);
            }
            return value.asInt();
        }

        Integer nonNegativeIntOrNull(String key, Integer absent) {
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

        Double positiveDouble(String key, Double absent) {
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

        boolean bool(String key, boolean absent) {
            JsonNode value = present(key);
            if (value == null) {
                return absent;
            }
            if (!value.isBoolean()) {
                throw bad(key, "true or false", value);
            }
            return value.asBoolean();
        }

        String string(String key, String absent) {
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
    }
}
