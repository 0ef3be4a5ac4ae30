package dev.safemerge.model.train;

import dev.safemerge.model.ModelSpec;
import dev.safemerge.model.ops.Attention;
import dev.safemerge.model.ops.RmsNorm;
import dev.safemerge.model.ops.Rope;
import dev.safemerge.model.ops.Softmax;
import dev.safemerge.tensor.kernel.KernelPool;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;

/**
 * The decoder of every supported architecture with a backward pass, for LoRA or full fine-tuning. The forward pass
 * is written with the same ops as inference ({@link RmsNorm}, {@link Rope}, {@link Attention}, the activation and
 * {@link Softmax} soft-cap), top to bottom as in {@link #forward}; {@link #backward} walks it in reverse. A batch
 * is several sequences packed one after another: projections see all their tokens at once, attention stays within
 * each sequence.
 */
public final class TrainableModel {
    /** One training sequence: its ids and the target of each position ({@link CrossEntropy#IGNORE} for none). */
    public record Sequence(int[] ids, int[] labels) {}

    private final ModelSpec spec;
    private final int[] windows;
    private final FrozenMatrix frozenEmbedding;
    private final Parameter trainableEmbedding;
    private final Block[] blocks;
    private final Norm finalNorm;
    private final LoraLinear lmHead;
    private final List<Parameter> parameters;
    private final Attention.Shape attentionShape;

    /** A norm weight: frozen, or trainable in full fine-tuning. */
    private record Norm(float[] frozen, Parameter trainable) {
        float[] weight() {
            return frozen != null ? frozen : trainable.values();
        }

        float[] gradOrNull() {
            return trainable != null ? trainable.grad() : null;
        }
    }

    private record Block(
            Norm inputNorm,
            Norm postAttentionNorm,
            Norm preFeedforwardNorm,
            Norm postFeedforwardNorm,
            LoraLinear q,
            LoraLinear k,
            LoraLinear v,
            LoraLinear o,
            LoraLinear gate,
            LoraLinear up,
            LoraLinear down) {}

    private TrainableModel(
            ModelSpec spec,
            FrozenMatrix frozenEmbedding,
            Parameter trainableEmbedding,
            Block[] blocks,
            Norm finalNorm,
            LoraLinear lmHead,
            List<Parameter> parameters) {
        this.spec = spec;
        this.windows = spec.slidingWindows();
        this.frozenEmbedding = frozenEmbedding;
        this.trainableEmbedding = trainableEmbedding;
        this.blocks = blocks;
        this.finalNorm = finalNorm;
        this.lmHead = lmHead;
        this.parameters = List.copyOf(parameters);
        this.attentionShape = new Attention.Shape(
                spec.heads(), spec.kvHeads(), spec.headDim(), spec.attentionScale(), spec.attentionSoftcap());
    }

    /** PEFT's key of a LoRA factor: {@code base_model.model.<module path>.lora_A.weight}. */
    public static String peftKey(String modulePath, String factor) {
        return "base_model.model." + modulePath + "." + factor + ".weight";
    }

    /**
     * The base model with LoRA adapters on {@code lora.targetModules()} of every layer, initialised as PEFT does:
     * A from kaiming_uniform(a=√5), i.e. uniform in ±1/√in, and B zeros, so training starts at the base model.
     */
    public static TrainableModel withLora(ModelSpec spec, WeightSource weights, LoraSettings lora, long seed) {
        SplittableRandom random = new SplittableRandom(seed);
        List<Parameter> parameters = new ArrayList<>();
        Builder builder = new Builder(spec, weights) {
            @Override
            LoraLinear linear(String path, String module, int out, int in, boolean bias) {
                FrozenMatrix w = weights.matrix(path + ".weight", out, in);
                float[] b = bias ? weights.vector(path + ".bias", out) : null;
                if (!lora.targetModules().contains(module)) {
                    return LoraLinear.frozen(w, b);
                }
                int r = lora.rank();
                float bound = (float) (1.0 / Math.sqrt(in));
                float[] a = new float[r * in];
                for (int i = 0; i < a.length; i++) {
                    a[i] = (float) random.nextDouble(-bound, bound);
                }
                Parameter loraA = new Parameter(peftKey(path, "lora_A"), a, r, in);
                Parameter loraB = new Parameter(peftKey(path, "lora_B"), new float[out * r], out, r);
                parameters.add(loraA);
                parameters.add(loraB);
                return LoraLinear.adapted(w, b, loraA, loraB, (float) lora.scale(), (float) lora.dropout());
            }

            @Override
            Norm norm(String name) {
                return new Norm(weights.vector(name, spec.hiddenSize()), null);
            }
        };
        return builder.build(null, parameters);
    }

    /**
     * Every weight trainable in float32 (embeddings, norms, projections, biases), named by its HF key. Tied
     * embeddings stay one parameter that both the embedding and the output layer update.
     */
    public static TrainableModel full(ModelSpec spec, WeightSource weights) {
        List<Parameter> parameters = new ArrayList<>();
        Builder builder = new Builder(spec, weights) {
            @Override
            LoraLinear linear(String path, String module, int out, int in, boolean bias) {
                Parameter w = trainable(
                        path + ".weight",
                        weights.matrix(path + ".weight", out, in).toFloats(),
                        out,
                        in);
                Parameter b = bias ? trainable(path + ".bias", weights.vector(path + ".bias", out), out) : null;
                return LoraLinear.trainable(w, b);
            }

            @Override
            Norm norm(String name) {
                return new Norm(null, trainable(name, weights.vector(name, spec.hiddenSize()), spec.hiddenSize()));
            }

            private Parameter trainable(String name, float[] values, int... shape) {
                Parameter parameter = new Parameter(name, values, shape);
                parameters.add(parameter);
                return parameter;
            }
        };
        Parameter embedding = new Parameter(
                "model.embed_tokens.weight",
                weights.matrix("model.embed_tokens.weight", spec.vocabSize(), spec.hiddenSize())
                        .toFloats(),
                spec.vocabSize(),
                spec.hiddenSize());
        parameters.add(embedding);
        return builder.build(embedding, parameters);
    }

    private abstract static class Builder {
        final ModelSpec spec;
        final WeightSource weights;

        Builder(ModelSpec spec, WeightSource weights) {
            this.spec = spec;
            this.weights = weights;
        }

        abstract LoraLinear linear(String path, String module, int out, int in, boolean bias);

        abstract Norm norm(String name);

        TrainableModel build(Parameter trainableEmbedding, List<Parameter> parameters) {
            ModelSpec t = spec;
            Block[] blocks = new Block[t.layers()];
            for (int i = 0; i < t.layers(); i++) {
                String layer = "model.layers." + i;
                String attention = layer + ".self_attn.";
                String mlp = layer + ".mlp.";
                blocks[i] = new Block(
                        norm(layer + ".input_layernorm.weight"),
                        norm(layer + ".post_attention_layernorm.weight"),
                        t.sandwichNorms() ? norm(layer + ".pre_feedforward_layernorm.weight") : null,
                        t.sandwichNorms() ? norm(layer + ".post_feedforward_layernorm.weight") : null,
                        linear(attention + "q_proj", "q_proj", t.qDim(), t.hiddenSize(), t.qkvBias()),
                        linear(attention + "k_proj", "k_proj", t.kvDim(), t.hiddenSize(), t.qkvBias()),
                        linear(attention + "v_proj", "v_proj", t.kvDim(), t.hiddenSize(), t.qkvBias()),
                        linear(attention + "o_proj", "o_proj", t.hiddenSize(), t.qDim(), t.outputBias()),
                        linear(mlp + "gate_proj", "gate_proj", t.intermediateSize(), t.hiddenSize(), t.mlpBias()),
                        linear(mlp + "up_proj", "up_proj", t.intermediateSize(), t.hiddenSize(), t.mlpBias()),
                        linear(mlp + "down_proj", "down_proj", t.hiddenSize(), t.intermediateSize(), t.mlpBias()));
            }
            Norm finalNorm = norm("model.norm.weight");
            FrozenMatrix frozenEmbedding = trainableEmbedding == null
                    ? weights.matrix("model.embed_tokens.weight", t.vocabSize(), t.hiddenSize())
                    : null;
            LoraLinear lmHead;
            if (t.tiedEmbeddings()) {
                lmHead = trainableEmbedding != null
                        ? LoraLinear.trainable(trainableEmbedding, null)
                        : LoraLinear.frozen(frozenEmbedding, null);
            } else if (trainableEmbedding != null) {
                Parameter head = new Parameter(
                        "lm_head.weight",
                        weights.matrix("lm_head.weight", t.vocabSize(), t.hiddenSize())
                                .toFloats(),
                        t.vocabSize(),
                        t.hiddenSize());
                parameters.add(head);
                lmHead = LoraLinear.trainable(head, null);
            } else {
                lmHead = LoraLinear.frozen(weights.matrix("lm_head.weight", t.vocabSize(), t.hiddenSize()), null);
            }
            return new TrainableModel(t, frozenEmbedding, trainableEmbedding, blocks, finalNorm, lmHead, parameters);
        }
    }

    public ModelSpec spec() {
        return spec;
    }

    /** The trainable parameters, in a fixed order (layer by layer, as the adapter file lists them). */
    public List<Parameter> parameters() {
        return parameters;
    }

    // ---------------------------------------------------------------------------------------------------------
    // Forward

    /** The token layout of a packed batch. */
    private record Packing(int tokens, int[] starts, int[] lengths, int[] positions, int[] ids) {
        static Packing of(List<int[]> sequences) {
            int total = 0;
            for (int[] ids : sequences) {
                total += ids.length;
            }
            int[] starts = new int[sequences.size()];
            int[] lengths = new int[sequences.size()];
            int[] positions = new int[total];
            int[] ids = new int[total];
            int at = 0;
            for (int s = 0; s < sequences.size(); s++) {
                int[] seq = sequences.get(s);
                starts[s] = at;
                lengths[s] = seq.length;
                for (int t = 0; t < seq.length; t++) {
                    positions[at + t] = t;
                    ids[at + t] = seq[t];
                }
                at += seq.length;
            }
            return new Packing(total, starts, lengths, positions, ids);
        }

        int maxLength() {
            return Arrays.stream(lengths).max().orElse(0);
        }
    }

    /** What one block keeps for its backward pass. */
    private record BlockCache(
            float[] x,
            float[] attentionInput,
            LoraLinear.Cache q,
            LoraLinear.Cache k,
            LoraLinear.Cache v,
            float[] queries,
            float[] keys,
            float[] values,
            LoraLinear.Cache o,
            float[] attentionOutput,
            float[] afterAttention,
            float[] mlpInput,
            LoraLinear.Cache gate,
            LoraLinear.Cache up,
            float[] gatePre,
            float[] upOut,
            LoraLinear.Cache down,
            float[] mlpOutput) {}

    private record ForwardCache(
            Packing packing,
            float[][] cos,
            float[][] sin,
            BlockCache[] blocks,
            float[] finalInput,
            LoraLinear.Cache head) {}

    /** Logits [T, vocab] of one sequence in evaluation mode (no dropout), the same numbers as inference. */
    public float[] logits(int[] ids) {
        return forward(Packing.of(List.of(ids)), null, null);
    }

    private float[] forward(Packing packing, SplittableRandom dropout, ForwardCache[] cacheOut) {
        ModelSpec t = spec;
        int n = packing.tokens();
        int hidden = t.hiddenSize();
        // Rope tables per token: positions restart in each sequence, and dynamic scaling depends on its length.
        float[][] cos = new float[n][t.headDim() / 2];
        float[][] sin = new float[n][t.headDim() / 2];
        for (int s = 0; s < packing.starts().length; s++) {
            Rope.Frequencies frequencies = t.rope().frequencies(packing.lengths()[s]);
            for (int i = packing.starts()[s]; i < packing.starts()[s] + packing.lengths()[s]; i++) {
                Rope.table(frequencies, packing.positions()[i], cos[i], sin[i]);
            }
        }

        float[] x = new float[n * hidden];
        for (int i = 0; i < n; i++) {
            embeddingRow(packing.ids()[i], x, i * hidden);
        }

        BlockCache[] caches = new BlockCache[blocks.length];
        for (int layer = 0; layer < blocks.length; layer++) {
            Block block = blocks[layer];
            boolean keep = cacheOut != null;
            LoraLinear.Cache[] qc = new LoraLinear.Cache[1], kc = new LoraLinear.Cache[1], vc = new LoraLinear.Cache[1];
            LoraLinear.Cache[] oc = new LoraLinear.Cache[1], gc = new LoraLinear.Cache[1];
            LoraLinear.Cache[] uc = new LoraLinear.Cache[1], dc = new LoraLinear.Cache[1];

            // Attention: x + [post-norm](o_proj(attention(rope(q), rope(k), v)))
            float[] attentionInput = norm(x, n, block.inputNorm());
            float[] q = block.q().forward(attentionInput, n, dropout, keep ? qc : null);
            float[] k = block.k().forward(attentionInput, n, dropout, keep ? kc : null);
            float[] v = block.v().forward(attentionInput, n, dropout, keep ? vc : null);
            rotate(q, packing, t.heads(), cos, sin);
            rotate(k, packing, t.kvHeads(), cos, sin);
            float[] attended = attention(q, k, v, packing, windows[layer]);
            float[] attentionOutput = block.o().forward(attended, n, dropout, keep ? oc : null);
            float[] attentionDelta =
                    t.sandwichNorms() ? norm(attentionOutput, n, block.postAttentionNorm()) : attentionOutput;
            float[] afterAttention = x.clone();
            add(afterAttention, attentionDelta);

            // MLP: x + [post-norm](down(act(gate(x')) · up(x')))
            Norm mlpNorm = t.sandwichNorms() ? block.preFeedforwardNorm() : block.postAttentionNorm();
            float[] mlpInput = norm(afterAttention, n, mlpNorm);
            float[] gatePre = block.gate().forward(mlpInput, n, dropout, keep ? gc : null);
            float[] upOut = block.up().forward(mlpInput, n, dropout, keep ? uc : null);
            float[] gated = gatePre.clone();
            t.activation().gate(gated, upOut, 0, gated.length);
            float[] mlpOutput = block.down().forward(gated, n, dropout, keep ? dc : null);
            float[] mlpDelta = t.sandwichNorms() ? norm(mlpOutput, n, block.postFeedforwardNorm()) : mlpOutput;
            float[] next = afterAttention.clone();
            add(next, mlpDelta);

            if (keep) {
                caches[layer] = new BlockCache(
                        x,
                        attentionInput,
                        qc[0],
                        kc[0],
                        vc[0],
                        q,
                        k,
                        v,
                        oc[0],
                        attentionOutput,
                        afterAttention,
                        mlpInput,
                        gc[0],
                        uc[0],
                        gatePre,
                        upOut,
                        dc[0],
                        mlpOutput);
            }
            x = next;
        }

        float[] finalInput = x;
        float[] normed = norm(finalInput, n, finalNorm);
        LoraLinear.Cache[] hc = new LoraLinear.Cache[1];
        float[] logits = lmHead.forward(normed, n, null, cacheOut != null ? hc : null);
        if (t.finalSoftcap() > 0) {
            Softmax.softcap(logits, 0, logits.length, t.finalSoftcap());
        }
        if (cacheOut != null) {
            cacheOut[0] = new ForwardCache(packing, cos, sin, caches, finalInput, hc[0]);
        }
        return logits;
    }

    private void embeddingRow(int id, float[] x, int offset) {
        int hidden = spec.hiddenSize();
        float scale = spec.embeddingScale();
        if (trainableEmbedding != null) {
            float[] table = trainableEmbedding.values();
            for (int c = 0; c < hidden; c++) {
                x[offset + c] = table[id * hidden + c] * scale;
            }
        } else {
            for (int c = 0; c < hidden; c++) {
                x[offset + c] = frozenEmbedding.get(id, c) * scale;
            }
        }
    }

    private float[] norm(float[] x, int n, Norm norm) {
        int hidden = spec.hiddenSize();
        float[] out = new float[x.length];
        for (int i = 0; i < n; i++) {
            RmsNorm.forward(
                    x, i * hidden, norm.weight(), spec.gemmaNorms(), spec.rmsNormEps(), out, i * hidden, hidden);
        }
        return out;
    }

    private void normBackward(float[] x, int n, Norm norm, float[] dy, float[] dx) {
        int hidden = spec.hiddenSize();
        for (int i = 0; i < n; i++) {
            RmsNorm.backward(
                    x,
                    i * hidden,
                    norm.weight(),
                    spec.gemmaNorms(),
                    spec.rmsNormEps(),
                    dy,
                    i * hidden,
                    dx,
                    i * hidden,
                    norm.gradOrNull(),
                    hidden);
        }
    }

    private void rotate(float[] x, Packing packing, int heads, float[][] cos, float[][] sin) {
        int headDim = spec.headDim();
        int width = heads * headDim;
        for (int i = 0; i < packing.tokens(); i++) {
            for (int h = 0; h < heads; h++) {
                Rope.rotate(x, i * width + h * headDim, cos[i], sin[i]);
            }
        }
    }

    private void rotateBackward(float[] dx, Packing packing, int heads, float[][] cos, float[][] sin) {
        int headDim = spec.headDim();
        int width = heads * headDim;
        for (int i = 0; i < packing.tokens(); i++) {
            for (int h = 0; h < heads; h++) {
                Rope.rotateBackward(dx, i * width + h * headDim, cos[i], sin[i]);
            }
        }
    }

    /** The first key a query at sequence position {@code p} sees: all earlier ones, or the last {@code window}. */
    private static int firstVisible(int p, int window) {
        return window > 0 ? Math.max(0, p - window + 1) : 0;
    }

    private float[] attention(float[] q, float[] k, float[] v, Packing packing, int window) {
        int n = packing.tokens();
        float[] out = new float[n * spec.qDim()];
        int[] sequenceOf = sequenceIndex(packing);
        int maxLength = packing.maxLength();
        KernelPool.forRanges(n, (long) maxLength * spec.qDim(), (start, end) -> {
            float[] scores = new float[maxLength];
            for (int i = start; i < end; i++) {
                int seqStart = packing.starts()[sequenceOf[i]];
                int p = packing.positions()[i];
                Attention.forward(
                        attentionShape,
                        q,
                        i * spec.qDim(),
                        k,
                        v,
                        seqStart + firstVisible(p, window),
                        i,
                        scores,
                        out,
                        i * spec.qDim());
            }
        });
        return out;
    }

    private void attentionBackward(
            float[] q,
            float[] k,
            float[] v,
            float[] dOut,
            Packing packing,
            int window,
            float[] dq,
            float[] dk,
            float[] dv) {
        int kvHeads = spec.kvHeads();
        int group = spec.heads() / kvHeads;
        int sequences = packing.starts().length;
        int maxLength = packing.maxLength();
        // One task per (sequence, kv head): tasks write disjoint columns or rows of dq, dk and dv.
        KernelPool.forRanges(sequences * kvHeads, (long) maxLength * maxLength * spec.headDim() * group, (from, to) -> {
            float[] probs = new float[maxLength];
            float[] capped = new float[maxLength];
            float[] dScores = new float[maxLength];
            for (int task = from; task < to; task++) {
                int s = task / kvHeads;
                int kvHead = task % kvHeads;
                int seqStart = packing.starts()[s];
                for (int p = 0; p < packing.lengths()[s]; p++) {
                    int i = seqStart + p;
                    Attention.backward(
                            attentionShape,
                            q,
                            i * spec.qDim(),
                            k,
                            v,
                            seqStart + firstVisible(p, window),
                            i,
                            dOut,
                            i * spec.qDim(),
                            dq,
                            dk,
                            dv,
                            kvHead * group,
                            (kvHead + 1) * group,
                            probs,
                            capped,
                            dScores);
                }
            }
        });
    }

    private static int[] sequenceIndex(Packing packing) {
        int[] sequenceOf = new int[packing.tokens()];
        for (int s = 0; s < packing.starts().length; s++) {
            Arrays.fill(sequenceOf, packing.starts()[s], packing.starts()[s] + packing.lengths()[s], s);
        }
        return sequenceOf;
    }

    private static void add(float[] into, float[] delta) {
        for (int i = 0; i < into.length; i++) {
            into[i] += delta[i];
        }
    }

    // ---------------------------------------------------------------------------------------------------------
    // Loss and backward

    /** Summed loss of a batch and the number of positions it was summed over. */
    public record Loss(double sum, int tokens) {}

    /**
     * Forward and backward over {@code batch}: returns the summed cross-entropy over labelled positions and adds
     * {@code lossWeight·d(sum)/dθ} to every parameter's gradient. {@code dropoutSeed} draws the LoRA dropout masks.
     */
    public Loss forwardBackward(List<Sequence> batch, float lossWeight, long dropoutSeed) {
        Packing packing = Packing.of(batch.stream().map(Sequence::ids).toList());
        ForwardCache[] cacheOut = new ForwardCache[1];
        float[] logits = forward(packing, new SplittableRandom(dropoutSeed), cacheOut);
        int[] targets = targets(batch, packing);
        float[] capped = spec.finalSoftcap() > 0 ? logits.clone() : null;
        Loss loss = new Loss(
                CrossEntropy.forwardBackward(logits, packing.tokens(), spec.vocabSize(), targets, lossWeight),
                countTargets(targets));
        if (capped != null) {
            Softmax.softcapBackward(capped, logits, 0, logits.length, spec.finalSoftcap());
        }
        backward(logits, cacheOut[0]);
        return loss;
    }

    /** The summed loss of {@code batch} without gradients (evaluation mode). */
    public Loss loss(List<Sequence> batch) {
        Packing packing = Packing.of(batch.stream().map(Sequence::ids).toList());
        float[] logits = forward(packing, null, null);
        int[] targets = targets(batch, packing);
        return new Loss(CrossEntropy.loss(logits, packing.tokens(), spec.vocabSize(), targets), countTargets(targets));
    }

    /** The gradient of {@code Σ logits⊙r}: for checking the backward pass against finite differences. */
    void backwardFromLogits(List<int[]> sequences, float[] dLogits, long dropoutSeed) {
        Packing packing = Packing.of(sequences);
        ForwardCache[] cacheOut = new ForwardCache[1];
        float[] logits = forward(packing, new SplittableRandom(dropoutSeed), cacheOut);
        float[] d = dLogits.clone();
        if (spec.finalSoftcap() > 0) {
            Softmax.softcapBackward(logits, d, 0, d.length, spec.finalSoftcap());
        }
        backward(d, cacheOut[0]);
    }

    /** Logits of packed sequences in training mode with the dropout masks of {@code dropoutSeed}. */
    float[] logits(List<int[]> sequences, long dropoutSeed) {
        return forward(Packing.of(sequences), new SplittableRandom(dropoutSeed), null);
    }

    private static int[] targets(List<Sequence> batch, Packing packing) {
        int[] targets = new int[packing.tokens()];
        for (int s = 0; s < batch.size(); s++) {
            System.arraycopy(batch.get(s).labels(), 0, targets, packing.starts()[s], packing.lengths()[s]);
        }
        return targets;
    }

    private static int countTargets(int[] targets) {
        int count = 0;
        for (int target : targets) {
            if (target != CrossEntropy.IGNORE) {
                count++;
            }
        }
        return count;
    }

    private void backward(float[] dLogits, ForwardCache cache) {
        ModelSpec t = spec;
        Packing packing = cache.packing();
        int n = packing.tokens();
        float[] dNormed = lmHead.backward(dLogits, cache.head());
        float[] dx = new float[n * t.hiddenSize()];
        normBackward(cache.finalInput(), n, finalNorm, dNormed, dx);

        for (int layer = blocks.length - 1; layer >= 0; layer--) {
            Block block = blocks[layer];
            BlockCache c = cache.blocks()[layer];
            // dx is dL/d(block output); the residual passes it through unchanged.
            float[] dAfterAttention = dx.clone();
            float[] dMlpOutput = dx;
            if (t.sandwichNorms()) {
                dMlpOutput = new float[dx.length];
                normBackward(c.mlpOutput(), n, block.postFeedforwardNorm(), dx, dMlpOutput);
            }
            float[] dGated = block.down().backward(dMlpOutput, c.down());
            float[] dGatePre = new float[dGated.length];
            float[] dUp = new float[dGated.length];
            t.activation().gateBackward(c.gatePre(), c.upOut(), dGated, dGatePre, dUp, 0, dGated.length);
            float[] dMlpInput = block.gate().backward(dGatePre, c.gate());
            add(dMlpInput, block.up().backward(dUp, c.up()));
            Norm mlpNorm = t.sandwichNorms() ? block.preFeedforwardNorm() : block.postAttentionNorm();
            normBackward(c.afterAttention(), n, mlpNorm, dMlpInput, dAfterAttention);

            float[] dBlockInput = dAfterAttention.clone();
            float[] dAttentionOutput = dAfterAttention;
            if (t.sandwichNorms()) {
                dAttentionOutput = new float[dx.length];
                normBackward(c.attentionOutput(), n, block.postAttentionNorm(), dAfterAttention, dAttentionOutput);
            }
            float[] dAttended = block.o().backward(dAttentionOutput, c.o());
            float[] dq = new float[n * t.qDim()];
            float[] dk = new float[n * t.kvDim()];
            float[] dv = new float[n * t.kvDim()];
            attentionBackward(c.queries(), c.keys(), c.values(), dAttended, packing, windows[layer], dq, dk, dv);
            rotateBackward(dq, packing, t.heads(), cache.cos(), cache.sin());
            rotateBackward(dk, packing, t.kvHeads(), cache.cos(), cache.sin());
            float[] dAttentionInput = block.q().backward(dq, c.q());
            add(dAttentionInput, block.k().backward(dk, c.k()));
            add(dAttentionInput, block.v().backward(dv, c.v()));
            normBackward(c.x(), n, block.inputNorm(), dAttentionInput, dBlockInput);
            dx = dBlockInput;
        }

        if (trainableEmbedding != null) {
            float[] grad = trainableEmbedding.grad();
            int hidden = t.hiddenSize();
            for (int i = 0; i < n; i++) {
                int row = packing.ids()[i] * hidden;
                for (int col = 0; col < hidden; col++) {
                    grad[row + col] += dx[i * hidden + col] * t.embeddingScale();
                }
            }
        }
    }
}
