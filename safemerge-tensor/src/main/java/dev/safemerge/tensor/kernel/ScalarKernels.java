package dev.safemerge.tensor.kernel;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/** Plain loops: the reference that {@link VectorKernels} is tested against, and the fallback without the module. */
final class ScalarKernels implements Kernels {
    static final ScalarKernels INSTANCE = new ScalarKernels();

    private ScalarKernels() {}

    @Override
    public void matmulRows(Matrix w, float[] x, int batch, float[] out, int rowStart, int rowEnd) {
        int cols = w.cols();
        if (w.packed() && w.format() == WeightFormat.Q8) {
            for (int r = rowStart; r < rowEnd; r++) {
                for (int b = 0; b < batch; b++) {
                    out[b * w.rows() + r] = q8Chain(w, r, x, b * cols);
                }
            }
            return;
        }
        float[] row = new float[cols];
        for (int r = rowStart; r < rowEnd; r++) {
            if (w.packed()) {
                w.readRow(r, row, 0);
            } else {
                decodeRow(w, r, row);
            }
            for (int b = 0; b < batch; b++) {
                out[b * w.rows() + r] = w.packed() ? fmaChain(row, x, b * cols, cols) : dot(row, 0, x, b * cols, cols);
            }
        }
    }

    /** A packed matrix's arithmetic: one fused multiply-add per column, in column order, from zero. */
    private static float fmaChain(float[] row, float[] x, int xOffset, int cols) {
        float sum = 0;
        for (int c = 0; c < cols; c++) {
            sum = Math.fma(row[c], x[xOffset + c], sum);
        }
        return sum;
    }

    /**
     * A packed Q8 matrix's arithmetic: per block of {@link Matrix#Q8_BLOCK} columns, one fused multiply-add per column
     * in column order from zero over the integer values; then that sum times the block's scale added to the row's sum
     * by one more fused multiply-add, block after block from zero. The factors are the integer times 2^24 and the input
     * times 2^−24, as the vector twin has them (its byte planes hold each integer in an int's top byte); both scalings
     * are exact for inputs of magnitude at least 2^−102, so each product is the integer's and its input's.
     */
    private static float q8Chain(Matrix w, int r, float[] x, int xOffset) {
        float sum = 0;
        for (int block = 0; block < w.cols(); block += Matrix.Q8_BLOCK) {
            float blockSum = 0;
            for (int c = block; c < block + Matrix.Q8_BLOCK; c++) {
                blockSum = Math.fma(w.quantum(r, c) * 0x1p24f, x[xOffset + c] * 0x1p-24f, blockSum);
            }
            sum = Math.fma(blockSum, w.scale(r, block), sum);
        }
        return sum;
    }

    private static void decodeRow(Matrix w, int r, float[] row) {
        MemorySegment data = w.data();
        long base = (long) r * w.cols();
        switch (w.format()) {
            case F32 -> MemorySegment.copy(data, Matrix.FLOAT_LE, base * 4, row, 0, row.length);
            case BF16 -> {
                for (int c = 0; c < row.length; c++) {
                    row[c] = Float.intBitsToFloat(data.getAtIndex(Matrix.SHORT_LE, base + c) << 16);
                }
            }
            case F16 -> {
                for (int c = 0; c < row.length; c++) {
                    row[c] = Float.float16ToFloat(data.getAtIndex(Matrix.SHORT_LE, base + c));
                }
            }
            case Q8 -> {
                float[] scales = w.scales();
                for (int c = 0; c < row.length; c++) {
                    row[c] = data.get(ValueLayout.JAVA_BYTE, base + c) * scales[(int) ((base + c) / Matrix.Q8_BLOCK)];
                }
            }
        }
    }

    @Override
    public void siluGate(float[] gate, float[] up, int offset, int n) {
        for (int i = offset; i < offset + n; i++) {
            gate[i] = silu(gate[i]) * up[i];
        }
    }

    @Override
    public void expShifted(float[] x, int offset, int n, float shift) {
        for (int i = offset; i < offset + n; i++) {
            x[i] = exp(x[i] - shift);
        }
    }

    static float silu(float x) {
        return x / (1f + exp(-x));
    }

    /** {@link Kernels#exp}'s range: e^EXP_MIN is still a normal float, and 2^k stays finite up to EXP_MAX. */
    static final float EXP_MIN = -87.33f;

    static final float EXP_MAX = 88.3f;
    static final float LOG2E = 1.44269504088896341f;
    /** 1.5·2^23: adding it rounds a float below 2^22 in magnitude to an integer (to nearest, ties to even). */
    static final float ROUNDER = 12582912f;
    /** ln 2 in two parts (Cephes): k·LN2_HI is exact for the k that occur. */
    static final float LN2_HI = 0.693359375f;

    static final float LN2_LO = -2.12194440e-4f;
    /** Cephes expf's polynomial on [−ln2/2, ln2/2], highest degree first. */
    static final float P0 = 1.9875691500e-4f;

    static final float P1 = 1.3981999507e-3f;
    static final float P2 = 8.3334519073e-3f;
    static final float P3 = 4.1665795894e-2f;
    static final float P4 = 1.6666665459e-1f;
    static final float P5 = 5.0000001201e-1f;

    /** {@link Kernels#exp}; {@link VectorKernels} repeats these operations lane-wise. */
    static float exp(float x) {
        float c = Math.min(Math.max(x, EXP_MIN), EXP_MAX);
        float k = Math.fma(c, LOG2E, ROUNDER) - ROUNDER;
        float r = Math.fma(k, -LN2_HI, c);
        r = Math.fma(k, -LN2_LO, r);
        float p = Math.fma(P0, r, P1);
        p = Math.fma(p, r, P2);
        p = Math.fma(p, r, P3);
        p = Math.fma(p, r, P4);
        p = Math.fma(p, r, P5);
        float y = Math.fma(p, r * r, r) + 1f;
        return y * Float.intBitsToFloat(((int) k + 127) << 23);
    }

    @Override
    public float dot(float[] a, int aOffset, float[] b, int bOffset, int n) {
        float sum = 0;
        for (int i = 0; i < n; i++) {
            sum += a[aOffset + i] * b[bOffset + i];
        }
        return sum;
    }

    @Override
    public void axpy(float alpha, float[] x, int xOffset, float[] y, int yOffset, int n) {
        for (int i = 0; i < n; i++) {
            y[yOffset + i] += alpha * x[xOffset + i];
        }
    }
}
