package dev.safemerge.model;

import dev.safemerge.model.generate.KvCache;
import dev.safemerge.model.generate.ScaledAdapter;
import dev.safemerge.model.ops.Activation;
import dev.safemerge.model.ops.Attention;
import dev.safemerge.model.ops.RmsNorm;
import dev.safemerge.model.ops.Rope;
import dev.safemerge.model.ops.Softmax;
import dev.safemerge.tensor.kernel.KernelPool;
import dev.safemerge.tensor.kernel.Kernels;
import dev.safemerge.tensor.kernel.Matrix;
import java.util.List;

/**
 * The decoder forward pass of all supported architectures, in float32 over weights kept in their stored format.
 * One call processes new tokens of several sequences together (a prompt chunk, or one token each while decoding):
 * the linear layers run over all their rows at once, attention runs per row over that row's own cache.
 */
final class Transformer {
    private final ModelSpec spec;
    private final Matrix embeddings;
    private final List<LayerWeights> layers;
    private final float[] finalNorm;
    private final Matrix lmHead;
    private final Attention.Shape[] attentionShapes;
    private final Rope.Frequencies staticFrequencies;

    Transformer(ModelSpec spec, Matrix embeddings, List<LayerWeights> layers, float[] finalNorm, Matrix lmHead) {
        this.spec = spec;
        this.embeddings = embeddings;
        this.layers = layers;
        this.finalNorm = finalNorm;
        this.lmHead = lmHead;
        this.attentionShapes = new Attention.Shape[spec.layers()];
        for (int l = 0; l < spec.layers(); l++) {
            attentionShapes[l] = new Attention.Shape(
                    spec.heads(), spec.kvHeads(), spec.headDim(), spec.attentionScale(), spec.attentionSoftcap(), true);
        }
        this.staticFrequencies =
                spec.rope().dependsOnLength() ? null : spec.rope().frequencies(0);
    }

    ModelSpec spec() {
        return spec;
    }

    /** Bytes of weights read per forward step (what decoding streams from memory for each token). */
    long weightBytes() {
        long bytes = lmHead.byteSize() + 4L * finalNorm.length;
        for (LayerWeights layer : layers) {
            bytes += layer.byteSize();
        }
        return bytes;
    }

    /**
     * Appends {@code tokens.get(s)} to sequence s (its cache grows by that many positions) and returns logits as a
     * flat array of {@code [rows, vocab]}: every new position of every sequence in order when {@code allPositions},
     * else only the last new position of each sequence.
     */
    float[] forward(List<KvCache> caches, List<int[]> tokens, List<ScaledAdapter> adapters, boolean allPositions) {
        int sequences = caches.size();
        int rows = 0;
        for (int[] t : tokens) {
            rows += t.length;
        }
        int[] rowSequence = new int[rows];
        int[] rowPosition = new int[rows];
        Adapter[] rowAdapter = new Adapter[rows];
        float[] rowScale = new float[rows];
        int hidden = spec.hiddenSize();
        float[] x = new float[rows * hidden];
        int row = 0;
        for (int s = 0; s < sequences; s++) {
            KvCache cache = caches.get(s);
            int[] ids = tokens.get(s);
            ScaledAdapter adapter = adapters.get(s);
            cache.reserve(ids.length);
            for (int i = 0; i < ids.length; i++) {
                if (ids[i] < 0 || ids[i] >= spec.vocabSize()) {
                    throw new IllegalArgumentException(
                            "token id " + ids[i] + " is outside the vocabulary of " + spec.vocabSize());
                }
                rowSequence[row] = s;
                rowPosition[row] = cache.length() + i;
                if (adapter != null) {
                    rowAdapter[row] = (Adapter) adapter.adapter();
                    rowScale[row] = adapter.scale();
                }
                embeddings.readRow(ids[i], x, row * hidden);
                if (spec.embeddingScale() != 1f) {
                    for (int d = 0; d < hidden; d++) {
                        x[row * hidden + d] *= spec.embeddingScale();
                    }
                }
                row++;
            }
        }
        float[][] cos = new float[rows][spec.headDim() / 2];
        float[][] sin = new float[rows][spec.headDim() / 2];
        ropeTables(caches, tokens, rowPosition, cos, sin);

        AdapterRows adapterRows = AdapterRows.of(rowAdapter, rowScale);
        Buffers buffers = new Buffers(spec, rows);
        for (int l = 0; l < layers.size(); l++) {
            layer(l, caches, rowSequence, rowPosition, cos, sin, x, rows, adapterRows, buffers);
        }
        for (int s = 0; s < sequences; s++) {
            caches.get(s).advance(tokens.get(s).length);
        }
        return logits(x, rows, tokens, allPositions);
    }

    private void ropeTables(List<KvCache> caches, List<int[]> tokens, int[] rowPosition, float[][] cos, float[][] sin) {
        int row = 0;
        for (int s = 0; s < caches.size(); s++) {
            int count = tokens.get(s).length;
            // dynamic NTK: the whole step uses the frequencies of its longest length, like HF
            Rope.Frequencies frequencies = staticFrequencies != null
                    ? staticFrequencies
                    : spec.rope().frequencies(caches.get(s).length() + count);
            for (int i = 0; i < count; i++, row++) {
                Rope.table(frequencies, rowPosition[row], cos[row], sin[row]);
            }
        }
    }

    /**
     * The activations of one step's layers, allocated once per step and reused by every layer: each layer overwrites
     * them entirely before reading them.
     */
    private record Buffers(
            float[] normed,
            float[] q,
            float[] k,
            float[] v,
            float[] attended,
            float[] attentionOut,
            float[] gate,
            float[] up,
            float[] down) {
        Buffers(ModelSpec spec, int rows) {
            this(
                    new float[rows * spec.hiddenSize()],
                    new float[rows * spec.qDim()],
                    new float[rows * spec.kvDim()],
                    new float[rows * spec.kvDim()],
                    new float[rows * spec.qDim()],
                    new float[rows * spec.hiddenSize()],
                    new float[rows * spec.intermediateSize()],
                    new float[rows * spec.intermediateSize()],
                    new float[rows * spec.hiddenSize()]);
        }
    }

    private void layer(
            int l,
            List<KvCache> caches,
            int[] rowSequence,
            int[] rowPosition,
            float[][] cos,
            float[][] sin,
            float[] x,
            int rows,
            AdapterRows adapterRows,
            Buffers buffers) {
        LayerWeights w = layers.get(l);
        int hidden = spec.hiddenSize();
        boolean gemmaNorm = spec.gemmaNorms();
        float eps = spec.rmsNormEps();
        float[] normed = buffers.normed();
        for (int r = 0; r < rows; r++) {
            RmsNorm.forward(x, r * hidden, w.inputNorm(), gemmaNorm, eps, normed, r * hidden, hidden);
        }
        int qDim = spec.qDim();
        int kvDim = spec.kvDim();
        int headDim = spec.headDim();
        float[] q = buffers.q();
        float[] k = buffers.k();
        float[] v = buffers.v();
        project(
                l,
                new Projection[] {Projection.Q, Projection.K, Projection.V},
                new Linear[] {w.q(), w.k(), w.v()},
                adapterRows,
                normed,
                rows,
                new float[][] {q, k, v});
        for (int r = 0; r < rows; r++) {
            for (int h = 0; h < spec.heads(); h++) {
                Rope.rotate(q, r * qDim + h * headDim, cos[r], sin[r]);
            }
            for (int h = 0; h < spec.kvHeads(); h++) {
                Rope.rotate(k, r * kvDim + h * headDim, cos[r], sin[r]);
            }
        }
        float[] attended = buffers.attended();
        int window = spec.window(l);
        Attention.Shape shape = attentionShapes[l];
        KernelPool.forRanges(rows, (long) qDim * 64, (start, end) -> {
            float[] scores = new float[rowPosition[end - 1] + 1];
            for (int r = start; r < end; r++) {
                int position = rowPosition[r];
                int first = window > 0 ? Math.max(0, position - window + 1) : 0;
                if (scores.length < position + 1) {
                    scores = new float[position + 1];
                }
                KvCache cache = caches.get(rowSequence[r]);
                // the cache holds the positions before this step; this step's own rows come from k and v
                int cached = cache.length();
                Attention.Rows keyRows = new Attention.Rows(
                        cache.keys(l), cache.values(l), cache.slots(l), cached, k, v, r - (position - cached));
                Attention.forward(shape, q, r * qDim, keyRows, first, position, scores, attended, r * qDim);
            }
        });
        // written after every row attended, so that a chunk longer than a window reads its keys before the ring wraps
        for (int r = 0; r < rows; r++) {
            KvCache cache = caches.get(rowSequence[r]);
            int slot = rowPosition[r] % cache.slots(l);
            System.arraycopy(k, r * kvDim, cache.keys(l), slot * kvDim, kvDim);
            System.arraycopy(v, r * kvDim, cache.values(l), slot * kvDim, kvDim);
        }
        float[] attentionOut = buffers.attentionOut();
        project(l, Projection.O, w.o(), adapterRows, attended, rows, attentionOut);
        if (spec.sandwichNorms()) {
            for (int r = 0; r < rows; r++) {
                RmsNorm.forward(
                        attentionOut, r * hidden, w.postAttentionNorm(), true, eps, attentionOut, r * hidden, hidden);
            }
        }
        add(x, attentionOut);

        float[] mlpNorm = spec.sandwichNorms() ? w.preFeedforwardNorm() : w.postAttentionNorm();
        for (int r = 0; r < rows; r++) {
            RmsNorm.forward(x, r * hidden, mlpNorm, gemmaNorm, eps, normed, r * hidden, hidden);
        }
        int intermediate = spec.intermediateSize();
        float[] gate = buffers.gate();
        float[] up = buffers.up();
        project(
                l,
                new Projection[] {Projection.GATE, Projection.UP},
                new Linear[] {w.gate(), w.up()},
                adapterRows,
                normed,
                rows,
                new float[][] {gate, up});
        // elementwise, so splitting it over the cores leaves every value as it is; a decode row's is too small to split
        Activation activation = spec.activation();
        KernelPool.forRanges(
                rows * intermediate,
                ACTIVATION_COST,
                (start, end) -> activation.gateFast(gate, up, start, end - start));
        float[] down = buffers.down();
        project(l, Projection.DOWN, w.down(), adapterRows, gate, rows, down);
        if (spec.sandwichNorms()) {
            for (int r = 0; r < rows; r++) {
                RmsNorm.forward(down, r * hidden, w.postFeedforwardNorm(), true, eps, down, r * hidden, hidden);
            }
        }
        add(x, down);
    }

    /** Rough multiply-adds of one activation (an exponential), for {@link KernelPool#forRanges}. */
    private static final long ACTIVATION_COST = 16;

    /** {@link #project} of projections of the same input, their base products as one job of the pool. */
    private static void project(
            int layer,
            Projection[] ps,
            Linear[] linears,
            AdapterRows adapterRows,
            float[] x,
            int rows,
            float[][] outs) {
        Linear.forward(linears, x, rows, outs);
        for (int i = 0; i < ps.length; i++) {
            adapterRows.add(layer, ps[i], x, linears[i].in(), outs[i], linears[i].out());
        }
    }

    /** The base product of every row, then each adapter group's low-rank product on its rows. */
    private static void project(
            int layer, Projection p, Linear linear, AdapterRows adapterRows, float[] x, int rows, float[] out) {
        linear.forward(x, rows, out);
        adapterRows.add(layer, p, x, linear.in(), out, linear.out());
    }

    private static void add(float[] x, float[] delta) {
        for (int i = 0; i < x.length; i++) {
            x[i] += delta[i];
        }
    }

    private float[] logits(float[] x, int rows, List<int[]> tokens, boolean allPositions) {
        int hidden = spec.hiddenSize();
        int outputs = allPositions ? rows : tokens.size();
        float[] normed = new float[outputs * hidden];
        int out = 0;
        int rowEnd = 0;
        for (int[] t : tokens) {
            int rowStart = rowEnd;
            rowEnd += t.length;
            for (int r = allPositions ? rowStart : rowEnd - 1; r < rowEnd; r++, out++) {
                RmsNorm.forward(
                        x, r * hidden, finalNorm, spec.gemmaNorms(), spec.rmsNormEps(), normed, out * hidden, hidden);
            }
        }
        float[] logits = new float[outputs * spec.vocabSize()];
        Kernels.get().matmul(lmHead, normed, outputs, logits);
        if (spec.finalSoftcap() > 0) {
            Softmax.softcap(logits, 0, logits.length, spec.finalSoftcap());
        }
        return logits;
    }
}
