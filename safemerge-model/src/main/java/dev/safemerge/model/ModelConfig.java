package dev.safemerge.model;

import com.fasterxml.jackson.databind.JsonNode;
import dev.safemerge.tensor.BadInputException;
import dev.safemerge.tensor.CheckpointConfig;
import dev.safemerge.tensor.ConfigKeys;
import dev.safemerge.tensor.DType;
import java.nio.file.Files;
import java.nio.file.Path;
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

    /** Reads and validates a config.json file. */
    public static ModelConfig read(Path configJson) {
        return fromJson(CheckpointConfig.parse(configJson), configJson.toString());
    }

    /**
     * What a model directory's generation_config.json says about special tokens.
     *
     * @param eosTokenIds {@code eos_token_id} as a list (a single int becomes one element), empty when unset
     * @param bosTokenId {@code bos_token_id}, or null when unset
     */
    public record GenerationConfig(List<Integer> eosTokenIds, Integer bosTokenId) {
        public GenerationConfig {
            eosTokenIds = List.copyOf(eosTokenIds);
        }
    }

    /**
     * Reads a model directory's generation_config.json; no file means nothing set. A bad value is refused naming the
     * file and the key.
     */
    public static GenerationConfig readGeneration(Path modelDir) {
        Path generationJson = modelDir.resolve("generation_config.json");
        if (!Files.isRegularFile(generationJson)) {
            return new GenerationConfig(List.of(), null);
        }
        ConfigKeys keys = ConfigKeys.of(CheckpointConfig.parse(generationJson), generationJson.toString());
        List<Integer> eos = keys.nonNegativeIntList("eos_token_id");
        return new GenerationConfig(eos == null ? List.of() : eos, keys.nonNegativeIntOrNull("bos_token_id", null));
    }

    /** Interprets a parsed config.json; {@code where} names the file in messages. */
    public static ModelConfig fromJson(JsonNode root, String where) {
        ConfigKeys keys = ConfigKeys.of(root, where);
        String modelType = CheckpointConfig.modelType(keys);
        String architecture = CheckpointConfig.architecture(keys);
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

        ConfigKeys ropeParameters = keys.object("rope_parameters");
        double ropeTheta = keys.positiveDouble("rope_theta", null) != null
                ? keys.positiveDouble("rope_theta", null)
                : ropeParameters != null && ropeParameters.node().has("rope_theta")
                        ? ropeParameters.positiveDouble("rope_theta", 10000.0)
                        : 10000.0;
        JsonNode scalingNode = root.get("rope_scaling");
        if (scalingNode == null || scalingNode.isNull()) {
            scalingNode = ropeParameters == null ? null : ropeParameters.node();
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
        List<Integer> eos = eosTokenIds(keys, modelType);
        Integer pad = keys.nonNegativeIntOrNull("pad_token_id", gemmaFamily ? 0 : null);
        String torchDtype = CheckpointConfig.torchDtype(keys);
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
        ConfigKeys keys = new ConfigKeys(node, at);
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

    private static List<Integer> eosTokenIds(ConfigKeys keys, String modelType) {
        if (!keys.node().has("eos_token_id")) {
            return switch (modelType) {
                case "llama", "mistral" -> List.of(2);
                case "gemma", "gemma2" -> List.of(1);
                default -> List.of();
            };
        }
        List<Integer> ids = keys.nonNegativeIntList("eos_token_id");
        return ids == null ? List.of() : ids;
    }
}
