package dev.safemerge.tensor.kernel;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/**
 * A weight matrix [rows, cols] kept in its stored format: linear layers compute {@code y = x·Wᵀ}, one output per row.
 * The data is a memory segment (a mapped file region or an off-heap copy); Q8 matrices also carry one scale per block
 * of {@link #Q8_BLOCK} elements of each row.
 *
 * <p>Its layout is row-major as stored, or, when {@code packed}, in panels of {@link #PANEL_ROWS} rows: panel p holds
 * rows [16p, 16p+16) column by column, the 16 elements of one column side by side (the last panel padded with zeros).
 * The kernels stream a packed panel contiguously and multiply it as an outer product with several input rows, each
 * output a plain chain of fused multiply-adds over its columns in order ({@link #packTo}). A packed Q8 panel holds
 * its rows four columns at a time instead: for each group of four columns, the panel's sixteen rows one after another,
 * each row's four bytes side by side (one int), so that byte k of a vector of eight of those ints is column k of the
 * group for eight rows; its scales are packed the same way, the sixteen rows' scales of one block side by side.
 */
public record Matrix(WeightFormat format, int rows, int cols, MemorySegment data, float[] scales, boolean packed) {
    /** Elements per Q8 scale block; a Q8 matrix's cols must be a multiple of it. */
    public static final int Q8_BLOCK = 32;

    /** Rows per panel of a packed matrix: two vectors of eight floats per column. */
    public static final int PANEL_ROWS = 16;

    static final ValueLayout.OfShort SHORT_LE = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    static final ValueLayout.OfInt INT_LE = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    static final ValueLayout.OfFloat FLOAT_LE = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    public Matrix {
        if (rows < 0 || cols < 0) {
            throw new IllegalArgumentException("negative shape " + rows + "x" + cols);
        }
        long expected = (long) (packed ? panels(rows) * PANEL_ROWS : rows) * cols * format.elementBytes();
        if (data.byteSize() != expected) {
            throw new IllegalArgumentException(
                    format + " " + rows + "x" + cols + " needs " + expected + " bytes, got " + data.byteSize());
        }
        if (format == WeightFormat.Q8) {
            if (cols % Q8_BLOCK != 0) {
                throw new IllegalArgumentException("Q8 needs cols divisible by " + Q8_BLOCK + ", got " + cols);
            }
            if (scales == null || scales.length != (packed ? panels(rows) * PANEL_ROWS : rows) * (cols / Q8_BLOCK)) {
                throw new IllegalArgumentException("Q8 needs one scale per block of " + Q8_BLOCK);
            }
        } else if (scales != null) {
            throw new IllegalArgumentException(format + " has no scales");
        }
    }

    /** A row-major matrix, as stored in checkpoints. */
    public Matrix(WeightFormat format, int rows, int cols, MemorySegment data, float[] scales) {
        this(format, rows, cols, data, scales, false);
    }

    /** Panels of a packed matrix of {@code rows} rows (the last one possibly partial). */
    public static int panels(int rows) {
        return (rows + PANEL_ROWS - 1) / PANEL_ROWS;
    }

    /** Where element (row, col) is stored, in elements from the start of {@link #data}. */
    long index(int row, int col) {
        if (packed && format == WeightFormat.Q8) {
            return ((long) (row / PANEL_ROWS) * cols + col / 4 * 4) * PANEL_ROWS + row % PANEL_ROWS * 4 + col % 4;
        }
        if (packed) {
            return ((long) (row / PANEL_ROWS) * cols + col) * PANEL_ROWS + row % PANEL_ROWS;
        }
        return (long) row * cols + col;
    }

    /** Where the scale of the Q8 block holding element (row, col) is stored in {@link #scales}. */
    int scaleIndex(int row, int col) {
        int block = col / Q8_BLOCK;
        if (packed) {
            return ((row / PANEL_ROWS) * (cols / Q8_BLOCK) + block) * PANEL_ROWS + row % PANEL_ROWS;
        }
        return row * (cols / Q8_BLOCK) + block;
    }

    /** A Q8 matrix's integer value of element (row, col), without its block's scale. */
    int quantum(int row, int col) {
        return data.get(ValueLayout.JAVA_BYTE, index(row, col));
    }

    /** The scale of the Q8 block holding element (row, col). */
    float scale(int row, int col) {
        return scales[scaleIndex(row, col)];
    }

    /** Bytes of weights read per use of the whole matrix (what a matvec streams from memory). */
    public long byteSize() {
        return data.byteSize() + (scales == null ? 0 : 4L * scales.length);
    }

    /** Element (row, col) as float32; for tests and slow paths. */
    public float get(int row, int col) {
        long index = index(row, col);
        return switch (format) {
            case F32 -> data.getAtIndex(FLOAT_LE, index);
            case BF16 -> Float.intBitsToFloat(data.getAtIndex(SHORT_LE, index) << 16);
            case F16 -> Float.float16ToFloat(data.getAtIndex(SHORT_LE, index));
            case Q8 -> data.get(ValueLayout.JAVA_BYTE, index) * scales[scaleIndex(row, col)];
        };
    }

    /** Decodes row {@code row} into {@code dst[dstOffset..dstOffset+cols)}. */
    public void readRow(int row, float[] dst, int dstOffset) {
        for (int c = 0; c < cols; c++) {
            dst[dstOffset + c] = get(row, c);
        }
    }

    /** An F32 matrix holding a copy of {@code values} off-heap. */
    public static Matrix ofFloats(int rows, int cols, float[] values, Arena arena) {
        if (values.length != rows * cols) {
            throw new IllegalArgumentException("expected " + rows * cols + " values, got " + values.length);
        }
        MemorySegment segment = arena.allocate((long) values.length * 4, 64);
        MemorySegment.copy(values, 0, segment, FLOAT_LE, 0, values.length);
        return new Matrix(WeightFormat.F32, rows, cols, segment, null);
    }

    /**
     * Quantizes this matrix to Q8: each block of {@link #Q8_BLOCK} elements of a row gets the scale max|w|/127 and
     * values round(w/scale) (symmetric, round half away from zero). Row-major; {@link #quantizeQ8(Arena, boolean)}
     * writes the packed layout.
     */
    public Matrix quantizeQ8(Arena arena) {
        return quantizeQ8(arena, false);
    }

    /**
     * {@link #quantizeQ8(Arena)} written straight into the layout asked for: packed in panels as {@link #packTo} lays
     * a Q8 matrix out (the last panel padded with zero values and scales), or row-major.
     */
    public Matrix quantizeQ8(Arena arena, boolean packedLayout) {
        if (cols % Q8_BLOCK != 0) {
            throw new IllegalArgumentException("Q8 needs cols divisible by " + Q8_BLOCK + ", got " + cols);
        }
        int height = packedLayout ? panels(rows) * PANEL_ROWS : rows;
        MemorySegment q = arena.allocate((long) height * cols, 64);
        Matrix quantized =
                new Matrix(WeightFormat.Q8, rows, cols, q, new float[height * (cols / Q8_BLOCK)], packedLayout);
        float[] row = new float[cols];
        for (int r = 0; r < rows; r++) {
            readRow(r, row, 0);
            for (int block = 0; block < cols; block += Q8_BLOCK) {
                float max = 0;
                for (int c = block; c < block + Q8_BLOCK; c++) {
                    max = Math.max(max, Math.abs(row[c]));
                }
                float scale = max / 127f;
                quantized.scales[quantized.scaleIndex(r, block)] = scale;
                float inverse = scale == 0 ? 0 : 1f / scale;
                for (int c = block; c < block + Q8_BLOCK; c++) {
                    int value = Math.round(Math.abs(row[c]) * inverse);
                    value = Math.min(127, value);
                    q.set(ValueLayout.JAVA_BYTE, quantized.index(r, c), (byte) (row[c] < 0 ? -value : value));
                }
            }
        }
        return quantized;
    }

    /** A copy of this matrix in memory allocated from {@code arena} (not backed by any file), in the same layout. */
    public Matrix copyTo(Arena arena) {
        MemorySegment copy = arena.allocate(data.byteSize(), 64);
        copy.copyFrom(data);
        return new Matrix(format, rows, cols, copy, scales == null ? null : scales.clone(), packed);
    }

    /**
     * A copy in memory allocated from {@code arena}, packed in panels of {@link #PANEL_ROWS} rows: the same bytes per
     * element as stored (BF16 stays two bytes), plus zeros up to a whole last panel (Q8: zero values and scales).
     * Matrices already packed are copied as they are. Elements are moved, never converted, so every value is unchanged.
     */
    public Matrix packTo(Arena arena) {
        if (packed) {
            return copyTo(arena);
        }
        MemorySegment copy = arena.allocate((long) panels(rows) * PANEL_ROWS * cols * format.elementBytes(), 64);
        if (format == WeightFormat.Q8) {
            Matrix q8 = new Matrix(
                    format, rows, cols, copy, new float[panels(rows) * PANEL_ROWS * (cols / Q8_BLOCK)], true);
            for (int r = 0; r < rows; r++) {
                for (int c = 0; c < cols; c++) {
                    copy.set(ValueLayout.JAVA_BYTE, q8.index(r, c), (byte) quantum(r, c));
                }
                for (int c = 0; c < cols; c += Q8_BLOCK) {
                    q8.scales[q8.scaleIndex(r, c)] = scale(r, c);
                }
            }
            return q8;
        }
        for (int r = 0; r < rows; r++) {
            long from = (long) r * cols;
            long to = (long) (r / PANEL_ROWS) * cols * PANEL_ROWS + r % PANEL_ROWS;
            for (int c = 0; c < cols; c++, to += PANEL_ROWS) {
                if (format == WeightFormat.F32) {
                    copy.setAtIndex(INT_LE, to, data.getAtIndex(INT_LE, from + c));
                } else {
                    copy.setAtIndex(SHORT_LE, to, data.getAtIndex(SHORT_LE, from + c));
                }
            }
        }
        return new Matrix(format, rows, cols, copy, null, true);
    }

    @Override
    public boolean equals(Object other) {
        return this == other;
    }

    @Override
    public int hashCode() {
        return System.identityHashCode(this);
    }

    @Override
    public String toString() {
        return "Matrix[" + format + " " + rows + "x" + cols + (packed ? ", packed" : "") + "]";
    }
}
