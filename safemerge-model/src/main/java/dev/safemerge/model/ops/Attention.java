package dev.safemerge.model.ops;

import dev.safemerge.tensor.kernel.Kernels;

/**
 * Scaled dot-product attention of one query position over a range of cached key/value positions, for all heads.
 * Grouped-query attention: query head h reads kv head {@code h / (heads / kvHeads)}. Keys and values are stored
 * per position as {@code [kvHeads, headDim]} rows.
 */
public final class Attention {
    private Attention() {}

    /** Shapes and score transforms shared by every position of a layer. */
    public record Shape(int heads, int kvHeads, int headDim, float scale, float softcap) {
        public Shape {
            if (heads % kvHeads != 0) {
                throw new IllegalArgumentException(heads + " heads are not a multiple of " + kvHeads + " kv heads");
            }
        }

        public int kvDim() {
            return kvHeads * headDim;
        }

        public int qDim() {
            return heads * headDim;
        }
    }

    /**
     * Attends query {@code q[qOffset..qOffset+heads·headDim)} over key positions {@code [firstKey, lastKey]}
     * (inclusive; the caller applies causality and the sliding window by choosing the range) and writes the head
     * outputs to {@code out[outOffset..)}.
     *
     * @param scores scratch of at least {@code lastKey − firstKey + 1} floats
     */
    public static void forward(
            Shape shape,
            float[] q,
            int qOffset,
            float[] keys,
            float[] values,
            int firstKey,
            int lastKey,
            float[] scores,
            float[] out,
            int outOffset) {
        Kernels kernels = Kernels.get();
        int headDim = shape.headDim();
        int kvDim = shape.kvDim();
        int group = shape.heads() / shape.kvHeads();
        int count = lastKey - firstKey + 1;
        for (int h = 0; h < shape.heads(); h++) {
            int kvHead = h / group;
            int qh = qOffset + h * headDim;
            for (int j = 0; j < count; j++) {
                int keyOffset = (firstKey + j) * kvDim + kvHead * headDim;
                scores[j] = kernels.dot(q, qh, keys, keyOffset, headDim) * shape.scale();
            }
            if (shape.softcap() > 0) {
                Softmax.softcap(scores, 0, count, shape.softcap());
            }
            Softmax.forward(scores, 0, count);
            int oh = outOffset + h * headDim;
            java.util.Arrays.fill(out, oh, oh + headDim, 0f);
            for (int j = 0; j < count; j++) {
                kernels.axpy(scores[j], values, (firstKey + j) * kvDim + kvHead * headDim, out, oh, headDim);
            }
        }
    }

    /**
     * Gradient of {@link #forward} for one query position and the query heads in [headStart, headEnd): recomputes
     * each head's attention weights from q and the keys (so the forward pass keeps nothing but q, k and v), then
     * adds dL/dq to {@code dq[qOffset..)}, and dL/dkeys and dL/dvalues to the rows of {@code dKeys}/{@code dValues}
     * laid out like keys and values.
     *
     * @param probs scratch of at least {@code lastKey − firstKey + 1} floats, as are {@code capped} and {@code dScores}
     */
    public static void backward(
            Shape shape,
            float[] q,
            int qOffset,
            float[] keys,
            float[] values,
            int firstKey,
            int lastKey,
            float[] dOut,
            int dOutOffset,
            float[] dq,
            float[] dKeys,
            float[] dValues,
            int headStart,
            int headEnd,
            float[] probs,
            float[] capped,
            float[] dScores) {
        Kernels kernels = Kernels.get();
        int headDim = shape.headDim();
        int kvDim = shape.kvDim();
        int group = shape.heads() / shape.kvHeads();
        int count = lastKey - firstKey + 1;
        for (int h = headStart; h < headEnd; h++) {
            int kvHead = h / group;
            int qh = qOffset + h * headDim;
            int oh = dOutOffset + h * headDim;
            for (int j = 0; j < count; j++) {
                int keyOffset = (firstKey + j) * kvDim + kvHead * headDim;
                probs[j] = kernels.dot(q, qh, keys, keyOffset, headDim) * shape.scale();
            }
            if (shape.softcap() > 0) {
                Softmax.softcap(probs, 0, count, shape.softcap());
                System.arraycopy(probs, 0, capped, 0, count);
            }
            Softmax.forward(probs, 0, count);
            for (int j = 0; j < count; j++) {
                int valueOffset = (firstKey + j) * kvDim + kvHead * headDim;
                dScores[j] = kernels.dot(dOut, oh, values, valueOffset, headDim);
                kernels.axpy(probs[j], dOut, oh, dValues, valueOffset, headDim);
            }
            Softmax.backward(probs, dScores, 0, count);
            if (shape.softcap() > 0) {
                Softmax.softcapBackward(capped, dScores, 0, count, shape.softcap());
            }
            for (int j = 0; j < count; j++) {
                int keyOffset = (firstKey + j) * kvDim + kvHead * headDim;
                float ds = dScores[j] * shape.scale();
                kernels.axpy(ds, keys, keyOffset, dq, qh, headDim);
                kernels.axpy(ds, q, qh, dKeys, keyOffset, headDim);
            }
        }
    }
}
