package dev.safemerge.model;

import dev.safemerge.model.generate.BatchGenerator;
import dev.safemerge.model.generate.Generator;
import dev.safemerge.model.generate.KvCache;
import dev.safemerge.model.generate.ScaledAdapter;
import dev.safemerge.model.generate.SequenceSpec;
import dev.safemerge.model.generate.StepModel;
import dev.safemerge.tensor.LoraAdapter;
import dev.safemerge.tensor.ModelDirectory;
import dev.safemerge.tensor.kernel.KernelPool;
import dev.safemerge.tensor.kernel.Matrix;
import java.lang.foreign.Arena;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * A loaded decoder model: weights in their stored dtype (or int8), an optional LoRA adapter, and the forward pass.
 * Further adapters ({@link #loadAdapter}) run over the same weights, each sequence of a batch with its own.
 * Thread-safe for concurrent forward calls with separate caches. Close it to release the weights.
 */
public final class Model implements StepModel, AutoCloseable {
    private final ModelSpec spec;
    private final ModelConfig config;
    private final Transformer transformer;
    private final ModelDirectory checkpoint;
    private final Arena arena;
    private final Adapter loadedAdapter;
    private final ScaledAdapter asLoaded;

    private Model(
            ModelConfig config,
            ModelSpec spec,
            Transformer transformer,
            ModelDirectory checkpoint,
            Arena arena,
            Adapter loadedAdapter) {
        this.config = config;
        this.spec = spec;
        this.transformer = transformer;
        this.checkpoint = checkpoint;
        this.arena = arena;
        this.loadedAdapter = loadedAdapter;
        this.asLoaded = loadedAdapter == null ? null : new ScaledAdapter(loadedAdapter, 1f);
    }

    /** Loads an HF model directory (config.json, safetensors, optional generation_config.json). */
    @SuppressWarnings("MustBeClosedChecker") // the arena and checkpoint live as long as the model, which closes them
    public static Model load(Path modelDir, ModelLoadOptions options) {
        // config problems are reported before weight problems
        Path configPath = modelDir.resolve(ModelDirectory.CONFIG);
        ModelConfig config = ModelConfig.read(configPath);
        ModelSpec spec = ModelSpec.from(config, configPath.toString(), modelDir);
        ModelDirectory checkpoint = ModelDirectory.open(modelDir);
        Arena arena = Arena.ofShared();
        boolean merge = options.adapter() != null && options.mergeAdapter();
        Adapter unmerged = null;
        try (LoraAdapter mergedAdapter = merge ? LoraAdapter.open(options.adapter()) : null) {
            if (options.threads() > 0) {
                KernelPool.setThreads(options.threads());
            }
            WeightLoader loader = new WeightLoader(checkpoint, options, arena, mergedAdapter);
            Transformer transformer = build(spec, loader, options);
            loader.checkAdapterFullyApplied();
            if (options.adapter() != null && !merge) {
                unmerged = Adapter.load(options.adapter(), spec);
            }
            if (options.weightsInMemory()) {
                checkpoint.close();
            }
            return new Model(config, spec, transformer, options.weightsInMemory() ? null : checkpoint, arena, unmerged);
        } catch (RuntimeException e) {
            checkpoint.close();
            arena.close();
            throw e;
        }
    }

    private static Transformer build(ModelSpec spec, WeightLoader loader, ModelLoadOptions options) {
        int hidden = spec.hiddenSize();
        List<LayerWeights> layers = new ArrayList<>();
        for (int l = 0; l < spec.layers(); l++) {
            String p = "model.layers." + l + ".";
            boolean gemma2 = spec.sandwichNorms();
            layers.add(new LayerWeights(
                    loader.vector(p + "input_layernorm.weight", hidden),
                    linear(loader, spec, l, Projection.Q, spec.qkvBias()),
                    linear(loader, spec, l, Projection.K, spec.qkvBias()),
                    linear(loader, spec, l, Projection.V, spec.qkvBias()),
                    linear(loader, spec, l, Projection.O, spec.outputBias()),
                    loader.vector(p + "post_attention_layernorm.weight", hidden),
                    gemma2 ? loader.vector(p + "pre_feedforward_layernorm.weight", hidden) : null,
                    gemma2 ? loader.vector(p + "post_feedforward_layernorm.weight", hidden) : null,
                    linear(loader, spec, l, Projection.GATE, spec.mlpBias()),
                    linear(loader, spec, l, Projection.UP, spec.mlpBias()),
                    linear(loader, spec, l, Projection.DOWN, spec.mlpBias())));
        }
        Matrix embeddings = loader.stored("model.embed_tokens.weight", spec.vocabSize(), hidden);
        Matrix lmHead = spec.tiedEmbeddings() ? embeddings : loader.stored("lm_head.weight", spec.vocabSize(), hidden);
        if (options.quantization() == ModelLoadOptions.Quantization.Q8 && hidden % Matrix.Q8_BLOCK == 0) {
            // the output projection is the largest matrix read per token; embeddings are looked up row by row
            lmHead = loader.quantized(lmHead);
        }
        float[] finalNorm = loader.vector("model.norm.weight", hidden);
        return new Transformer(spec, embeddings, layers, finalNorm, lmHead);
    }

    private static Linear linear(WeightLoader loader, ModelSpec spec, int layer, Projection p, boolean bias) {
        return loader.linear(p.prefix(layer), p.out(spec), p.in(spec), bias);
    }

    /**
     * Loads a PEFT LoRA adapter against this model's shapes, to run over these weights without copying them: pass
     * it with a scale in {@link SequenceSpec}s ({@link #generator}) or to {@link #forward(int[], ScaledAdapter)}. The
     * caller closes it once no generation uses it.
     */
    public Adapter loadAdapter(Path adapterDir) {
        return Adapter.load(adapterDir, spec);
    }

    /** The resolved model hyperparameters (class defaults applied). */
    public ModelSpec spec() {
        return spec;
    }

    /** The typed config.json. */
    public ModelConfig config() {
        return config;
    }

    @Override
    public int vocabSize() {
        return spec.vocabSize();
    }

    @Override
    public int contextLength() {
        return spec.maxPositions();
    }

    /** End-of-sequence ids (generation_config.json's list if present, else config.json's). */
    @Override
    public int[] eosTokenIds() {
        return spec.eosTokenIds();
    }

    /** Float32 logits of every position of {@code ids} (from an empty cache): {@code [ids.length][vocab]}. */
    public float[][] forward(int[] ids) {
        return forward(ids, null);
    }

    /** As {@link #forward(int[])}, with {@code adapter} over the base weights (null: the model as loaded). */
    public float[][] forward(int[] ids, ScaledAdapter adapter) {
        if (ids.length == 0) {
            throw new IllegalArgumentException("forward needs at least one token id");
        }
        KvCache cache = newCache(ids.length);
        List<ScaledAdapter> adapters = new ArrayList<>();
        adapters.add(adapter == null ? asLoaded : adapter);
        float[] flat = transformer.forward(List.of(cache), List.of(ids), adapters, true);
        int vocab = spec.vocabSize();
        float[][] logits = new float[ids.length][];
        for (int i = 0; i < ids.length; i++) {
            logits[i] = java.util.Arrays.copyOfRange(flat, i * vocab, (i + 1) * vocab);
        }
        return logits;
    }

    @Override
    public long kvBytes(long positions) {
        return KvCache.bytesFor(spec.kvDim(), spec.slidingWindows(), positions);
    }

    @Override
    public KvCache newCache(int expectedLength) {
        return new KvCache(spec.kvDim(), spec.slidingWindows(), expectedLength);
    }

    @Override
    public float[] step(List<KvCache> caches, List<int[]> tokens, List<ScaledAdapter> adapters) {
        if (adapters.size() != caches.size()) {
            throw new IllegalArgumentException(caches.size() + " sequences but " + adapters.size() + " adapters");
        }
        List<ScaledAdapter> resolved = new ArrayList<>(adapters.size());
        for (ScaledAdapter adapter : adapters) {
            if (adapter != null && !(adapter.adapter() instanceof Adapter)) {
                throw new IllegalArgumentException("adapters must be loaded by Model.loadAdapter");
            }
            resolved.add(adapter == null ? asLoaded : adapter);
        }
        return transformer.forward(caches, tokens, resolved, false);
    }

    /** A generator decoding up to {@code maxBatch} sequences together. */
    public Generator generator(int maxBatch) {
        return new BatchGenerator(this, maxBatch);
    }

    /** Bytes of weights read per forward step; the memory traffic of decoding one token at batch 1. */
    public long weightBytesPerToken() {
        return transformer.weightBytes() + (loadedAdapter == null ? 0 : loadedAdapter.byteSize());
    }

    @Override
    public void close() {
        if (loadedAdapter != null) {
            loadedAdapter.close();
        }
        if (checkpoint != null) {
            checkpoint.close();
        }
        arena.close();
    }
}
