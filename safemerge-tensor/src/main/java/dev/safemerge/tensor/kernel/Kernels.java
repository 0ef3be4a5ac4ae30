package dev.safemerge.tensor.kernel;

/**
 * The hot loops of inference and training. {@link #get()} is the implementation {@link KernelProvider} chose for
 * the process: the Vector API one when the incubator module is present (the normal case), else the scalar one. Both compute the same sums;
 * over row-major matrices they differ only in the order of additions, so results agree to float rounding; over packed
 * matrices ({@link Matrix#packTo}) both compute each output as one chain of fused multiply-adds over its columns in
 * order (Q8: one chain per block of {@link Matrix#Q8_BLOCK} columns, the blocks' sums times their scales in another),
 * so they agree bit for bit.
 */
public interface Kernels {
    /**
     * For each input row b &lt; batch and each weight row r in [rowStart, rowEnd): {@code out[b*w.rows()+r] = Σ_c
     * w[r,c]·x[b*w.cols()+c]}. Single-threaded; {@link #matmul} splits rows over threads (whole panels of a packed
     * matrix; any range is allowed, a panel cut by it is computed whole and only its rows in range written).
     */
    void matmulRows(Matrix w, float[] x, int batch, float[] out, int rowStart, int rowEnd);

    /** Σ a[aOffset+i]·b[bOffset+i] for i &lt; n. */
    float dot(float[] a, int aOffset, float[] b, int bOffset, int n);

    /** y[yOffset+i] += alpha·x[xOffset+i] for i &lt; n. */
    void axpy(float alpha, float[] x, int xOffset, float[] y, int yOffset, int n);

    /**
     * {@code out[outOffset+j] = dot(a, aOffset, x, xOffset + j·stride, n)} for j &lt; count: one row against rows of x
     * spaced {@code stride} apart (an attention query against its keys), each with {@link #dot}'s arithmetic, so
     * with the same bits; an implementation may interleave the rows.
     */
    default void dotRows(
            float[] a, int aOffset, float[] x, int xOffset, int stride, int count, float[] out, int outOffset, int n) {
        for (int j = 0; j < count; j++) {
            out[outOffset + j] = dot(a, aOffset, x, xOffset + j * stride, n);
        }
    }

    /**
     * {@code axpy(w[wOffset+j], x, xOffset + j·stride, y, yOffset, n)} for j = 0, 1, …, count − 1 in that order (an
     * attention head's weighted sum of its values), with the same bits; an implementation may keep y in registers
     * across the rows.
     */
    default void axpyRows(
            float[] w, int wOffset, float[] x, int xOffset, int stride, int count, float[] y, int yOffset, int n) {
        for (int j = 0; j < count; j++) {
            axpy(w[wOffset + j], x, xOffset + j * stride, y, yOffset, n);
        }
    }

    /**
     * The gated MLP's middle for SiLU: {@code gate[i] = silu(gate[i])·up[i]} for i in [offset, offset+n), where
     * silu(x) = x / (1 + exp(−x)) with {@link #exp} in every lane, so both twins give the same bits. silu's relative
     * error is within 2^-21 of the exact value for |x| up to 88 (KernelsTest); below −88.3 the exponential saturates at
     * e^88.3, so silu is −0 or within 10^-36 of it.
     */
    void siluGate(float[] gate, float[] up, int offset, int n);

    /**
     * {@code x[i] = exp(x[i] − shift)} for i in [offset, offset+n) with {@link #exp}'s arithmetic in every lane (a
     * softmax's exponentials), so both twins give the same bits.
     */
    void expShifted(float[] x, int offset, int n, float shift);

    /**
     * e^x in float, the exponential the twins share: x clamped to [−87.33, 88.3] (so the result is a normal float,
     * never infinite), reduced by k·ln 2 with k = round(x·log2 e), a degree-5 polynomial (Cephes' expf), then scaled
     * by 2^k through the exponent bits. Every step is a float operation or fused multiply-add in a fixed order, so a
     * vector lane gives the same bits. At most 2 units in the last place from e^x over the clamped range (KernelsTest;
     * every float in it measured: docs/PERFORMANCE.md).
     */
    static float exp(float x) {
        return ScalarKernels.exp(x);
    }

    /**
     * Whether packed matrices ({@link Matrix#packTo}) multiply faster here than row-major ones, so that a loader that
     * keeps its weights in memory should pack them. Packed or not, each kernel's results are deterministic.
     */
    default boolean multipliesPackedFast() {
        return false;
    }

    /** {@code out[b, r] = x[b, :]·w[r, :]} for all rows of w and all batch rows, using every core of the pool. */
    default void matmul(Matrix w, float[] x, int batch, float[] out) {
        if (x.length < (long) batch * w.cols() || out.length < (long) batch * w.rows()) {
            throw new IllegalArgumentException(
                    "matmul " + w + " batch " + batch + ": x has " + x.length + " floats, out has " + out.length);
        }
        int unit = unitRows(w);
        KernelPool.forRanges(
                (w.rows() + unit - 1) / unit,
                (long) unit * w.cols() * Math.max(1, batch),
                (start, end) -> matmulRows(w, x, batch, out, start * unit, Math.min(w.rows(), end * unit)));
    }

    /** Rows the pool hands out together: a packed matrix's whole panels, else single rows. */
    private static int unitRows(Matrix w) {
        return w.packed() ? Matrix.PANEL_ROWS : 1;
    }

    /**
     * {@code outs[m][b, r] = x[b, :]·ws[m][r, :]} for matrices of the same width over the same input rows (a layer's
     * q, k and v, or gate and up), as one job over all their rows: one hand-off to the pool instead of one per matrix,
     * and thin matrices still keep every core busy. Each output is what {@link #matmul} gives it.
     */
    default void matmul(Matrix[] ws, float[] x, int batch, float[][] outs) {
        // the job's items are units of rows (panels of packed matrices, else rows), matrix after matrix
        int[] firstUnit = new int[ws.length + 1];
        for (int m = 0; m < ws.length; m++) {
            Matrix w = ws[m];
            if (w.cols() != ws[0].cols()
                    || x.length < (long) batch * w.cols()
                    || outs[m].length < (long) batch * w.rows()) {
                throw new IllegalArgumentException("matmul " + w + " batch " + batch + ": x has " + x.length
                        + " floats, out has " + outs[m].length + ", first matrix " + ws[0]);
            }
            firstUnit[m + 1] = firstUnit[m] + (w.rows() + unitRows(w) - 1) / unitRows(w);
        }
        long rowWork = (long) ws[0].cols() * Math.max(1, batch) * unitRows(ws[0]);
        KernelPool.forRanges(firstUnit[ws.length], rowWork, (start, end) -> {
            for (int m = 0; m < ws.length; m++) {
                int from = Math.max(start, firstUnit[m]) - firstUnit[m];
                int to = Math.min(end, firstUnit[m + 1]) - firstUnit[m];
                if (from < to) {
                    int unit = unitRows(ws[m]);
                    matmulRows(ws[m], x, batch, outs[m], from * unit, Math.min(ws[m].rows(), to * unit));
                }
            }
        });
    }

    /** The implementation {@link KernelProvider} chose for this process. */
    static Kernels get() {
        return Chosen.KERNELS;
    }

    /** The plain-Java implementation that the vector one is tested against. */
    static Kernels scalar() {
        return ScalarKernels.INSTANCE;
    }

    /** Holds the choice, made on first use. */
    final class Chosen {
        private static final Kernels KERNELS =
                KernelProvider.get().choose(VectorKernels::create, ScalarKernels.INSTANCE);

        private Chosen() {}
    }
}
