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
