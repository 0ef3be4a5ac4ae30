package dev.safemerge.eval.encoder;

import dev.safemerge.model.ModelConfig;
import dev.safemerge.model.ops.Activation;
import dev.safemerge.tensor.BadInputException;
import dev.safemerge.tensor.ModelDirectory;
import dev.safemerge.tensor.TensorInfo;
import dev.safemerge.tensor.kernel.Kernels;
import dev.safemerge.tensor.kernel.Matrix;
import java.lang.foreign.Arena;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * A BERT-family text encoder (Hugging Face BertModel and RobertaModel layouts; XLM-R shares RoBERTa's) run up to one
 * chosen layer: embeddings (word + absolute position + token type, then LayerNorm) followed by post-LN transformer
 * layers (bidirectional multi-head self-attention with biases, residual, LayerNorm; GELU feed-forward, residual,
 * LayerNorm). Only the layers up to the chosen one are loaded, as bert_score truncates the model to them.
 *
 * <p>Each call encodes one unpadded sequence, so no attention mask is needed: with padding, HF masks the padded keys
 * and gives the real tokens exactly these states. Instances are immutable and safe to share between threads.
 */
public final class EncoderModel {
    /** The {@code model_type} values whose checkpoints this class reads. */
    public static final List<String> SUPPORTED_TYPES = List.of("bert", "roberta", "xlm-roberta");

    private static final Kernels KERNELS = Kernels.get();

    private record Linear(Matrix weight, float[] bias) {
        int out() {
            return weight.rows();
        }
    }

    private record Norm(float[] weight, float[] bias) {}

    private record Layer(
            Linear query,
            Linear key,
            Linear value,
            Linear attentionOutput,
            Norm attentionNorm,
            Linear intermediate,
            Linear output,
            Norm outputNorm) {}

    private final String modelType;
    private final int hidden;
    private final int heads;
    private final int vocabSize;
    private final int maxPositions;
    private final int positionOffset;
    private final float eps;
    private final float[] wordEmbeddings;
    private final float[] positionEmbeddings;
    private final float[] tokenTypeEmbeddings;
    private final Norm embeddingNorm;
    private final List<Layer> layers;

    private EncoderModel(
            String modelType,
            int hidden,
            int heads,
            int vocabSize,
            int maxPositions,
            int positionOffset,
            float eps,
            float[] wordEmbeddings,
            float[] positionEmbeddings,
            float[] tokenTypeEmbeddings,
            Norm embeddingNorm,
            List<Layer> layers) {
        this.modelType = modelType;
        this.hidden = hidden;
        this.heads = heads;
        this.vocabSize = vocabSize;
        this.maxPositions = maxPositions;
        this.positionOffset = positionOffset;
        this.eps = eps;
        this.wordEmbeddings = wordEmbeddings;
        this.positionEmbeddings = positionEmbeddings;
        this.tokenTypeEmbeddings = tokenTypeEmbeddings;
        this.embeddingNorm = embeddingNorm;
        this.layers = layers;
    }

    /** The number of transformer layers the checkpoint at {@code dir} declares (config.json num_hidden_layers). */
    public static int declaredLayers(Path dir) {
        return ModelConfig.read(dir.resolve(ModelDirectory.CONFIG)).numHiddenLayers();
    }

    /**
     * Loads the embeddings and the first {@code layer} transformer layers of the checkpoint at {@code dir}; {@link
     * #encode} then returns the output of layer {@code layer} (0 = the embeddings, as HF's hidden_states[0]).
     */
    public static EncoderModel load(Path dir, int layer) {
        try (ModelDirectory model = ModelDirectory.open(dir)) {
            String where = dir.resolve(ModelDirectory.CONFIG).toString();
            ModelConfig config = ModelConfig.read(dir.resolve(ModelDirectory.CONFIG));
            String type = config.modelType();
            if (type.equals("deberta") || type.equals("deberta-v2")) {
                throw new BadInputException(where + ": model_type " + type + " (disentangled attention) is not"
                        + " supported; supported encoder types: " + SUPPORTED_TYPES);
            }
            if (!SUPPORTED_TYPES.contains(type)) {
                throw new BadInputException(
                        where + ": model_type " + type + " is not a supported encoder; one of " + SUPPORTED_TYPES);
            }
            if (layer < 0 || layer > config.numHiddenLayers()) {
                throw new BadInputException(where + ": layer " + layer + " is out of range 0.."
                        + config.numHiddenLayers() + " (num_hidden_layers)");
            }
            String activation = config.raw().path("hidden_act").asText("gelu");
            if (!activation.equals("gelu")) {
                throw new BadInputException(where + ": hidden_act " + activation + " is not supported (only gelu)");
            }
            String positions = config.raw().path("position_embedding_type").asText("absolute");
            if (!positions.equals("absolute")) {
                throw new BadInputException(
                        where + ": position_embedding_type " + positions + " is not supported (only absolute)");
            }
            if (config.hiddenSize() % config.numAttentionHeads() != 0) {
                throw new BadInputException(where + ": hidden_size " + config.hiddenSize()
                        + " is not a multiple of num_attention_heads " + config.numAttentionHeads());
            }
            int hidden = config.hiddenSize();
            int typeVocab = config.raw().path("type_vocab_size").asInt(2);
            if (typeVocab < 1) {
                throw new BadInputException(where + ": type_vocab_size must be at least 1");
            }
            // RoBERTa numbers positions from padding_idx + 1, so the first padding_idx + 1 rows are never used.
            int offset = 0;
            if (!type.equals("bert")) {
                if (config.padTokenId() == null) {
                    throw new BadInputException(where + ": model_type " + type + " needs pad_token_id");
                }
                offset = config.padTokenId() + 1;
            }
            Weights weights = new Weights(model, dir);
            float[] word = weights.floats("embeddings.word_embeddings.weight", config.vocabSize(), hidden);
            float[] position =
                    weights.floats("embeddings.position_embeddings.weight", config.maxPositionEmbeddings(), hidden);
            float[] tokenType = weights.floats("embeddings.token_type_embeddings.weight", typeVocab, hidden);
            Norm embeddingNorm = weights.norm("embeddings.LayerNorm", hidden);
            List<Layer> loaded = new ArrayList<>();
            int inner = config.intermediateSize();
            for (int l = 0; l < layer; l++) {
                String p = "encoder.layer." + l + ".";
                loaded.add(new Layer(
                        weights.linear(p + "attention.self.query", hidden, hidden),
                        weights.linear(p + "attention.self.key", hidden, hidden),
                        weights.linear(p + "attention.self.value", hidden, hidden),
                        weights.linear(p + "attention.output.dense", hidden, hidden),
                        weights.norm(p + "attention.output.LayerNorm", hidden),
                        weights.linear(p + "intermediate.dense", inner, hidden),
                        weights.linear(p + "output.dense", hidden, inner),
                        weights.norm(p + "output.LayerNorm", hidden)));
            }
            if (config.maxPositionEmbeddings() <= offset + 2) {
                throw new BadInputException(where + ": max_position_embeddings " + config.maxPositionEmbeddings()
                        + " leaves no room for tokens after the position offset " + offset);
            }
            return new EncoderModel(
                    type,
                    hidden,
                    config.numAttentionHeads(),
                    config.vocabSize(),
                    config.maxPositionEmbeddings(),
                    offset,
                    (float) config.raw().path("layer_norm_eps").asDouble(1e-12),
                    word,
                    position,
                    tokenType,
                    embeddingNorm,
                    List.copyOf(loaded));
        }
    }

    /** Reads tensors by their BertModel names, with or without the bert./roberta. prefix of task checkpoints. */
    private static final class Weights {
        private final ModelDirectory model;
        private final Path dir;
        private final String prefix;
        private final Arena arena = Arena.ofAuto();

        Weights(ModelDirectory model, Path dir) {
            this.model = model;
            this.dir = dir;
            String probe = "embeddings.word_embeddings.weight";
            this.prefix = List.of("", "bert.", "roberta.").stream()
                    .filter(p -> model.contains(p + probe))
                    .findFirst()
                    .orElseThrow(() -> new BadInputException(
                            dir + ": no tensor " + probe + " (with or without a bert./roberta. prefix)"));
        }

        float[] floats(String name, long... shape) {
            String full = prefix + name;
            if (!model.contains(full)) {
                throw new BadInputException(dir + ": missing tensor " + full);
            }
            TensorInfo info = model.info(full);
            if (!Arrays.equals(info.shape(), shape)) {
                throw new BadInputException(dir + ": tensor " + full + " has shape " + info.shapeString()
                        + ", expected " + Arrays.toString(shape));
            }
            if (!info.dtype().readableAsFloat()) {
                throw new BadInputException(
                        dir + ": tensor " + full + " has dtype " + info.dtype() + ", expected a floating-point type");
            }
            float[] values = new float[Math.toIntExact(info.elementCount())];
            model.readFloats(full, 0, values, 0, values.length);
            return values;
        }

        Linear linear(String name, int out, int in) {
            return new Linear(
                    Matrix.ofFloats(out, in, floats(name + ".weight", out, in), arena), floats(name + ".bias", out));
        }

        Norm norm(String name, int size) {
            return new Norm(floats(name + ".weight", size), floats(name + ".bias", size));
        }
    }

    public String modelType() {
        return modelType;
    }

    /** The layer whose states {@link #encode} returns. */
    public int layer() {
        return layers.size();
    }

    public int hiddenSize() {
        return hidden;
    }

    /** The longest sequence the position table covers (HF tokenizers' model_max_length: 512 for BERT/RoBERTa). */
    public int maxTokens() {
        return maxPositions - positionOffset;
    }

    /** The hidden states [tokens, hiddenSize] (row-major) of the loaded layer for one sequence of token ids. */
    public float[] encode(int[] ids) {
        int n = ids.length;
        if (n == 0 || n > maxTokens()) {
            throw new IllegalArgumentException("sequence of " + n + " tokens; the model takes 1.." + maxTokens());
        }
        float[] x = new float[n * hidden];
        for (int t = 0; t < n; t++) {
            if (ids[t] < 0 || ids[t] >= vocabSize) {
                throw new BadInputException("token id " + ids[t] + " is outside the encoder's vocabulary [0, "
                        + vocabSize + ") (tokenizer.json does not match the checkpoint)");
            }
            int position = positionOffset + t;
            for (int i = 0; i < hidden; i++) {
                // token_type_ids are all 0 for single sentences
                x[t * hidden + i] = wordEmbeddings[ids[t] * hidden + i]
                        + positionEmbeddings[position * hidden + i]
                        + tokenTypeEmbeddings[i];
            }
        }
        layerNorm(x, n, embeddingNorm);
        for (Layer layer : layers) {
            float[] attended = linear(layer.attentionOutput(), selfAttention(layer, x, n), n);
            addInPlace(attended, x);
            layerNorm(attended, n, layer.attentionNorm());
            x = attended;
            float[] inner = linear(layer.intermediate(), x, n);
            for (int i = 0; i < inner.length; i++) {
                inner[i] = Activation.GELU.apply(inner[i]);
            }
            float[] out = linear(layer.output(), inner, n);
            addInPlace(out, x);
            layerNorm(out, n, layer.outputNorm());
            x = out;
        }
        return x;
    }

    /** Bidirectional scaled dot-product attention over all n tokens, head by head; returns the concatenated heads. */
    private float[] selfAttention(Layer layer, float[] x, int n) {
        float[] q = linear(layer.query(), x, n);
        float[] k = linear(layer.key(), x, n);
        float[] v = linear(layer.value(), x, n);
        int headDim = hidden / heads;
        float scale = (float) (1.0 / Math.sqrt(headDim));
        float[] context = new float[n * hidden];
        float[] scores = new float[n];
        for (int h = 0; h < heads; h++) {
            int offset = h * headDim;
            for (int i = 0; i < n; i++) {
                float max = Float.NEGATIVE_INFINITY;
                for (int j = 0; j < n; j++) {
                    scores[j] = KERNELS.dot(q, i * hidden + offset, k, j * hidden + offset, headDim) * scale;
                    max = Math.max(max, scores[j]);
                }
                double sum = 0;
                for (int j = 0; j < n; j++) {
                    scores[j] = (float) Math.exp(scores[j] - max);
                    sum += scores[j];
                }
                for (int j = 0; j < n; j++) {
                    KERNELS.axpy(
                            (float) (scores[j] / sum), v, j * hidden + offset, context, i * hidden + offset, headDim);
                }
            }
        }
        return context;
    }

    private static float[] linear(Linear linear, float[] x, int n) {
        int out = linear.out();
        float[] y = new float[n * out];
        KERNELS.matmul(linear.weight(), x, n, y);
        for (int t = 0; t < n; t++) {
            for (int i = 0; i < out; i++) {
                y[t * out + i] += linear.bias()[i];
            }
        }
        return y;
    }

    private static void addInPlace(float[] y, float[] x) {
        for (int i = 0; i < y.length; i++) {
            y[i] += x[i];
        }
    }

    private void layerNorm(float[] x, int n, Norm norm) {
        for (int t = 0; t < n; t++) {
            int base = t * hidden;
            double mean = 0;
            for (int i = 0; i < hidden; i++) {
                mean += x[base + i];
            }
            mean /= hidden;
            double variance = 0;
            for (int i = 0; i < hidden; i++) {
                double d = x[base + i] - mean;
                variance += d * d;
            }
            variance /= hidden;
            double inverse = 1.0 / Math.sqrt(variance + eps);
            for (int i = 0; i < hidden; i++) {
                x[base + i] = (float) ((x[base + i] - mean) * inverse * norm.weight()[i] + norm.bias()[i]);
            }
        }
    }
}
