package dev.safemerge.model;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.safemerge.model.ops.Activation;
import dev.safemerge.tensor.BadInputException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Everything the forward pass needs from config.json, with each model class's defaults applied (an absent key
 * means the class default, an explicit null means off) and every unsupported value refused.
 *
 * @param slidingWindows per layer: the window in tokens (each query sees this many keys including itself), or 0
 *     for full attention
 * @param attentionScale multiplier of q·k (head_dim^-0.5, or query_pre_attn_scalar^-0.5 for Gemma 2)
 * @param attentionSoftcap Gemma 2 score cap, 0 when off
 * @param finalSoftcap Gemma 2 logit cap, 0 when off
 * @param embeddingScale multiplier of embeddings (sqrt(hidden) for Gemma), 1 otherwise
 * @param qkvBias q/k/v projections have biases (Qwen2 always; Llama/Gemma with attention_bias)
 * @param outputBias o_proj has a bias (Llama/Gemma attention_bias)
 * @param mlpBias gate/up/down have biases (Llama mlp_bias)
 * @param eosTokenIds end-of-sequence ids: generation_config.json's list if present, else config.json's
 */
public record ModelSpec(
        Architecture architecture,
        int vocabSize,
        int hiddenSize,
        int intermediateSize,
        int layers,
        int heads,
        int kvHeads,
        int headDim,
        float rmsNormEps,
        RopeScaling rope,
        int maxPositions,
        boolean tiedEmbeddings,
        Activation activation,
        boolean qkvBias,
        boolean outputBias,
        boolean mlpBias,
        int[] slidingWindows,
        float attentionScale,
        float attentionSoftcap,
        float finalSoftcap,
        float embeddingScale,
        String torchDtype,
        int[] eosTokenIds,
        int bosTokenId) {

    private static final ObjectMapper JSON = new ObjectMapper();

    /** Reads config.json (and generation_config.json when present) of a model directory. */
    public static ModelSpec read(Path modelDir) {
        Path configPath = modelDir.resolve("config.json");
        JsonNode config = readJson(configPath);
        JsonNode generation = null;
        Path generationPath = modelDir.resolve("generation_config.json");
        if (Files.isRegularFile(generationPath)) {
            generation = readJson(generationPath);
        }
        return from(config, configPath.toString(), generation, generationPath.toString());
    }

    static JsonNode readJson(Path path) {
        if (!Files.isRegularFile(path)) {
            throw new BadInputException(path + ": no such file");
        }
        try {
            JsonNode node = JSON.readTree(path.toFile());
            if (node == null || !node.isObject()) {
                throw new BadInputException(path + ": not a JSON object");
            }
            return node;
        } catch (IOException e) {
            throw new BadInputException(
                    path + ": invalid JSON: "
                            + e.getMessage().lines().findFirst().orElse(""),
                    e);
        }
    }

    /** Resolves a parsed config; {@code generation} may be null. */
    public static ModelSpec from(JsonNode configJson, String file, JsonNode generation, String generationFile) {
        ConfigReader c = new ConfigReader(configJson, file);
        List<String> architectures = new ArrayList<>();
        JsonNode archNode = configJson.get("architectures");
        if (archNode != null && archNode.isArray()) {
            archNode.forEach(n -> architectures.add(n.asText()));
        }
        Architecture arch = Architecture.resolve(architectures, c.stringOr("model_type", null), file);
        boolean gemma = arch.gemmaFamily();

        int vocab = c.requiredInt("vocab_size");
        int hidden = c.requiredInt("hidden_size");
        int intermediate = c.requiredInt("intermediate_size");
        int layers = c.requiredInt("num_hidden_layers");
        int heads = c.requiredInt("num_attention_heads");
        int kvHeads = c.intOr(
                "num_key_value_heads", arch == Architecture.MISTRAL && !c.has("num_key_value_heads") ? 8 : heads);
        if (heads == 0 || kvHeads == 0 || heads % kvHeads != 0) {
            throw new BadInputException(file + ": num_attention_heads " + heads
                    + " must be a positive multiple of num_key_value_heads " + kvHeads);
        }
        int headDim = c.intOr("head_dim", gemma ? 256 : (hidden % heads == 0 ? hidden / heads : 0));
        if (headDim == 0 || headDim % 2 != 0) {
            throw new BadInputException(file + ": head_dim must be a positive even number (hidden_size " + hidden
                    + ", num_attention_heads " + heads + ")");
        }
        int maxPositions = c.intOr("max_position_embeddings", 2048);
        float eps = (float) c.doubleOr("rms_norm_eps", 1e-6);
        RopeScaling rope = RopeScaling.read(c, headDim, maxPositions);
        boolean tied = c.boolOr("tie_word_embeddings", gemma);

        Activation activation;
        if (gemma) {
            activation = Activation.fromHfName(
                    c.stringOr("hidden_activation", "gelu_pytorch_tanh"), file + ": hidden_activation");
        } else {
            activation = Activation.fromHfName(c.stringOr("hidden_act", "silu"), file + ": hidden_act");
        }

        boolean attentionBias = arch != Architecture.MISTRAL && c.boolOr("attention_bias", false);
        boolean qkvBias = arch == Architecture.QWEN2 || attentionBias;
        boolean mlpBias = arch == Architecture.LLAMA && c.boolOr("mlp_bias", false);
        int[] windows = slidingWindows(arch, c, layers);

        float scale;
        float attnCap = 0;
        float finalCap = 0;
        if (arch == Architecture.GEMMA2) {
            scale = (float) (1 / Math.sqrt(c.doubleOr("query_pre_attn_scalar", 256)));
            attnCap = (float) c.optionalFeature("attn_logit_softcapping", 50);
            finalCap = (float) c.optionalFeature("final_logit_softcapping", 30);
        } else {
            scale = (float) (1 / Math.sqrt(headDim));
        }
        float embeddingScale = gemma ? (float) Math.sqrt(hidden) : 1f;

        int[] eos = c.intList("eos_token_id");
        int bos = c.intOr("bos_token_id", -1);
        if (generation != null) {
            ConfigReader g = new ConfigReader(generation, generationFile);
            int[] generationEos = g.intList("eos_token_id");
            if (generationEos.length > 0) {
                eos = generationEos;
            }
        }
        for (int id : eos) {
            if (id >= vocab) {
                throw new BadInputException(file + ": eos_token_id " + id + " is outside the vocabulary of " + vocab);
            }
        }
        return new ModelSpec(
                arch,
                vocab,
                hidden,
                intermediate,
                layers,
                heads,
                kvHeads,
                headDim,
                eps,
                rope,
                maxPositions,
                tied,
                activation,
                qkvBias,
                attentionBias,
                mlpBias,
                windows,
                scale,
                attnCap,
                finalCap,
                embeddingScale,
                c.stringOr("torch_dtype", c.stringOr("dtype", "float32")),
                eos,
                bos);
    }

    private static int[] slidingWindows(Architecture arch, ConfigReader c, int layers) {
        int[] windows = new int[layers];
        int window = switch (arch) {
            case MISTRAL, GEMMA2 -> c.isNull("sliding_window") ? 0 : c.intOr("sliding_window", 4096);
            case QWEN2 -> c.boolOr("use_sliding_window", false) ? c.intOr("sliding_window", 4096) : 0;
            case LLAMA, GEMMA -> 0;
        };
        JsonNode layerTypes = c.root().get("layer_types");
        if (layerTypes != null && !layerTypes.isNull() && arch != Architecture.LLAMA && arch != Architecture.GEMMA) {
            if (!layerTypes.isArray() || layerTypes.size() != layers) {
                throw new BadInputException(c.file() + ": layer_types must list one type per layer (" + layers + ")");
            }
            for (int i = 0; i < layers; i++) {
                String type = layerTypes.get(i).asText();
                switch (type) {
                    case "full_attention" -> windows[i] = 0;
                    case "sliding_attention" -> windows[i] = window;
                    default ->
                        throw new BadInputException(c.file() + ": layer_types[" + i + "] '" + type
                                + "' is not supported (full_attention, sliding_attention)");
                }
            }
            return windows;
        }
        for (int i = 0; i < layers; i++) {
            windows[i] = switch (arch) {
                case MISTRAL -> window;
                case GEMMA2 -> i % 2 == 0 ? window : 0;
                case QWEN2 -> i >= c.intOr("max_window_layers", 28) ? window : 0;
                case LLAMA, GEMMA -> 0;
            };
        }
        return windows;
    }

    public int qDim() {
        return heads * headDim;
    }

    public int kvDim() {
        return kvHeads * headDim;
    }

    public boolean gemmaNorms() {
        return architecture.gemmaFamily();
    }

    /** Gemma 2's extra norms around attention output and MLP. */
    public boolean sandwichNorms() {
        return architecture == Architecture.GEMMA2;
    }

    @Override
    public int[] slidingWindows() {
        return slidingWindows.clone();
    }

    @Override
    public int[] eosTokenIds() {
        return eosTokenIds.clone();
    }

    int window(int layer) {
        return slidingWindows[layer];
    }

    @Override
    public boolean equals(Object other) {
        return this == other;
    }

    @Override
    public int hashCode() {
        return System.identityHashCode(this);
    }

    @Override
    public String toString() {
        return architecture.className() + "[vocab " + vocabSize + ", hidden " + hiddenSize + ", layers " + layers
                + ", heads " + heads + "/" + kvHeads + " x " + headDim + ", rope " + rope.type() + "]";
    }
}
