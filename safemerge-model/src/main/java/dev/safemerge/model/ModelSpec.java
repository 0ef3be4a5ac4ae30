package dev.safemerge.model;

import com.fasterxml.jackson.databind.JsonNode;
import dev.safemerge.model.ops.Activation;
import dev.safemerge.tensor.BadInputException;
import dev.safemerge.tensor.ConfigKeys;
import java.nio.file.Path;
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

    /** Reads config.json (and generation_config.json when present) of a model directory. */
    public static ModelSpec read(Path modelDir) {
        Path configPath = modelDir.resolve("config.json");
        return from(ModelConfig.read(configPath), configPath.toString(), modelDir);
    }

    /**
     * Resolves a parsed config of the model in {@code modelDir} (whose generation_config.json, if any, supplies the
     * end-of-sequence ids). Keys ModelConfig does not model are read from its raw JSON: {@code layer_types} and
     * yarn's {@code mscale}, {@code mscale_all_dim} and {@code truncate}. A null {@code modelDir} (a config built in
     * memory) means there is no generation_config.json to consult.
     */
    public static ModelSpec from(ModelConfig config, String file, Path modelDir) {
        Architecture arch = Architecture.resolve(
                config.architecture() == null ? List.of() : List.of(config.architecture()), config.modelType(), file);
        ConfigKeys raw = new ConfigKeys(config.raw(), file);
        int heads = config.numAttentionHeads();
        int kvHeads = config.numKeyValueHeads();
        int headDim = config.headDim();
        if (headDim <= 0 || headDim % 2 != 0) {
            throw new BadInputException(file + ": head_dim must be a positive even number, got " + headDim);
        }
        int layers = config.numHiddenLayers();
        RopeScaling rope = RopeScaling.of(config, raw, headDim);
        String actKey = arch.gemmaFamily() ? "hidden_activation" : "hidden_act";
        Activation activation = Activation.fromHfName(config.hiddenAct(), file + ": " + actKey);

        boolean attentionBias = arch != Architecture.MISTRAL && arch != Architecture.QWEN2 && config.attentionBias();
        boolean qkvBias = arch == Architecture.QWEN2 || attentionBias;
        boolean mlpBias = arch == Architecture.LLAMA && config.mlpBias();
        int[] windows = slidingWindows(arch, config, raw, layers);

        float scale;
        float attnCap = 0;
        float finalCap = 0;
        if (arch == Architecture.GEMMA2) {
            scale = (float) (1 / Math.sqrt(config.queryPreAttnScalar()));
            attnCap = config.attnLogitSoftcapping() == null
                    ? 0
                    : config.attnLogitSoftcapping().floatValue();
            finalCap = config.finalLogitSoftcapping() == null
                    ? 0
                    : config.finalLogitSoftcapping().floatValue();
        } else {
            scale = (float) (1 / Math.sqrt(headDim));
        }
        float embeddingScale = arch.gemmaFamily() ? (float) Math.sqrt(config.hiddenSize()) : 1f;

        int[] eos = config.eosTokenIds().stream().mapToInt(Integer::intValue).toArray();
        List<Integer> generationEos = modelDir == null
                ? List.of()
                : ModelConfig.readGeneration(modelDir).eosTokenIds();
        if (!generationEos.isEmpty()) {
            eos = generationEos.stream().mapToInt(Integer::intValue).toArray();
        }
        for (int id : eos) {
            if (id >= config.vocabSize()) {
                throw new BadInputException(
                        file + ": eos_token_id " + id + " is outside the vocabulary of " + config.vocabSize());
            }
        }
        return new ModelSpec(
                arch,
                config.vocabSize(),
                config.hiddenSize(),
                config.intermediateSize(),
                layers,
                heads,
                kvHeads,
                headDim,
                (float) config.rmsNormEps(),
                rope,
                config.maxPositionEmbeddings(),
                config.tieWordEmbeddings(),
                activation,
                qkvBias,
                attentionBias,
                mlpBias,
                windows,
                scale,
                attnCap,
                finalCap,
                embeddingScale,
                config.torchDtype(),
                eos,
                config.bosTokenId() == null ? -1 : config.bosTokenId());
    }

    private static int[] slidingWindows(Architecture arch, ModelConfig config, ConfigKeys raw, int layers) {
        int[] windows = new int[layers];
        if (arch == Architecture.LLAMA || arch == Architecture.GEMMA || config.slidingWindow() == null) {
            return windows;
        }
        int window = config.slidingWindow();
        JsonNode layerTypes = raw.node().get("layer_types");
        if (layerTypes != null && !layerTypes.isNull()) {
            if (!layerTypes.isArray() || layerTypes.size() != layers) {
                throw new BadInputException(
                        raw.where() + ": layer_types must list one type per layer (" + layers + ")");
            }
            for (int i = 0; i < layers; i++) {
                String type = layerTypes.get(i).asText();
                windows[i] = switch (type) {
                    case "full_attention" -> 0;
                    case "sliding_attention" -> window;
                    default ->
                        throw new BadInputException(raw.where() + ": layer_types[" + i + "] '" + type
                                + "' is not supported (full_attention, sliding_attention)");
                };
            }
            return windows;
        }
        for (int i = 0; i < layers; i++) {
            windows[i] = switch (arch) {
                case MISTRAL -> window;
                case GEMMA2 -> i % 2 == 0 ? window : 0;
                case QWEN2 -> i >= config.maxWindowLayers() ? window : 0;
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
