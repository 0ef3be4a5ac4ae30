package dev.safemerge.tensor;

/**
 * The two LoRA factors of one adapted linear layer, in float32 and row-major as PEFT stores them.
 *
 * @param a lora_A, shape [rank, in]
 * @param b lora_B, shape [out, rank]
 * @param scale the factor applied to B·A (alpha/r or alpha/sqrt(r))
 * @param fanInFanOut the base weight is stored [in, out], so the delta is (B·A)ᵀ
 */
@SuppressWarnings("ArrayRecordComponent") // large buffers passed without copying, as with every tensor array here
public record LoraWeights(float[] a, float[] b, int rank, int in, int out, float scale, boolean fanInFanOut) {
    public LoraWeights {
        if (rank <= 0 || in <= 0 || out <= 0) {
            throw new IllegalArgumentException(
                    "LoRA dimensions must be positive: rank " + rank + ", in " + in + ", out " + out);
        }
        if (a.length != (long) rank * in || b.length != (long) out * rank) {
            throw new IllegalArgumentException("LoRA factor sizes " + a.length + " and " + b.length
                    + " do not match rank " + rank + ", in " + in + ", out " + out);
        }
    }

    /** Shape of the base weight this adapts: [out, in], or [in, out] with fan_in_fan_out. */
    public long[] baseShape() {
        return fanInFanOut ? new long[] {in, out} : new long[] {out, in};
    }

    /** Columns of the base weight as stored: the length of one {@link #deltaRow} row. */
    public int columns() {
        return fanInFanOut ? out : in;
    }

    /** scale·B·A in float32 laid out like the base weight (transposed with fan_in_fan_out). */
    public float[] delta() {
        float[] product = new float[Math.multiplyExact(out, in)];
        readDelta(0, product, 0, product.length);
        return product;
    }

    /** Elements {@code [firstElement, firstElement + count)} of {@link #delta()} into {@code dst} at {@code dstOffset}. */
    public void readDelta(long firstElement, float[] dst, int dstOffset, int count) {
        deltaRange(firstElement, dst, dstOffset, count, false);
    }

    /** Adds elements {@code [firstElement, firstElement + count)} of {@link #delta()} to {@code dst} at {@code dstOffset}. */
    public void addDelta(long firstElement, float[] dst, int dstOffset, int count) {
        deltaRange(firstElement, dst, dstOffset, count, true);
    }

    /** Computes the range row by row, so a read never holds more of the delta than one row of it. */
    private void deltaRange(long firstElement, float[] dst, int dstOffset, int count, boolean add) {
        int columns = columns();
        float[] row = new float[columns];
        long element = firstElement;
        long end = firstElement + count;
        while (element < end) {
            int from = (int) (element % columns);
            int to = (int) Math.min(columns, from + (end - element));
            deltaRow((int) (element / columns), row);
            int at = dstOffset + (int) (element - firstElement);
            if (add) {
                for (int c = from; c < to; c++) {
                    dst[at + c - from] += row[c];
                }
            } else {
                System.arraycopy(row, from, dst, at, to - from);
            }
            element += to - from;
        }
    }

    /** One row of {@link #delta()} into {@code dst} (length = columns of the base weight). */
    public void deltaRow(int row, float[] dst) {
        if (!fanInFanOut) {
            // row o of B·A = sum over k of B[o,k] * A[k,:]
            java.util.Arrays.fill(dst, 0, in, 0f);
            for (int k = 0; k < rank; k++) {
                float bk = b[row * rank + k];
                int aRow = k * in;
                for (int i = 0; i < in; i++) {
                    dst[i] += bk * a[aRow + i];
                }
            }
            for (int i = 0; i < in; i++) {
                dst[i] *= scale;
            }
        } else {
            // row i of (B·A)ᵀ = column i of B·A: element o = sum over k of B[o,k] * A[k,i]
            for (int o = 0; o < out; o++) {
                float sum = 0;
                for (int k = 0; k < rank; k++) {
                    sum += b[o * rank + k] * a[k * in + row];
                }
                dst[o] = sum * scale;
            }
        }
    }
}
