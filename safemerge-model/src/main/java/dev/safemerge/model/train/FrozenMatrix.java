package dev.safemerge.model.train;

import dev.safemerge.tensor.DType;
import dev.safemerge.tensor.FloatCodec;

/**
 * A [rows, cols] row-major matrix kept in the dtype it was stored in (F32, BF16 or F16), so that a frozen base
 * weight costs no more memory during training than on disk. Kernels read it through {@link #pack}, which decodes
 * a small block into float32.
 */
public final class FrozenMatrix implements Gemm.Operand {
    private final int rows;
    private final int cols;
    private final DType dtype;
    private final float[] floats;
    private final short[] halves;

    private FrozenMatrix(int rows, int cols, DType dtype, float[] floats, short[] halves) {
        this.rows = rows;
        this.cols = cols;
        this.dtype = dtype;
        this.floats = floats;
        this.halves = halves;
    }

    /** Wraps float32 values (not copied). */
    public static FrozenMatrix ofFloats(int rows, int cols, float[] values) {
        checkSize(rows, cols, values.length);
        return new FrozenMatrix(rows, cols, DType.F32, values, null);
    }

    /** Wraps 16-bit BF16 or F16 values (not copied). */
    public static FrozenMatrix ofHalves(int rows, int cols, DType dtype, short[] values) {
        checkSize(rows, cols, values.length);
        if (dtype != DType.BF16 && dtype != DType.F16) {
            throw new IllegalArgumentException("16-bit values must be BF16 or F16, not " + dtype);
        }
        return new FrozenMatrix(rows, cols, dtype, null, values);
    }

    /** Stores float values rounded to {@code dtype} (F32, BF16 or F16). */
    public static FrozenMatrix encode(int rows, int cols, float[] values, DType dtype) {
        checkSize(rows, cols, values.length);
        return switch (dtype) {
            case F32 -> new FrozenMatrix(rows, cols, dtype, values.clone(), null);
            case BF16, F16 -> {
                short[] halves = new short[values.length];
                for (int i = 0; i < values.length; i++) {
                    halves[i] =
                            dtype == DType.BF16 ? FloatCodec.floatToBf16(values[i]) : FloatCodec.floatToF16(values[i]);
                }
                yield new FrozenMatrix(rows, cols, dtype, null, halves);
            }
            default -> throw new IllegalArgumentException("a frozen matrix is F32, BF16 or F16, not " + dtype);
        };
    }

    private static void checkSize(int rows, int cols, int length) {
        if ((long) rows * cols != length) {
            throw new IllegalArgumentException(rows + "x" + cols + " matrix given " + length + " values");
        }
    }

    public int rows() {
        return rows;
    }

    public int cols() {
        return cols;
    }

    public DType dtype() {
        return dtype;
    }

    public float get(int row, int col) {
        return decode(row * cols + col);
    }

    private float decode(int index) {
        return switch (dtype) {
            case F32 -> floats[index];
            case BF16 -> Float.intBitsToFloat((halves[index] & 0xffff) << 16);
            default -> Float.float16ToFloat(halves[index]);
        };
    }

    /** All values decoded to float32 (a copy). */
    public float[] toFloats() {
        if (floats != null) {
            return floats.clone();
        }
        float[] out = new float[halves.length];
        for (int i = 0; i < out.length; i++) {
            out[i] = decode(i);
        }
        return out;
    }

    /** This matrix as the left GEMM operand, either as stored or transposed. */
    public Gemm.Operand transposed() {
        return new Transposed(this);
    }

    @Override
    public void pack(int row0, int rowCount, int col0, int colCount, float[] dst) {
        packStrided(row0, rowCount, col0, colCount, dst, cols, 1);
    }

    private void packStrided(
            int row0, int rowCount, int col0, int colCount, float[] dst, int rowStride, int colStride) {
        for (int p = 0; p < colCount; p++) {
            int base = (col0 + p) * colStride;
            int out = p * Gemm.MR;
            for (int i = 0; i < rowCount; i++) {
                dst[out + i] = decode((row0 + i) * rowStride + base);
            }
            for (int i = rowCount; i < Gemm.MR; i++) {
                dst[out + i] = 0f;
            }
        }
    }

    private record Transposed(FrozenMatrix matrix) implements Gemm.Operand {
        @Override
        public void pack(int row0, int rowCount, int col0, int colCount, float[] dst) {
            matrix.packStrided(row0, rowCount, col0, colCount, dst, 1, matrix.cols);
        }
    }
}
