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
    /**
     * {@code fastSoftmax}: the scores' softmax through the kernels' exponential ({@link Softmax#forwardFast}, for
     * inference) rather than the reference ({@link Softmax#forward}, for training and its backward).
     */
    public record Shape(int heads, int kvHeads, int headDim, float scale, float softcap, boolean fastSoftmax) {
        /** The reference arithmetic, as training runs it. */
        public Shape(int heads, int kvHeads, int headDim, float scale, float softcap) {
            this(heads, kvHeads, headDim, scale, softcap, false);
        }

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
     * Where the keys and values of the positions a query attends are: positions before {@code cachedEnd} in a cache
     * whose rows form a ring of {@code slots} rows (position p at row {@code p % slots}; a sliding-window layer keeps
     * only its window), positions from {@code cachedEnd} on in the step's own rows, position {@code cachedEnd} at row
     * {@code stepRow}. A prompt chunk longer than the window thus reads its own keys before any of them overwrite
     * the ring.
     */
    public record Rows(
            float[] cachedKeys,
            float[] cachedValues,
            int slots,
            int cachedEnd,
            float[] stepKeys,
            float[] stepValues,
            int stepRow) {
        /** Every position in one pair of arrays, position p at row p. */
        public static Rows contiguous(float[] keys, float[] values) {
            return new Rows(keys, values, Integer.MAX_VALUE, Integer.MAX_VALUE, null, null, 0);
        }

        float[] keys(int position) {
            return position < cachedEnd ? cachedKeys : stepKeys;
        }

        float[] values(int position) {
            return position < cachedEnd ? cachedValues : stepValues;
        }

        int row(int position) {
            return position < cachedEnd ? position % slots : stepRow + position - cachedEnd;
        }

        /**
         * How many positions from {@code position} up to {@code lastKey} sit in consecutive rows of one array: up to
         * the end of the cached positions or of the ring, else to {@code lastKey}.
         */
        int run(int position, int lastKey) {
            long end = (long) lastKey + 1;
            if (position < cachedEnd) {
                end = Math.min(end, Math.min(cachedEnd, (long) position - position % slots + slots));
            }
            return (int) (end - position);
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
        forward(shape, q, qOffset, Rows.contiguous(keys, values), firstKey, lastKey, scores, out, outOffset);
    }

    /** As the forward pass over contiguous keys and values, over {@code rows}. */
    public static void forward(
            Shape shape,
            float[] q,
            int qOffset,
            Rows rows,
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
            for (int j = 0, run; j < count; j += run) {
                int position = firstKey + j;
                run = rows.run(position, lastKey);
                int keyOffset = rows.row(position) * kvDim + kvHead * headDim;
                kernels.dotRows(q, qh, rows.keys(position), keyOffset, kvDim, run, scores, j, headDim);
            }
            for (int j = 0; j < count; j++) {
                scores[j] *= shape.scale();
            }
            if (shape.softcap() > 0) {
                Softmax.softcap(scores, 0, count, shape.softcap());
            }
            if (shape.fastSoftmax()) {
                Softmax.forwardFast(scores, 0, count);
            } else {
                Softmax.forward(scores, 0, count);
            }
            int oh = outOffset + h * headDim;
            java.util.Arrays.fill(out, oh, oh + headDim, 0f);
            for (int j = 0, run; j < count; j += run) {
                int position = firstKey + j;
                run = rows.run(position, lastKey);
                int valueOffset = rows.row(position) * kvDim + kvHead * headDim;
                kernels.axpyRows(scores, j, rows.values(position), valueOffset, kvDim, run, out, oh, headDim);
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
