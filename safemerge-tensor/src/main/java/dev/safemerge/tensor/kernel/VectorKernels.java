package dev.safemerge.tensor.kernel;

import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorShuffle;
import jdk.incubator.vector.VectorSpecies;

/**
 * Vector API kernels. Weights are decoded to float lanes straight from their stored format (bf16: widen and shift;
 * f16: rebias the exponent; q8: split each int of four weights into byte planes by shifts, convert, then one scale
 * per block), so memory traffic stays at the stored size. A matmul over several input rows decodes each panel of
 * weight rows once into a float buffer and reuses it for every input row; one input row (a decode step) reads its
 * weights straight from their stored format. Every output is the same chain of operations whatever the tile it falls
 * in: lane-wise FMAs over the whole vectors of a row, the lanes summed in a fixed order, then the scalar tail, so
 * results do not depend on the batch size. Packed matrices ({@link Matrix#packTo}) have their own tiles, an outer
 * product over panels of sixteen rows ({@link #matmulPacked}; Q8: {@link #matmulPackedQ8}).
 */
final class VectorKernels implements Kernels {
    private static final VectorSpecies<Float> FLOATS = KernelSpecies.FLOATS;
    private static final int LANES = FLOATS.length();
    private static final VectorSpecies<Integer> INTS = KernelSpecies.INTS;
    private static final VectorSpecies<Short> SHORTS =
            VectorSpecies.of(short.class, VectorShape.forBitSize(FLOATS.vectorBitSize() / 2));
    private static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;
    /** Weight rows decoded together and multiplied in one pass. */
    private static final int PANEL = 4;
    /** Input rows that share one pass over a decoded panel. */
    private static final int INPUTS = 3;

    /** For each halving step of {@link #sumLanes}, the shuffle that brings lane i+half to lane i. */
    private static final VectorShuffle<Float>[] HALVES = halves();

    private VectorKernels() {}

    @SuppressWarnings({"unchecked", "rawtypes"}) // generic array of shuffles, filled once
    private static VectorShuffle<Float>[] halves() {
        int steps = Integer.numberOfTrailingZeros(LANES);
        VectorShuffle<Float>[] shuffles = new VectorShuffle[steps];
        for (int s = 0; s < steps; s++) {
            shuffles[s] = VectorShuffle.iota(FLOATS, LANES >> (s + 1), 1, true);
        }
        return shuffles;
    }

    /**
     * The sum of all lanes, adding halves pairwise in a fixed order. reduceLanes(ADD) leaves the order of float
     * additions unspecified, and interpreted and compiled code do differ in the last bits, which would make
     * training runs with the same seed diverge depending on JIT timing.
     */
    private static float sumLanes(FloatVector v) {
        FloatVector sum = v;
        for (VectorShuffle<Float> half : HALVES) {
            sum = sum.add(sum.rearrange(half));
        }
        return sum.lane(0);
    }

    /** Only when {@link KernelProvider} found the Vector API usable. */
    static Kernels create() {
        return new VectorKernels();
    }

    @Override
    public void matmulRows(Matrix w, float[] x, int batch, float[] out, int rowStart, int rowEnd) {
        if (w.packed()) {
            matmulPacked(w, x, batch, out, rowStart, rowEnd);
        } else if (w.format() == WeightFormat.Q8) {
            matmulQ8(w, x, batch, out, rowStart, rowEnd);
        } else if (batch == 1) {
            matvec(w, x, out, rowStart, rowEnd);
        } else {
            // Input rows in blocks that stay in the core's L2 cache while every weight row of the range passes over
            // them: unblocked, a batch of a few hundred rows (or a prefill of thousands) is re-read from L3 or memory
            // for every panel of weight rows.
            int block = blockRows(w.cols());
            for (int from = 0; from < batch; from += block) {
                matmulBlock(w, x, from, Math.min(batch, from + block), out, rowStart, rowEnd);
            }
        }
    }

    /** Rows of a packed panel: two vectors per column. */
    private static final int PANEL_ROWS = Matrix.PANEL_ROWS;

    /**
     * The packed tiles hold a panel's column in two vectors, so they need eight float lanes (AVX2 and AVX-512, whose
     * vectors {@link KernelSpecies} takes at 256 bits); with four-lane vectors packed matrices take the scalar twin's loop,
     * and {@link #multipliesPackedFast} tells loaders not to pack.
     */
    private static final boolean PACKED_TILES = 2 * LANES == PANEL_ROWS;

    @Override
    public boolean multipliesPackedFast() {
        return PACKED_TILES;
    }

    /**
     * A packed matrix: each panel of sixteen weight rows streams column by column, two vectors per column decoded
     * straight from the stored format, and meets six input rows at a time as an outer product (twelve accumulators,
     * the two weight vectors and one broadcast input fill AVX2's sixteen registers): no horizontal sums, no scalar
     * tails, and each weight vector is used six times per load. One input row (a decode step) streams four panels at
     * once, so that eight accumulator chains hide the FMA latency while memory streams. From {@link
     * #DECODED_PANEL_BATCH} input rows on, each panel is first decoded into a per-thread float buffer that the six-row
     * tiles then read ({@link #decodedPanel16x6}), and a four-row tile the last rows when at most four are left. Every
     * output, whatever its tile, is one FMA per column in column order from zero ({@link ScalarKernels}'s packed
     * arithmetic), so it has the same bits at any batch size, in any range of rows, and on the scalar twin.
     */
    private static void matmulPacked(Matrix w, float[] x, int batch, float[] out, int rowStart, int rowEnd) {
        if (!PACKED_TILES) {
            ScalarKernels.INSTANCE.matmulRows(w, x, batch, out, rowStart, rowEnd);
            return;
        }
        if (w.format() == WeightFormat.Q8) {
            matmulPackedQ8(w, x, batch, out, rowStart, rowEnd);
            return;
        }
        WeightFormat format = w.format();
        MemorySegment data = w.data();
        int cols = w.cols();
        int rows = w.rows();
        int p = rowStart / PANEL_ROWS;
        int panelEnd = (rowEnd + PANEL_ROWS - 1) / PANEL_ROWS;
        if (batch == 1) {
            for (; p + 4 <= panelEnd; p += 4) {
                panels4x1(format, data, (long) p * cols * PANEL_ROWS, cols, x, out, p * PANEL_ROWS, rowStart, rowEnd);
            }
        }
        boolean decoded = batch >= DECODED_PANEL_BATCH;
        float[] panel = decoded ? panel(PANEL_ROWS * cols) : null;
        for (; p < panelEnd; p++) {
            long base = (long) p * cols * PANEL_ROWS;
            int first = p * PANEL_ROWS;
            int b = 0;
            if (decoded) {
                decode(format, data, base, PANEL_ROWS * cols, panel);
                for (; b + 6 <= batch; b += 6) {
                    decodedPanel16x6(panel, cols, x, b, out, first, rows, rowStart, rowEnd);
                }
                // the last rows in a tile that ends with the batch, four rows wide when at most four are left: the
                // rows it repeats get the same bits again, and the narrower tiles, which widen the stored panel anew,
                // are left nothing
                if (b < batch && batch - b <= 4) {
                    decodedPanel16x4(panel, cols, x, batch - 4, out, first, rows, rowStart, rowEnd);
                } else if (b < batch) {
                    decodedPanel16x6(panel, cols, x, batch - 6, out, first, rows, rowStart, rowEnd);
                }
                b = batch;
            }
            for (; b + 6 <= batch; b += 6) {
                panel16x6(format, data, base, cols, x, b, out, first, rows, rowStart, rowEnd);
            }
            if (b + 4 <= batch) {
                panel16x4(format, data, base, cols, x, b, out, first, rows, rowStart, rowEnd);
                b += 4;
            }
            for (; b + 2 <= batch; b += 2) {
                panel16x2(format, data, base, cols, x, b, out, first, rows, rowStart, rowEnd);
            }
            for (; b < batch; b++) {
                panel16x1(format, data, base, cols, x, b, out, first, rows, rowStart, rowEnd);
            }
        }
    }

    /**
     * Weight rows [first, first+16), the packed panel from element {@code base}, against input rows b..b+5; outputs
     * written for weight rows in [rowStart, rowEnd).
     */
    private static void panel16x6(
            WeightFormat format,
            MemorySegment data,
            long base,
            int cols,
            float[] x,
            int b,
            float[] out,
            int first,
            int rows,
            int rowStart,
            int rowEnd) {
        FloatVector a00 = FloatVector.zero(FLOATS), a01 = a00, a10 = a00, a11 = a00, a20 = a00, a21 = a00;
        FloatVector a30 = a00, a31 = a00, a40 = a00, a41 = a00, a50 = a00, a51 = a00;
        int x0 = b * cols;
        int x1 = x0 + cols;
        int x2 = x1 + cols;
        int x3 = x2 + cols;
        int x4 = x3 + cols;
        int x5 = x4 + cols;
        for (int c = 0; c < cols; c++) {
            long e = base + (long) c * PANEL_ROWS;
            FloatVector w0 = load(format, data, e);
            FloatVector w1 = load(format, data, e + LANES);
            FloatVector v = FloatVector.broadcast(FLOATS, x[x0 + c]);
            a00 = w0.fma(v, a00);
            a01 = w1.fma(v, a01);
            v = FloatVector.broadcast(FLOATS, x[x1 + c]);
            a10 = w0.fma(v, a10);
            a11 = w1.fma(v, a11);
            v = FloatVector.broadcast(FLOATS, x[x2 + c]);
            a20 = w0.fma(v, a20);
            a21 = w1.fma(v, a21);
            v = FloatVector.broadcast(FLOATS, x[x3 + c]);
            a30 = w0.fma(v, a30);
            a31 = w1.fma(v, a31);
            v = FloatVector.broadcast(FLOATS, x[x4 + c]);
            a40 = w0.fma(v, a40);
            a41 = w1.fma(v, a41);
            v = FloatVector.broadcast(FLOATS, x[x5 + c]);
            a50 = w0.fma(v, a50);
            a51 = w1.fma(v, a51);
        }
        boolean whole = first >= rowStart && first + PANEL_ROWS <= rowEnd;
        float[] dst = whole ? out : new float[6 * PANEL_ROWS];
        int o = whole ? b * rows + first : 0;
        int step = whole ? rows : PANEL_ROWS;
        a00.intoArray(dst, o);
        a01.intoArray(dst, o + LANES);
        a10.intoArray(dst, o + step);
        a11.intoArray(dst, o + step + LANES);
        a20.intoArray(dst, o + 2 * step);
        a21.intoArray(dst, o + 2 * step + LANES);
        a30.intoArray(dst, o + 3 * step);
        a31.intoArray(dst, o + 3 * step + LANES);
        a40.intoArray(dst, o + 4 * step);
        a41.intoArray(dst, o + 4 * step + LANES);
        a50.intoArray(dst, o + 5 * step);
        a51.intoArray(dst, o + 5 * step + LANES);
        if (!whole) {
            copyInRange(dst, 6, PANEL_ROWS, out, b * rows + first, rows, first, rowStart, rowEnd);
        }
    }

    /**
     * Input rows from which a packed panel is decoded to floats once and its six-row tiles read the decoded copy: the
     * widening then happens once per panel instead of once per six input rows, and the tiles read a float array, not
     * the memory segment whose loads the rest of the process shares. Twelve rows are two whole six-row tiles, the
     * fewest that share one decoding pass without repeating rows; below that the extra pass through the buffer costs
     * more than the widening it saves (one thread, 135m matrices: 6 rows 44 → 31 GFLOP per CPU-second, 2 rows 18 →
     * 12). Decode steps of the whole model at 16 sequences, tokens per CPU-second, the threshold at 24 against 12,
     * alternating JVMs (docs/PERFORMANCE.md, "Kernels (2026-12-04): decoded panels from twelve rows"): 1b 13.3–16.7
     * against 16.1–21.0, 135m 95–127 against 114–144; at 12 sequences on 135m 114–131 against 102–141.
     */
    private static final int DECODED_PANEL_BATCH = 12;

    /** {@link #panel16x6}'s arithmetic over the panel decoded to floats in {@code panel}, sixteen per column. */
    private static void decodedPanel16x6(
            float[] panel, int cols, float[] x, int b, float[] out, int first, int rows, int rowStart, int rowEnd) {
        FloatVector a00 = FloatVector.zero(FLOATS), a01 = a00, a10 = a00, a11 = a00, a20 = a00, a21 = a00;
        FloatVector a30 = a00, a31 = a00, a40 = a00, a41 = a00, a50 = a00, a51 = a00;
        int x0 = b * cols;
        int x1 = x0 + cols;
        int x2 = x1 + cols;
        int x3 = x2 + cols;
        int x4 = x3 + cols;
        int x5 = x4 + cols;
        for (int c = 0; c < cols; c++) {
            int e = c * PANEL_ROWS;
            FloatVector w0 = FloatVector.fromArray(FLOATS, panel, e);
            FloatVector w1 = FloatVector.fromArray(FLOATS, panel, e + LANES);
            FloatVector v = FloatVector.broadcast(FLOATS, x[x0 + c]);
            a00 = w0.fma(v, a00);
            a01 = w1.fma(v, a01);
            v = FloatVector.broadcast(FLOATS, x[x1 + c]);
            a10 = w0.fma(v, a10);
            a11 = w1.fma(v, a11);
            v = FloatVector.broadcast(FLOATS, x[x2 + c]);
            a20 = w0.fma(v, a20);
            a21 = w1.fma(v, a21);
            v = FloatVector.broadcast(FLOATS, x[x3 + c]);
            a30 = w0.fma(v, a30);
            a31 = w1.fma(v, a31);
            v = FloatVector.broadcast(FLOATS, x[x4 + c]);
            a40 = w0.fma(v, a40);
            a41 = w1.fma(v, a41);
            v = FloatVector.broadcast(FLOATS, x[x5 + c]);
            a50 = w0.fma(v, a50);
            a51 = w1.fma(v, a51);
        }
        boolean whole = first >= rowStart && first + PANEL_ROWS <= rowEnd;
        float[] dst = whole ? out : new float[6 * PANEL_ROWS];
        int o = whole ? b * rows + first : 0;
        int step = whole ? rows : PANEL_ROWS;
        a00.intoArray(dst, o);
        a01.intoArray(dst, o + LANES);
        a10.intoArray(dst, o + step);
        a11.intoArray(dst, o + step + LANES);
        a20.intoArray(dst, o + 2 * step);
        a21.intoArray(dst, o + 2 * step + LANES);
        a30.intoArray(dst, o + 3 * step);
        a31.intoArray(dst, o + 3 * step + LANES);
        a40.intoArray(dst, o + 4 * step);
        a41.intoArray(dst, o + 4 * step + LANES);
        a50.intoArray(dst, o + 5 * step);
        a51.intoArray(dst, o + 5 * step + LANES);
        if (!whole) {
            copyInRange(dst, 6, PANEL_ROWS, out, b * rows + first, rows, first, rowStart, rowEnd);
        }
    }

    /**
     * {@link #decodedPanel16x6} for four input rows: the batch's last rows when at most four are left after its six-row
     * tiles. At 16 rows, 6 + 6 + 4 instead of three six-row tiles, two of whose rows were computed twice.
     */
    private static void decodedPanel16x4(
            float[] panel, int cols, float[] x, int b, float[] out, int first, int rows, int rowStart, int rowEnd) {
        FloatVector a00 = FloatVector.zero(FLOATS), a01 = a00, a10 = a00, a11 = a00;
        FloatVector a20 = a00, a21 = a00, a30 = a00, a31 = a00;
        int x0 = b * cols;
        int x1 = x0 + cols;
        int x2 = x1 + cols;
        int x3 = x2 + cols;
        for (int c = 0; c < cols; c++) {
            int e = c * PANEL_ROWS;
            FloatVector w0 = FloatVector.fromArray(FLOATS, panel, e);
            FloatVector w1 = FloatVector.fromArray(FLOATS, panel, e + LANES);
            FloatVector v = FloatVector.broadcast(FLOATS, x[x0 + c]);
            a00 = w0.fma(v, a00);
            a01 = w1.fma(v, a01);
            v = FloatVector.broadcast(FLOATS, x[x1 + c]);
            a10 = w0.fma(v, a10);
            a11 = w1.fma(v, a11);
            v = FloatVector.broadcast(FLOATS, x[x2 + c]);
            a20 = w0.fma(v, a20);
            a21 = w1.fma(v, a21);
            v = FloatVector.broadcast(FLOATS, x[x3 + c]);
            a30 = w0.fma(v, a30);
            a31 = w1.fma(v, a31);
        }
        boolean whole = first >= rowStart && first + PANEL_ROWS <= rowEnd;
        float[] dst = whole ? out : new float[4 * PANEL_ROWS];
        int o = whole ? b * rows + first : 0;
        int step = whole ? rows : PANEL_ROWS;
        a00.intoArray(dst, o);
        a01.intoArray(dst, o + LANES);
        a10.intoArray(dst, o + step);
        a11.intoArray(dst, o + step + LANES);
        a20.intoArray(dst, o + 2 * step);
        a21.intoArray(dst, o + 2 * step + LANES);
        a30.intoArray(dst, o + 3 * step);
        a31.intoArray(dst, o + 3 * step + LANES);
        if (!whole) {
            copyInRange(dst, 4, PANEL_ROWS, out, b * rows + first, rows, first, rowStart, rowEnd);
        }
    }

    /**
     * {@link #panel16x6}'s arithmetic for four input rows: eight accumulator chains, enough to keep both FMA units busy
     * through their latency, where two two-row tiles (four chains each) would wait on it and widen the panel twice.
     */
    private static void panel16x4(
            WeightFormat format,
            MemorySegment data,
            long base,
            int cols,
            float[] x,
            int b,
            float[] out,
            int first,
            int rows,
            int rowStart,
            int rowEnd) {
        FloatVector a00 = FloatVector.zero(FLOATS), a01 = a00, a10 = a00, a11 = a00;
        FloatVector a20 = a00, a21 = a00, a30 = a00, a31 = a00;
        int x0 = b * cols;
        int x1 = x0 + cols;
        int x2 = x1 + cols;
        int x3 = x2 + cols;
        for (int c = 0; c < cols; c++) {
            long e = base + (long) c * PANEL_ROWS;
            FloatVector w0 = load(format, data, e);
            FloatVector w1 = load(format, data, e + LANES);
            FloatVector v = FloatVector.broadcast(FLOATS, x[x0 + c]);
            a00 = w0.fma(v, a00);
            a01 = w1.fma(v, a01);
            v = FloatVector.broadcast(FLOATS, x[x1 + c]);
            a10 = w0.fma(v, a10);
            a11 = w1.fma(v, a11);
            v = FloatVector.broadcast(FLOATS, x[x2 + c]);
            a20 = w0.fma(v, a20);
            a21 = w1.fma(v, a21);
            v = FloatVector.broadcast(FLOATS, x[x3 + c]);
            a30 = w0.fma(v, a30);
            a31 = w1.fma(v, a31);
        }
        boolean whole = first >= rowStart && first + PANEL_ROWS <= rowEnd;
        float[] dst = whole ? out : new float[4 * PANEL_ROWS];
        int o = whole ? b * rows + first : 0;
        int step = whole ? rows : PANEL_ROWS;
        a00.intoArray(dst, o);
        a01.intoArray(dst, o + LANES);
        a10.intoArray(dst, o + step);
        a11.intoArray(dst, o + step + LANES);
        a20.intoArray(dst, o + 2 * step);
        a21.intoArray(dst, o + 2 * step + LANES);
        a30.intoArray(dst, o + 3 * step);
        a31.intoArray(dst, o + 3 * step + LANES);
        if (!whole) {
            copyInRange(dst, 4, PANEL_ROWS, out, b * rows + first, rows, first, rowStart, rowEnd);
        }
    }

    /** {@link #panel16x6}'s arithmetic for two input rows. */
    private static void panel16x2(
            WeightFormat format,
            MemorySegment data,
            long base,
            int cols,
            float[] x,
            int b,
            float[] out,
            int first,
            int rows,
            int rowStart,
            int rowEnd) {
        FloatVector a00 = FloatVector.zero(FLOATS), a01 = a00, a10 = a00, a11 = a00;
        int x0 = b * cols;
        int x1 = x0 + cols;
        for (int c = 0; c < cols; c++) {
            long e = base + (long) c * PANEL_ROWS;
            FloatVector w0 = load(format, data, e);
            FloatVector w1 = load(format, data, e + LANES);
            FloatVector v = FloatVector.broadcast(FLOATS, x[x0 + c]);
            a00 = w0.fma(v, a00);
            a01 = w1.fma(v, a01);
            v = FloatVector.broadcast(FLOATS, x[x1 + c]);
            a10 = w0.fma(v, a10);
            a11 = w1.fma(v, a11);
        }
        boolean whole = first >= rowStart && first + PANEL_ROWS <= rowEnd;
        float[] dst = whole ? out : new float[2 * PANEL_ROWS];
        int o = whole ? b * rows + first : 0;
        int step = whole ? rows : PANEL_ROWS;
        a00.intoArray(dst, o);
        a01.intoArray(dst, o + LANES);
        a10.intoArray(dst, o + step);
        a11.intoArray(dst, o + step + LANES);
        if (!whole) {
            copyInRange(dst, 2, PANEL_ROWS, out, b * rows + first, rows, first, rowStart, rowEnd);
        }
    }

    /** {@link #panel16x6}'s arithmetic for one input row. */
    private static void panel16x1(
            WeightFormat format,
            MemorySegment data,
            long base,
            int cols,
            float[] x,
            int b,
            float[] out,
            int first,
            int rows,
            int rowStart,
            int rowEnd) {
        FloatVector a0 = FloatVector.zero(FLOATS), a1 = a0;
        int x0 = b * cols;
        for (int c = 0; c < cols; c++) {
            long e = base + (long) c * PANEL_ROWS;
            FloatVector v = FloatVector.broadcast(FLOATS, x[x0 + c]);
            a0 = load(format, data, e).fma(v, a0);
            a1 = load(format, data, e + LANES).fma(v, a1);
        }
        boolean whole = first >= rowStart && first + PANEL_ROWS <= rowEnd;
        float[] dst = whole ? out : new float[PANEL_ROWS];
        int o = whole ? b * rows + first : 0;
        a0.intoArray(dst, o);
        a1.intoArray(dst, o + LANES);
        if (!whole) {
            copyInRange(dst, 1, PANEL_ROWS, out, b * rows + first, rows, first, rowStart, rowEnd);
        }
    }

    /**
     * Four consecutive panels from weight row {@code first} against one input row: eight independent chains. One
     * loop per format, as the row-major {@link #tile4x1} has, since this loop is bound by loads rather than FMAs.
     */
    private static void panels4x1(
            WeightFormat format,
            MemorySegment data,
            long base,
            int cols,
            float[] x,
            float[] out,
            int first,
            int rowStart,
            int rowEnd) {
        FloatVector a0 = FloatVector.zero(FLOATS), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0;
        long panel = (long) cols * PANEL_ROWS;
        switch (format) {
            case BF16 -> {
                for (int c = 0; c < cols; c++) {
                    long e = base + (long) c * PANEL_ROWS;
                    FloatVector v = FloatVector.broadcast(FLOATS, x[c]);
                    a0 = loadBf16(data, e).fma(v, a0);
                    a1 = loadBf16(data, e + LANES).fma(v, a1);
                    a2 = loadBf16(data, e + panel).fma(v, a2);
                    a3 = loadBf16(data, e + panel + LANES).fma(v, a3);
                    a4 = loadBf16(data, e + 2 * panel).fma(v, a4);
                    a5 = loadBf16(data, e + 2 * panel + LANES).fma(v, a5);
                    a6 = loadBf16(data, e + 3 * panel).fma(v, a6);
                    a7 = loadBf16(data, e + 3 * panel + LANES).fma(v, a7);
                }
            }
            case F32 -> {
                for (int c = 0; c < cols; c++) {
                    long e = base + (long) c * PANEL_ROWS;
                    FloatVector v = FloatVector.broadcast(FLOATS, x[c]);
                    a0 = loadF32(data, e).fma(v, a0);
                    a1 = loadF32(data, e + LANES).fma(v, a1);
                    a2 = loadF32(data, e + panel).fma(v, a2);
                    a3 = loadF32(data, e + panel + LANES).fma(v, a3);
                    a4 = loadF32(data, e + 2 * panel).fma(v, a4);
                    a5 = loadF32(data, e + 2 * panel + LANES).fma(v, a5);
                    a6 = loadF32(data, e + 3 * panel).fma(v, a6);
                    a7 = loadF32(data, e + 3 * panel + LANES).fma(v, a7);
                }
            }
            case F16 -> {
                for (int c = 0; c < cols; c++) {
                    long e = base + (long) c * PANEL_ROWS;
                    FloatVector v = FloatVector.broadcast(FLOATS, x[c]);
                    a0 = loadF16(data, e).fma(v, a0);
                    a1 = loadF16(data, e + LANES).fma(v, a1);
                    a2 = loadF16(data, e + panel).fma(v, a2);
                    a3 = loadF16(data, e + panel + LANES).fma(v, a3);
                    a4 = loadF16(data, e + 2 * panel).fma(v, a4);
                    a5 = loadF16(data, e + 2 * panel + LANES).fma(v, a5);
                    a6 = loadF16(data, e + 3 * panel).fma(v, a6);
                    a7 = loadF16(data, e + 3 * panel + LANES).fma(v, a7);
                }
            }
            case Q8 -> throw new AssertionError("Q8 matrices are not packed");
        }
        boolean whole = first >= rowStart && first + 4 * PANEL_ROWS <= rowEnd;
        float[] dst = whole ? out : new float[4 * PANEL_ROWS];
        int o = whole ? first : 0;
        a0.intoArray(dst, o);
        a1.intoArray(dst, o + LANES);
        a2.intoArray(dst, o + PANEL_ROWS);
        a3.intoArray(dst, o + PANEL_ROWS + LANES);
        a4.intoArray(dst, o + 2 * PANEL_ROWS);
        a5.intoArray(dst, o + 2 * PANEL_ROWS + LANES);
        a6.intoArray(dst, o + 3 * PANEL_ROWS);
        a7.intoArray(dst, o + 3 * PANEL_ROWS + LANES);
        if (!whole) {
            copyInRange(dst, 1, 4 * PANEL_ROWS, out, first, 0, first, rowStart, rowEnd);
        }
    }

    /**
     * A tile that overlaps the edge of the rows it was given ({@code [rowStart, rowEnd)}, which also ends at the matrix's
     * last row) was stored to {@code tile}, {@code span} outputs per input row for weight rows from {@code first};
     * copies those in range to {@code out[o + k·rows + r - first]} for input row k. The tiles store their vectors only
     * through the Vector API's own stores: passing them to a method the JIT does not inline boxes them, and a tile that
     * did so ran at half the rate.
     */
    private static void copyInRange(
            float[] tile, int inputs, int span, float[] out, int o, int rows, int first, int rowStart, int rowEnd) {
        copyInRange(tile, 0, inputs, span, out, o, rows, first, rowStart, rowEnd);
    }

    /** {@link #copyInRange} from {@code tile[from]} on. */
    private static void copyInRange(
            float[] tile,
            int from,
            int inputs,
            int span,
            float[] out,
            int o,
            int rows,
            int first,
            int rowStart,
            int rowEnd) {
        for (int k = 0; k < inputs; k++) {
            for (int r = Math.max(first, rowStart); r < Math.min(first + span, rowEnd); r++) {
                out[o + k * rows + r - first] = tile[from + k * span + r - first];
            }
        }
    }

    /** Bytes of input rows per block: half of a 1 MiB L2, leaving room for the decoded panel and the output. */
    private static final int BLOCK_BYTES = 512 * 1024;

    /** Input rows per block for rows of {@code cols} floats: a multiple of {@link #INPUTS}, at least one tile. */
    static int blockRows(int cols) {
        int rows = BLOCK_BYTES / (Float.BYTES * Math.max(1, cols));
        return Math.max(INPUTS, rows - rows % INPUTS);
    }

    /** Per-thread float copy of the weight panel being multiplied; grows to the widest matrix seen. */
    private static final ThreadLocal<float[]> PANELS = ThreadLocal.withInitial(() -> new float[0]);

    private static float[] panel(int floats) {
        float[] panel = PANELS.get();
        if (panel.length < floats) {
            panel = new float[floats];
            PANELS.set(panel);
        }
        return panel;
    }

    /**
     * One input row (a decode step): weights are read once, straight from their stored format, four rows at a time
     * so that four independent accumulator chains hide the FMA latency while memory streams.
     */
    private static void matvec(Matrix w, float[] x, float[] out, int rowStart, int rowEnd) {
        WeightFormat format = w.format();
        MemorySegment data = w.data();
        int cols = w.cols();
        int r = rowStart;
        for (; r + PANEL <= rowEnd; r += PANEL) {
            tile4x1(format, data, (long) r * cols, cols, x, 0, out, r, 1);
        }
        for (; r < rowEnd; r++) {
            out[r] = dot1(format, data, (long) r * cols, cols, x, 0);
        }
    }

    /**
     * Input rows [batchStart, batchEnd) against weight rows [rowStart, rowEnd): each panel of four weight rows is
     * decoded once into a float buffer in the L1/L2 cache and then serves every input row of the block, four weight
     * rows × three input rows per pass. Every (weight row, input row) pair goes through the same per-element
     * arithmetic ({@link #tile4x3}, {@link #tile4x1}, {@link #dot1} share it), so a row gives the same bits whatever
     * the batch size.
     */
    private static void matmulBlock(
            Matrix w, float[] x, int batchStart, int batchEnd, float[] out, int rowStart, int rowEnd) {
        int cols = w.cols();
        int rows = w.rows();
        float[] panel = panel(PANEL * cols);
        int r = rowStart;
        for (; r + PANEL <= rowEnd; r += PANEL) {
            decode(w.format(), w.data(), (long) r * cols, PANEL * cols, panel);
            int b = batchStart;
            for (; b + INPUTS <= batchEnd; b += INPUTS) {
                tile4x3(panel, cols, x, b, out, r, rows);
            }
            for (; b < batchEnd; b++) {
                panel4x1(panel, cols, x, b * cols, out, b * rows + r);
            }
        }
        for (; r < rowEnd; r++) {
            decode(w.format(), w.data(), (long) r * cols, cols, panel);
            for (int b = batchStart; b < batchEnd; b++) {
                out[b * rows + r] = panelDot1(panel, cols, x, b * cols);
            }
        }
    }

    /**
     * Decodes {@code n} stored elements from element {@code first} into {@code panel} (exact: every stored format widens
     * to float): weight rows of a row-major matrix, or a packed matrix's panel.
     */
    private static void decode(WeightFormat format, MemorySegment data, long first, int n, float[] panel) {
        int c = 0;
        int bound = n - n % LANES;
        for (; c < bound; c += LANES) {
            load(format, data, first + c).intoArray(panel, c);
        }
        for (; c < n; c++) {
            panel[c] = element(format, data, first + c);
        }
    }

    /**
     * Weight rows r..r+3 (decoded in {@code panel}) against input rows b..b+2: twelve accumulators, three input
     * vectors and one weight vector, which fit AVX2's sixteen vector registers (a 4×4 tile needs 21 and spills).
     */
    private static void tile4x3(float[] panel, int cols, float[] x, int b, float[] out, int r, int rows) {
        int w1 = cols;
        int w2 = 2 * cols;
        int w3 = 3 * cols;
        int x0 = b * cols;
        int x1 = x0 + cols;
        int x2 = x1 + cols;
        FloatVector a00 = FloatVector.zero(FLOATS), a01 = a00, a02 = a00;
        FloatVector a10 = a00, a11 = a00, a12 = a00;
        FloatVector a20 = a00, a21 = a00, a22 = a00;
        FloatVector a30 = a00, a31 = a00, a32 = a00;
        int c = 0;
        int bound = cols - cols % LANES;
        for (; c < bound; c += LANES) {
            FloatVector v0 = FloatVector.fromArray(FLOATS, x, x0 + c);
            FloatVector v1 = FloatVector.fromArray(FLOATS, x, x1 + c);
            FloatVector v2 = FloatVector.fromArray(FLOATS, x, x2 + c);
            FloatVector wv = FloatVector.fromArray(FLOATS, panel, c);
            a00 = wv.fma(v0, a00);
            a01 = wv.fma(v1, a01);
            a02 = wv.fma(v2, a02);
            wv = FloatVector.fromArray(FLOATS, panel, w1 + c);
            a10 = wv.fma(v0, a10);
            a11 = wv.fma(v1, a11);
            a12 = wv.fma(v2, a12);
            wv = FloatVector.fromArray(FLOATS, panel, w2 + c);
            a20 = wv.fma(v0, a20);
            a21 = wv.fma(v1, a21);
            a22 = wv.fma(v2, a22);
            wv = FloatVector.fromArray(FLOATS, panel, w3 + c);
            a30 = wv.fma(v0, a30);
            a31 = wv.fma(v1, a31);
            a32 = wv.fma(v2, a32);
        }
        int o0 = b * rows + r;
        int o1 = o0 + rows;
        int o2 = o1 + rows;
        out[o0] = tail(panel, 0, x, x0, c, cols, sumLanes(a00));
        out[o1] = tail(panel, 0, x, x1, c, cols, sumLanes(a01));
        out[o2] = tail(panel, 0, x, x2, c, cols, sumLanes(a02));
        out[o0 + 1] = tail(panel, w1, x, x0, c, cols, sumLanes(a10));
        out[o1 + 1] = tail(panel, w1, x, x1, c, cols, sumLanes(a11));
        out[o2 + 1] = tail(panel, w1, x, x2, c, cols, sumLanes(a12));
        out[o0 + 2] = tail(panel, w2, x, x0, c, cols, sumLanes(a20));
        out[o1 + 2] = tail(panel, w2, x, x1, c, cols, sumLanes(a21));
        out[o2 + 2] = tail(panel, w2, x, x2, c, cols, sumLanes(a22));
        out[o0 + 3] = tail(panel, w3, x, x0, c, cols, sumLanes(a30));
        out[o1 + 3] = tail(panel, w3, x, x1, c, cols, sumLanes(a31));
        out[o2 + 3] = tail(panel, w3, x, x2, c, cols, sumLanes(a32));
    }

    /**
     * {@link #tile4x1}'s arithmetic over a decoded panel, read from the array itself: wrapping the panel in a heap
     * segment made the kernels' segment loads see two segment classes, and the compiled code fell back to slower
     * polymorphic loads (deoptimizations seen in a profile of the forward step).
     */
    private static void panel4x1(float[] panel, int cols, float[] x, int xOffset, float[] out, int o) {
        int w1 = cols;
        int w2 = 2 * cols;
        int w3 = 3 * cols;
        FloatVector a0 = FloatVector.zero(FLOATS), a1 = a0, a2 = a0, a3 = a0;
        int c = 0;
        int bound = cols - cols % LANES;
        for (; c < bound; c += LANES) {
            FloatVector v = FloatVector.fromArray(FLOATS, x, xOffset + c);
            a0 = FloatVector.fromArray(FLOATS, panel, c).fma(v, a0);
            a1 = FloatVector.fromArray(FLOATS, panel, w1 + c).fma(v, a1);
            a2 = FloatVector.fromArray(FLOATS, panel, w2 + c).fma(v, a2);
            a3 = FloatVector.fromArray(FLOATS, panel, w3 + c).fma(v, a3);
        }
        out[o] = tail(panel, 0, x, xOffset, c, cols, sumLanes(a0));
        out[o + 1] = tail(panel, w1, x, xOffset, c, cols, sumLanes(a1));
        out[o + 2] = tail(panel, w2, x, xOffset, c, cols, sumLanes(a2));
        out[o + 3] = tail(panel, w3, x, xOffset, c, cols, sumLanes(a3));
    }

    /** {@link #dot1}'s arithmetic over the first decoded row of a panel. */
    private static float panelDot1(float[] panel, int cols, float[] x, int xOffset) {
        FloatVector acc = FloatVector.zero(FLOATS);
        int c = 0;
        int bound = cols - cols % LANES;
        for (; c < bound; c += LANES) {
            acc = FloatVector.fromArray(FLOATS, panel, c).fma(FloatVector.fromArray(FLOATS, x, xOffset + c), acc);
        }
        return tail(panel, 0, x, xOffset, c, cols, sumLanes(acc));
    }

    /** Adds the scalar tail (columns from {@code from}) of one weight row and one input row to a vector sum. */
    private static float tail(float[] w, int wOffset, float[] x, int xOffset, int from, int cols, float sum) {
        for (int k = from; k < cols; k++) {
            sum += w[wOffset + k] * x[xOffset + k];
        }
        return sum;
    }

    /**
     * Four consecutive weight rows starting at element {@code w0} against one input row: {@code out[o + t·stride]}
     * for t &lt; 4 (stride 1: the four outputs of one input row are adjacent).
     */
    private static void tile4x1(
            WeightFormat format,
            MemorySegment data,
            long w0,
            int cols,
            float[] x,
            int xOffset,
            float[] out,
            int o,
            int stride) {
        long w1 = w0 + cols;
        long w2 = w1 + cols;
        long w3 = w2 + cols;
        FloatVector a0 = FloatVector.zero(FLOATS), a1 = a0, a2 = a0, a3 = a0;
        int c = 0;
        int bound = cols - cols % LANES;
        switch (format) {
            case F32 -> {
                for (; c < bound; c += LANES) {
                    FloatVector v = FloatVector.fromArray(FLOATS, x, xOffset + c);
                    a0 = loadF32(data, w0 + c).fma(v, a0);
                    a1 = loadF32(data, w1 + c).fma(v, a1);
                    a2 = loadF32(data, w2 + c).fma(v, a2);
                    a3 = loadF32(data, w3 + c).fma(v, a3);
                }
            }
            case BF16 -> {
                for (; c < bound; c += LANES) {
                    FloatVector v = FloatVector.fromArray(FLOATS, x, xOffset + c);
                    a0 = loadBf16(data, w0 + c).fma(v, a0);
                    a1 = loadBf16(data, w1 + c).fma(v, a1);
                    a2 = loadBf16(data, w2 + c).fma(v, a2);
                    a3 = loadBf16(data, w3 + c).fma(v, a3);
                }
            }
            case F16 -> {
                for (; c < bound; c += LANES) {
                    FloatVector v = FloatVector.fromArray(FLOATS, x, xOffset + c);
                    a0 = loadF16(data, w0 + c).fma(v, a0);
                    a1 = loadF16(data, w1 + c).fma(v, a1);
                    a2 = loadF16(data, w2 + c).fma(v, a2);
                    a3 = loadF16(data, w3 + c).fma(v, a3);
                }
            }
            case Q8 -> throw new AssertionError("Q8 has its own kernels");
        }
        out[o] = tail(format, data, w0, x, xOffset, c, cols, sumLanes(a0));
        out[o + stride] = tail(format, data, w1, x, xOffset, c, cols, sumLanes(a1));
        out[o + 2 * stride] = tail(format, data, w2, x, xOffset, c, cols, sumLanes(a2));
        out[o + 3 * stride] = tail(format, data, w3, x, xOffset, c, cols, sumLanes(a3));
    }

    /** {@link #tail(float[], int, float[], int, int, int, float)} over stored weights. */
    private static float tail(
            WeightFormat format, MemorySegment data, long w, float[] x, int xOffset, int from, int cols, float sum) {
        for (int k = from; k < cols; k++) {
            sum += element(format, data, w + k) * x[xOffset + k];
        }
        return sum;
    }

    /** One stored element as float (not Q8, whose scales live beside the data). */
    private static float element(WeightFormat format, MemorySegment data, long index) {
        return switch (format) {
            case F32 -> data.getAtIndex(Matrix.FLOAT_LE, index);
            case BF16 -> Float.intBitsToFloat(data.getAtIndex(Matrix.SHORT_LE, index) << 16);
            case F16 -> Float.float16ToFloat(data.getAtIndex(Matrix.SHORT_LE, index));
            case Q8 -> throw new AssertionError("Q8 has its own kernels");
        };
    }

    /** One vector of weights at element {@code element}, decoded to float lanes. */
    private static FloatVector load(WeightFormat format, MemorySegment data, long element) {
        if (format == WeightFormat.BF16) {
            return loadBf16(data, element);
        } else if (format == WeightFormat.F16) {
            return loadF16(data, element);
        }
        return loadF32(data, element);
    }

    /** One weight row from element {@code w} against one input row: the arithmetic every other tile repeats. */
    private static float dot1(WeightFormat format, MemorySegment data, long w, int cols, float[] x, int xOffset) {
        FloatVector acc = FloatVector.zero(FLOATS);
        int c = 0;
        int bound = cols - cols % LANES;
        switch (format) {
            case F32 -> {
                for (; c < bound; c += LANES) {
                    acc = loadF32(data, w + c).fma(FloatVector.fromArray(FLOATS, x, xOffset + c), acc);
                }
            }
            case BF16 -> {
                for (; c < bound; c += LANES) {
                    acc = loadBf16(data, w + c).fma(FloatVector.fromArray(FLOATS, x, xOffset + c), acc);
                }
            }
            case F16 -> {
                for (; c < bound; c += LANES) {
                    acc = loadF16(data, w + c).fma(FloatVector.fromArray(FLOATS, x, xOffset + c), acc);
                }
            }
            case Q8 -> throw new AssertionError("Q8 has its own kernels");
        }
        return tail(format, data, w, x, xOffset, c, cols, sumLanes(acc));
    }

    /*
     * Q8 rows are read as ints: one int holds four consecutive weights, and a vector of LANES ints holds 4·LANES
     * of them. Weight k of every int moved into the int's top byte with the bits below it cleared ("byte plane" k: a
     * shift left by 24 − 8k, then a mask; plane 0 needs only the shift and plane 3 only the mask) is that weight times
     * 2^24 exactly, and converts to floats with one instruction. The input row is scaled by 2^−24 once, which is exact
     * for every input of magnitude at least 2^−102 and for zero, so each fused product is the one of the weight and its
     * input. Shifting each plane left and then arithmetically right by 24 took seven shifts for four planes, where this
     * takes three shifts and three ANDs, which more of the core's ports execute. Widening eight bytes at a time instead
     * (a shuffle per vector, then the conversion) was the slower decode step: two threads read the 1b shape's q8 layer
     * matrices at 7.4 GB/s that way and at 22 GB/s with planes (docs/PERFORMANCE.md, "q8 products read as byte
     * planes"). A plane holds every fourth weight, so the input row is first interleaved into the same order
     * (interleaveQ8) and each product still pairs a weight with its own input.
     */
    /** Weights per vector of ints ({@link #FLOATS} has at most eight lanes: a vector never spans two blocks). */
    private static final int Q8_GROUP = 4 * LANES;
    /** Vectors of ints per block: one, or two when vectors hold four lanes. */
    private static final int Q8_GROUPS = Matrix.Q8_BLOCK / Q8_GROUP;
    /** The bits of an int's top byte: a byte plane's weight, the bits below it cleared. */
    private static final int TOP_BYTE = 0xFF000000;

    private static final ThreadLocal<float[]> Q8_INPUTS = ThreadLocal.withInitial(() -> new float[0]);

    /**
     * Q8 rows: each block's planes are decoded once and serve four input rows at a time (batched) or one (a decode
     * step, two weight rows at a time, {@link #q8Rows2}). Every output is {@link #dotQ8}'s arithmetic, so a row gives
     * the same bits in a batch of any size and in any range of rows.
     */
    private static void matmulQ8(Matrix w, float[] x, int batch, float[] out, int rowStart, int rowEnd) {
        MemorySegment data = w.data();
        float[] scales = w.scales();
        int cols = w.cols();
        int rows = w.rows();
        float[] interleaved = Q8_INPUTS.get();
        if (interleaved.length < batch * cols) {
            interleaved = new float[batch * cols];
            Q8_INPUTS.set(interleaved);
        }
        for (int b = 0; b < batch; b++) {
            interleaveQ8(x, b * cols, cols, interleaved);
        }
        int r = rowStart;
        if (batch == 1) {
            // row i of the range's first half beside row i of its second: two streams from memory, each read in order
            int half = (rowEnd - rowStart) / 2;
            float[] lanes = new float[2 * LANES];
            for (int i = 0; i < half; i++) {
                q8Rows2(data, scales, cols, interleaved, out, rowStart + i, rowStart + half + i, lanes);
            }
            r = rowStart + 2 * half;
        }
        for (; r < rowEnd; r++) {
            long rowElement = (long) r * cols;
            int b = 0;
            for (; b + 4 <= batch; b += 4) {
                q8x4(data, scales, rowElement, cols, interleaved, b * cols, out, b * rows + r, rows);
            }
            for (; b < batch; b++) {
                out[b * rows + r] = dotQ8(data, scales, rowElement, cols, interleaved, b * cols);
            }
        }
    }

    /**
     * {@code x[offset, offset + cols)} times 2^−24 into {@code dst} at the same offset, each group of weights in plane
     * order.
     */
    private static void interleaveQ8(float[] x, int offset, int cols, float[] dst) {
        for (int g = offset; g < offset + cols; g += Q8_GROUP) {
            for (int k = 0; k < 4; k++) {
                for (int j = 0; j < LANES; j++) {
                    dst[g + k * LANES + j] = x[g + 4 * j + k] * 0x1p-24f;
                }
            }
        }
    }

    /** Weight k of each int of {@code ints} times 2^24, as floats. */
    private static FloatVector plane(IntVector ints, int k) {
        IntVector top = switch (k) {
            case 0 -> ints.lanewise(VectorOperators.LSHL, 24);
            case 3 -> ints.and(TOP_BYTE);
            default -> ints.lanewise(VectorOperators.LSHL, 24 - 8 * k).and(TOP_BYTE);
        };
        return (FloatVector) top.convert(VectorOperators.I2F, 0);
    }

    /**
     * One Q8 weight row against an interleaved input row: per block, the products of even and of odd planes summed in
     * two chains, their sum times the block's scale added to the row's lanes, the lanes summed at the end.
     */
    private static float dotQ8(
            MemorySegment data, float[] scales, long rowElement, int cols, float[] interleaved, int xOffset) {
        FloatVector acc = FloatVector.zero(FLOATS);
        int firstBlock = (int) (rowElement / Matrix.Q8_BLOCK);
        for (int c = 0; c < cols; c += Matrix.Q8_BLOCK) {
            FloatVector even = FloatVector.zero(FLOATS);
            FloatVector odd = even;
            for (int h = 0; h < Q8_GROUPS; h++) {
                int g = c + h * Q8_GROUP;
                IntVector ints = IntVector.fromMemorySegment(INTS, data, rowElement + g, LE);
                int i = xOffset + g;
                even = plane(ints, 0).fma(FloatVector.fromArray(FLOATS, interleaved, i), even);
                odd = plane(ints, 1).fma(FloatVector.fromArray(FLOATS, interleaved, i + LANES), odd);
                even = plane(ints, 2).fma(FloatVector.fromArray(FLOATS, interleaved, i + 2 * LANES), even);
                odd = plane(ints, 3).fma(FloatVector.fromArray(FLOATS, interleaved, i + 3 * LANES), odd);
            }
            acc = even.add(odd).fma(FloatVector.broadcast(FLOATS, scales[firstBlock + c / Matrix.Q8_BLOCK]), acc);
        }
        return sumLanes(acc);
    }

    /**
     * Q8 weight rows r and s against one interleaved input row, written to {@code out[r]} and {@code out[s]}: {@link
     * #dotQ8}'s arithmetic for each, in two independent chains that share the input's loads, so that one row's sums
     * wait on the FMA latency while the other's are computed. Rows far apart (not r and r + 1) make two streams that
     * each run forward through memory; two neighbouring rows interleave within the same pages, and the 1b shape's layer
     * matrices read that way came at 13.9–15.0 GB/s on two threads, against 16.3–18.9 one row at a time and 18.5–24.3
     * with rows far apart (docs/PERFORMANCE.md, "q8 decode two rows at a time").
     */
    private static void q8Rows2(
            MemorySegment data,
            float[] scales,
            int cols,
            float[] interleaved,
            float[] out,
            int r,
            int s,
            float[] lanes) {
        FloatVector a0 = FloatVector.zero(FLOATS), a1 = a0;
        long rowElement = (long) r * cols;
        long otherElement = (long) s * cols;
        int firstBlock = (int) (rowElement / Matrix.Q8_BLOCK);
        int secondBlock = (int) (otherElement / Matrix.Q8_BLOCK);
        for (int c = 0; c < cols; c += Matrix.Q8_BLOCK) {
            FloatVector e0 = FloatVector.zero(FLOATS), d0 = e0, e1 = e0, d1 = e0;
            for (int h = 0; h < Q8_GROUPS; h++) {
                int g = c + h * Q8_GROUP;
                IntVector ints0 = IntVector.fromMemorySegment(INTS, data, rowElement + g, LE);
                IntVector ints1 = IntVector.fromMemorySegment(INTS, data, otherElement + g, LE);
                for (int k = 0; k < 4; k += 2) {
                    int i = g + k * LANES;
                    FloatVector xe = FloatVector.fromArray(FLOATS, interleaved, i);
                    FloatVector xo = FloatVector.fromArray(FLOATS, interleaved, i + LANES);
                    e0 = plane(ints0, k).fma(xe, e0);
                    d0 = plane(ints0, k + 1).fma(xo, d0);
                    e1 = plane(ints1, k).fma(xe, e1);
                    d1 = plane(ints1, k + 1).fma(xo, d1);
                }
            }
            int block = c / Matrix.Q8_BLOCK;
            a0 = e0.add(d0).fma(FloatVector.broadcast(FLOATS, scales[firstBlock + block]), a0);
            a1 = e1.add(d1).fma(FloatVector.broadcast(FLOATS, scales[secondBlock + block]), a1);
        }
        // summed from an array: handed the vectors, sumLanes was left out of line (a boxed vector per row) whenever
        // this method compiled after other products had run, and a 0.5b decode step took 15 % longer
        a0.intoArray(lanes, 0);
        a1.intoArray(lanes, LANES);
        out[r] = sumLanes(lanes, 0, LANES);
        out[s] = sumLanes(lanes, LANES, LANES);
    }

    /**
     * {@link #sumLanes(FloatVector, VectorShuffle[])}'s additions, in its order, over lanes stored in {@code
     * lanes[offset, offset + n)} (n a power of two), which it overwrites: lane i gets lane i + w for w = n/2, n/4, …, 1.
     */
    private static float sumLanes(float[] lanes, int offset, int n) {
        for (int w = n / 2; w >= 1; w /= 2) {
            for (int i = 0; i < w; i++) {
                lanes[offset + i] += lanes[offset + i + w];
            }
        }
        return lanes[offset];
    }

    /**
     * One Q8 weight row against four interleaved inputs ({@code xOffset + t·cols}, t &lt; 4), written to {@code out[o +
     * t·oStride]}: {@link #dotQ8}'s arithmetic for each, one decode of the planes for all four.
     */
    private static void q8x4(
            MemorySegment data,
            float[] scales,
            long rowElement,
            int cols,
            float[] interleaved,
            int xOffset,
            float[] out,
            int o,
            int oStride) {
        FloatVector a0 = FloatVector.zero(FLOATS), a1 = a0, a2 = a0, a3 = a0;
        int firstBlock = (int) (rowElement / Matrix.Q8_BLOCK);
        for (int c = 0; c < cols; c += Matrix.Q8_BLOCK) {
            FloatVector e0 = FloatVector.zero(FLOATS), e1 = e0, e2 = e0, e3 = e0;
            FloatVector d0 = e0, d1 = e0, d2 = e0, d3 = e0;
            for (int h = 0; h < Q8_GROUPS; h++) {
                int g = c + h * Q8_GROUP;
                IntVector ints = IntVector.fromMemorySegment(INTS, data, rowElement + g, LE);
                for (int k = 0; k < 4; k += 2) {
                    FloatVector p = plane(ints, k);
                    FloatVector q = plane(ints, k + 1);
                    int i = xOffset + g + k * LANES;
                    e0 = p.fma(FloatVector.fromArray(FLOATS, interleaved, i), e0);
                    d0 = q.fma(FloatVector.fromArray(FLOATS, interleaved, i + LANES), d0);
                    i += cols;
                    e1 = p.fma(FloatVector.fromArray(FLOATS, interleaved, i), e1);
                    d1 = q.fma(FloatVector.fromArray(FLOATS, interleaved, i + LANES), d1);
                    i += cols;
                    e2 = p.fma(FloatVector.fromArray(FLOATS, interleaved, i), e2);
                    d2 = q.fma(FloatVector.fromArray(FLOATS, interleaved, i + LANES), d2);
                    i += cols;
                    e3 = p.fma(FloatVector.fromArray(FLOATS, interleaved, i), e3);
                    d3 = q.fma(FloatVector.fromArray(FLOATS, interleaved, i + LANES), d3);
                }
            }
            FloatVector scale = FloatVector.broadcast(FLOATS, scales[firstBlock + c / Matrix.Q8_BLOCK]);
            a0 = e0.add(d0).fma(scale, a0);
            a1 = e1.add(d1).fma(scale, a1);
            a2 = e2.add(d2).fma(scale, a2);
            a3 = e3.add(d3).fma(scale, a3);
        }
        out[o] = sumLanes(a0);
        out[o + oStride] = sumLanes(a1);
        out[o + 2 * oStride] = sumLanes(a2);
        out[o + 3 * oStride] = sumLanes(a3);
    }

    /*
     * Packed Q8 (Matrix#packTo): the ints of a panel's column group hold four columns of one row each, sixteen rows
     * side by side, so byte plane k of a vector of eight of them is column k of the group for eight rows. Rows lie in
     * the lanes as in the float panels: one input row's value is broadcast, no lanes are summed, and a decoded plane is
     * a column of a float panel. Each output is ScalarKernels' packed Q8 arithmetic: per block, one fused multiply-add
     * per column in order from zero, then the block's sum times its scale (the sixteen rows' scales side by side)
     * added to the output's sum by one more. Against the row-major kernels above, one thread (docs/PERFORMANCE.md, "q8
     * in packed panels"): a decode step as fast or faster, sixteen and more input rows twice as fast or more, since the
     * tiles no longer load an interleaved input per FMA.
     */
    private static final ThreadLocal<float[]> Q8_SUMS = ThreadLocal.withInitial(() -> new float[6 * PANEL_ROWS]);

    /**
     * A packed Q8 matrix. One input row (a decode step) reads two panels at a time straight from their bytes, one from
     * each half of the range, four chains of block sums; two or three input rows take that path one row at a time.
     * From four input rows on, each panel is first decoded into the per-thread float buffer (the integers times 2^24,
     * exactly), and six- and four-row tiles read it as the float panels' tiles do, the last tile ending with the batch
     * (the rows it repeats get the same bits again).
     */
    private static void matmulPackedQ8(Matrix w, float[] x, int batch, float[] out, int rowStart, int rowEnd) {
        MemorySegment data = w.data();
        float[] scales = w.scales();
        int cols = w.cols();
        int rows = w.rows();
        float[] scaled = Q8_INPUTS.get();
        if (scaled.length < batch * cols) {
            scaled = new float[batch * cols];
            Q8_INPUTS.set(scaled);
        }
        for (int i = 0; i < batch * cols; i++) {
            scaled[i] = x[i] * 0x1p-24f;
        }
        float[] sums = Q8_SUMS.get();
        int panelStart = rowStart / PANEL_ROWS;
        int panelEnd = (rowEnd + PANEL_ROWS - 1) / PANEL_ROWS;
        if (batch < 4) {
            // panel i of the range's first half beside panel i of its second: two streams from memory, each read in
            // order from the range's start to its end
            int half = (panelEnd - panelStart) / 2;
            for (int b = 0; b < batch; b++) {
                for (int i = 0; i < half; i++) {
                    int p = panelStart + i;
                    int q = p + half;
                    q8Panels2x1(data, scales, p, q, cols, scaled, b * cols, sums);
                    copyInRange(
                            sums, 1, PANEL_ROWS, out, b * rows + p * PANEL_ROWS, 0, p * PANEL_ROWS, rowStart, rowEnd);
                    copyInRange(
                            sums,
                            PANEL_ROWS,
                            1,
                            PANEL_ROWS,
                            out,
                            b * rows + q * PANEL_ROWS,
                            0,
                            q * PANEL_ROWS,
                            rowStart,
                            rowEnd);
                }
                if (panelStart + 2 * half < panelEnd) {
                    int p = panelEnd - 1;
                    q8Panel1x1(data, scales, p, cols, scaled, b * cols, sums);
                    copyInRange(
                            sums, 1, PANEL_ROWS, out, b * rows + p * PANEL_ROWS, 0, p * PANEL_ROWS, rowStart, rowEnd);
                }
            }
            return;
        }
        float[] panel = panel(PANEL_ROWS * cols);
        for (int p = panelStart; p < panelEnd; p++) {
            decodeQ8Panel(data, (long) p * PANEL_ROWS * cols, cols, panel);
            int scaleBase = q8ScaleIndex(p, cols, 0);
            int first = p * PANEL_ROWS;
            for (int b = 0; b < batch; ) {
                int width = batch >= 6 && batch - b > 4 ? 6 : 4;
                int from = Math.min(b, batch - width);
                if (width == 6) {
                    q8DecodedPanel16x6(panel, scales, scaleBase, cols, scaled, from, sums);
                } else {
                    q8DecodedPanel16x4(panel, scales, scaleBase, cols, scaled, from, sums);
                }
                copyInRange(sums, width, PANEL_ROWS, out, from * rows + first, rows, first, rowStart, rowEnd);
                b = from + width;
            }
        }
    }

    /** The packed Q8 panel from byte {@code base} as floats, the integers times 2^24, sixteen per column. */
    private static void decodeQ8Panel(MemorySegment data, long base, int cols, float[] panel) {
        for (int c = 0; c < cols; c += 4) {
            long e = base + (long) c * PANEL_ROWS;
            IntVector low = IntVector.fromMemorySegment(INTS, data, e, LE);
            IntVector high = IntVector.fromMemorySegment(INTS, data, e + 4 * LANES, LE);
            for (int k = 0; k < 4; k++) {
                plane(low, k).intoArray(panel, (c + k) * PANEL_ROWS);
                plane(high, k).intoArray(panel, (c + k) * PANEL_ROWS + LANES);
            }
        }
    }

    /**
     * Panels p and q against one input row (its values times 2^−24 from {@code xOffset}), their sixteen outputs each
     * written to {@code sums} (p's first): four chains of block sums, one per vector of ints, each fed its column's
     * plane in turn, and the outputs' sums kept in registers. The loop over the planes is left to the compiler to
     * unroll: written out (16 planes per step), or with four panels at once, the kernel exceeded the compiler's
     * inlining budget, vectors were boxed, and it ran at a tenth of its rate.
     */
    private static void q8Panels2x1(
            MemorySegment data, float[] scales, int p, int q, int cols, float[] x, int xOffset, float[] sums) {
        long panelBytes = (long) cols * PANEL_ROWS;
        long base = p * panelBytes;
        long other = (q - p) * panelBytes;
        int half = 4 * LANES;
        int otherScales = q8ScaleIndex(q - p, cols, 0);
        FloatVector f0 = FloatVector.zero(FLOATS), f1 = f0, f2 = f0, f3 = f0;
        for (int block = 0; block < cols; block += Matrix.Q8_BLOCK) {
            FloatVector s0 = FloatVector.zero(FLOATS), s1 = s0, s2 = s0, s3 = s0;
            for (int c = block; c < block + Matrix.Q8_BLOCK; c += 4) {
                long e = base + (long) c * PANEL_ROWS;
                IntVector i0 = IntVector.fromMemorySegment(INTS, data, e, LE);
                IntVector i1 = IntVector.fromMemorySegment(INTS, data, e + half, LE);
                IntVector i2 = IntVector.fromMemorySegment(INTS, data, e + other, LE);
                IntVector i3 = IntVector.fromMemorySegment(INTS, data, e + other + half, LE);
                for (int k = 0; k < 4; k++) {
                    FloatVector v = FloatVector.broadcast(FLOATS, x[xOffset + c + k]);
                    s0 = plane(i0, k).fma(v, s0);
                    s1 = plane(i1, k).fma(v, s1);
                    s2 = plane(i2, k).fma(v, s2);
                    s3 = plane(i3, k).fma(v, s3);
                }
            }
            int scale = q8ScaleIndex(p, cols, block);
            f0 = s0.fma(FloatVector.fromArray(FLOATS, scales, scale), f0);
            f1 = s1.fma(FloatVector.fromArray(FLOATS, scales, scale + LANES), f1);
            f2 = s2.fma(FloatVector.fromArray(FLOATS, scales, scale + otherScales), f2);
            f3 = s3.fma(FloatVector.fromArray(FLOATS, scales, scale + otherScales + LANES), f3);
        }
        f0.intoArray(sums, 0);
        f1.intoArray(sums, LANES);
        f2.intoArray(sums, PANEL_ROWS);
        f3.intoArray(sums, PANEL_ROWS + LANES);
    }

    /** {@link #q8Panels2x1}'s arithmetic for panel p alone, its sixteen outputs written to {@code sums}. */
    private static void q8Panel1x1(
            MemorySegment data, float[] scales, int p, int cols, float[] x, int xOffset, float[] sums) {
        long base = (long) p * cols * PANEL_ROWS;
        FloatVector f0 = FloatVector.zero(FLOATS), f1 = f0;
        for (int block = 0; block < cols; block += Matrix.Q8_BLOCK) {
            FloatVector s0 = FloatVector.zero(FLOATS), s1 = s0;
            for (int c = block; c < block + Matrix.Q8_BLOCK; c += 4) {
                long e = base + (long) c * PANEL_ROWS;
                IntVector low = IntVector.fromMemorySegment(INTS, data, e, LE);
                IntVector high = IntVector.fromMemorySegment(INTS, data, e + 4 * LANES, LE);
                for (int k = 0; k < 4; k++) {
                    FloatVector v = FloatVector.broadcast(FLOATS, x[xOffset + c + k]);
                    s0 = plane(low, k).fma(v, s0);
                    s1 = plane(high, k).fma(v, s1);
                }
            }
            int scale = q8ScaleIndex(p, cols, block);
            f0 = s0.fma(FloatVector.fromArray(FLOATS, scales, scale), f0);
            f1 = s1.fma(FloatVector.fromArray(FLOATS, scales, scale + LANES), f1);
        }
        f0.intoArray(sums, 0);
        f1.intoArray(sums, LANES);
    }

    /** Where the sixteen scales of panel p's block from column {@code col} start in a packed Q8 matrix's scales. */
    private static int q8ScaleIndex(int p, int cols, int col) {
        return (p * (cols / Matrix.Q8_BLOCK) + col / Matrix.Q8_BLOCK) * PANEL_ROWS;
    }

    /**
     * A decoded Q8 panel ({@link #decodeQ8Panel}) against input rows b..b+5 (times 2^−24), the outputs written to
     * {@code sums}, sixteen per input row: {@link #decodedPanel16x6}'s outer product, block by block.
     */
    private static void q8DecodedPanel16x6(
            float[] panel, float[] scales, int scaleBase, int cols, float[] x, int b, float[] sums) {
        java.util.Arrays.fill(sums, 0, 6 * PANEL_ROWS, 0f);
        int x0 = b * cols;
        int x1 = x0 + cols;
        int x2 = x1 + cols;
        int x3 = x2 + cols;
        int x4 = x3 + cols;
        int x5 = x4 + cols;
        for (int block = 0; block < cols; block += Matrix.Q8_BLOCK) {
            FloatVector a00 = FloatVector.zero(FLOATS), a01 = a00, a10 = a00, a11 = a00, a20 = a00, a21 = a00;
            FloatVector a30 = a00, a31 = a00, a40 = a00, a41 = a00, a50 = a00, a51 = a00;
            for (int c = block; c < block + Matrix.Q8_BLOCK; c++) {
                int e = c * PANEL_ROWS;
                FloatVector w0 = FloatVector.fromArray(FLOATS, panel, e);
                FloatVector w1 = FloatVector.fromArray(FLOATS, panel, e + LANES);
                FloatVector v = FloatVector.broadcast(FLOATS, x[x0 + c]);
                a00 = w0.fma(v, a00);
                a01 = w1.fma(v, a01);
                v = FloatVector.broadcast(FLOATS, x[x1 + c]);
                a10 = w0.fma(v, a10);
                a11 = w1.fma(v, a11);
                v = FloatVector.broadcast(FLOATS, x[x2 + c]);
                a20 = w0.fma(v, a20);
                a21 = w1.fma(v, a21);
                v = FloatVector.broadcast(FLOATS, x[x3 + c]);
                a30 = w0.fma(v, a30);
                a31 = w1.fma(v, a31);
                v = FloatVector.broadcast(FLOATS, x[x4 + c]);
                a40 = w0.fma(v, a40);
                a41 = w1.fma(v, a41);
                v = FloatVector.broadcast(FLOATS, x[x5 + c]);
                a50 = w0.fma(v, a50);
                a51 = w1.fma(v, a51);
            }
            int s = scaleBase + block / Matrix.Q8_BLOCK * PANEL_ROWS;
            FloatVector low = FloatVector.fromArray(FLOATS, scales, s);
            FloatVector high = FloatVector.fromArray(FLOATS, scales, s + LANES);
            a00.fma(low, FloatVector.fromArray(FLOATS, sums, 0)).intoArray(sums, 0);
            a01.fma(high, FloatVector.fromArray(FLOATS, sums, LANES)).intoArray(sums, LANES);
            a10.fma(low, FloatVector.fromArray(FLOATS, sums, PANEL_ROWS)).intoArray(sums, PANEL_ROWS);
            a11.fma(high, FloatVector.fromArray(FLOATS, sums, PANEL_ROWS + LANES))
                    .intoArray(sums, PANEL_ROWS + LANES);
            a20.fma(low, FloatVector.fromArray(FLOATS, sums, 2 * PANEL_ROWS)).intoArray(sums, 2 * PANEL_ROWS);
            a21.fma(high, FloatVector.fromArray(FLOATS, sums, 2 * PANEL_ROWS + LANES))
                    .intoArray(sums, 2 * PANEL_ROWS + LANES);
            a30.fma(low, FloatVector.fromArray(FLOATS, sums, 3 * PANEL_ROWS)).intoArray(sums, 3 * PANEL_ROWS);
            a31.fma(high, FloatVector.fromArray(FLOATS, sums, 3 * PANEL_ROWS + LANES))
                    .intoArray(sums, 3 * PANEL_ROWS + LANES);
            a40.fma(low, FloatVector.fromArray(FLOATS, sums, 4 * PANEL_ROWS)).intoArray(sums, 4 * PANEL_ROWS);
            a41.fma(high, FloatVector.fromArray(FLOATS, sums, 4 * PANEL_ROWS + LANES))
                    .intoArray(sums, 4 * PANEL_ROWS + LANES);
            a50.fma(low, FloatVector.fromArray(FLOATS, sums, 5 * PANEL_ROWS)).intoArray(sums, 5 * PANEL_ROWS);
            a51.fma(high, FloatVector.fromArray(FLOATS, sums, 5 * PANEL_ROWS + LANES))
                    .intoArray(sums, 5 * PANEL_ROWS + LANES);
        }
    }

    /** {@link #q8DecodedPanel16x6} for four input rows. */
    private static void q8DecodedPanel16x4(
            float[] panel, float[] scales, int scaleBase, int cols, float[] x, int b, float[] sums) {
        java.util.Arrays.fill(sums, 0, 4 * PANEL_ROWS, 0f);
        int x0 = b * cols;
        int x1 = x0 + cols;
        int x2 = x1 + cols;
        int x3 = x2 + cols;
        for (int block = 0; block < cols; block += Matrix.Q8_BLOCK) {
            FloatVector a00 = FloatVector.zero(FLOATS), a01 = a00, a10 = a00, a11 = a00;
            FloatVector a20 = a00, a21 = a00, a30 = a00, a31 = a00;
            for (int c = block; c < block + Matrix.Q8_BLOCK; c++) {
                int e = c * PANEL_ROWS;
                FloatVector w0 = FloatVector.fromArray(FLOATS, panel, e);
                FloatVector w1 = FloatVector.fromArray(FLOATS, panel, e + LANES);
                FloatVector v = FloatVector.broadcast(FLOATS, x[x0 + c]);
                a00 = w0.fma(v, a00);
                a01 = w1.fma(v, a01);
                v = FloatVector.broadcast(FLOATS, x[x1 + c]);
                a10 = w0.fma(v, a10);
                a11 = w1.fma(v, a11);
                v = FloatVector.broadcast(FLOATS, x[x2 + c]);
                a20 = w0.fma(v, a20);
                a21 = w1.fma(v, a21);
                v = FloatVector.broadcast(FLOATS, x[x3 + c]);
                a30 = w0.fma(v, a30);
                a31 = w1.fma(v, a31);
            }
            int s = scaleBase + block / Matrix.Q8_BLOCK * PANEL_ROWS;
            FloatVector low = FloatVector.fromArray(FLOATS, scales, s);
            FloatVector high = FloatVector.fromArray(FLOATS, scales, s + LANES);
            a00.fma(low, FloatVector.fromArray(FLOATS, sums, 0)).intoArray(sums, 0);
            a01.fma(high, FloatVector.fromArray(FLOATS, sums, LANES)).intoArray(sums, LANES);
            a10.fma(low, FloatVector.fromArray(FLOATS, sums, PANEL_ROWS)).intoArray(sums, PANEL_ROWS);
            a11.fma(high, FloatVector.fromArray(FLOATS, sums, PANEL_ROWS + LANES))
                    .intoArray(sums, PANEL_ROWS + LANES);
            a20.fma(low, FloatVector.fromArray(FLOATS, sums, 2 * PANEL_ROWS)).intoArray(sums, 2 * PANEL_ROWS);
            a21.fma(high, FloatVector.fromArray(FLOATS, sums, 2 * PANEL_ROWS + LANES))
                    .intoArray(sums, 2 * PANEL_ROWS + LANES);
            a30.fma(low, FloatVector.fromArray(FLOATS, sums, 3 * PANEL_ROWS)).intoArray(sums, 3 * PANEL_ROWS);
            a31.fma(high, FloatVector.fromArray(FLOATS, sums, 3 * PANEL_ROWS + LANES))
                    .intoArray(sums, 3 * PANEL_ROWS + LANES);
        }
    }

    private static FloatVector loadF32(MemorySegment data, long element) {
        return FloatVector.fromMemorySegment(FLOATS, data, element * 4, LE);
    }

    private static FloatVector loadBf16(MemorySegment data, long element) {
        IntVector widened = (IntVector)
                ShortVector.fromMemorySegment(SHORTS, data, element * 2, LE).convertShape(VectorOperators.S2I, INTS, 0);
        return widened.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats();
    }

    /** Half to float: shift exponent and mantissa into place and rebias by 2^112 (exact, subnormals included). */
    private static FloatVector loadF16(MemorySegment data, long element) {
        IntVector half = (IntVector)
                ShortVector.fromMemorySegment(SHORTS, data, element * 2, LE).convertShape(VectorOperators.S2I, INTS, 0);
        IntVector magnitude = half.and(0x7FFF);
        IntVector shifted = magnitude.lanewise(VectorOperators.LSHL, 13);
        IntVector bits = shifted.reinterpretAsFloats().mul(0x1p112f).reinterpretAsInts();
        VectorMask<Integer> infOrNan = magnitude.compare(VectorOperators.GE, 0x7C00);
        bits = bits.blend(shifted.or(0x7F800000), infOrNan);
        return bits.or(half.and(0x8000).lanewise(VectorOperators.LSHL, 16)).reinterpretAsFloats();
    }

    @Override
    public void siluGate(float[] gate, float[] up, int offset, int n) {
        int i = offset;
        int bound = offset + n - n % LANES;
        for (; i < bound; i += LANES) {
            FloatVector x = FloatVector.fromArray(FLOATS, gate, i);
            x.div(exp(x.neg()).add(1f))
                    .mul(FloatVector.fromArray(FLOATS, up, i))
                    .intoArray(gate, i);
        }
        for (; i < offset + n; i++) {
            gate[i] = ScalarKernels.silu(gate[i]) * up[i];
        }
    }

    @Override
    public void expShifted(float[] x, int offset, int n, float shift) {
        int i = offset;
        int bound = offset + n - n % LANES;
        for (; i < bound; i += LANES) {
            exp(FloatVector.fromArray(FLOATS, x, i).sub(shift)).intoArray(x, i);
        }
        for (; i < offset + n; i++) {
            x[i] = ScalarKernels.exp(x[i] - shift);
        }
    }

    /** {@link ScalarKernels#exp}'s operations, lane by lane. */
    private static FloatVector exp(FloatVector x) {
        FloatVector c = x.max(ScalarKernels.EXP_MIN).min(ScalarKernels.EXP_MAX);
        FloatVector k = c.fma(ScalarKernels.LOG2E, ScalarKernels.ROUNDER).sub(ScalarKernels.ROUNDER);
        FloatVector r = k.fma(FloatVector.broadcast(FLOATS, -ScalarKernels.LN2_HI), c);
        r = k.fma(FloatVector.broadcast(FLOATS, -ScalarKernels.LN2_LO), r);
        FloatVector p = r.fma(ScalarKernels.P0, ScalarKernels.P1);
        p = p.fma(r, FloatVector.broadcast(FLOATS, ScalarKernels.P2));
        p = p.fma(r, FloatVector.broadcast(FLOATS, ScalarKernels.P3));
        p = p.fma(r, FloatVector.broadcast(FLOATS, ScalarKernels.P4));
        p = p.fma(r, FloatVector.broadcast(FLOATS, ScalarKernels.P5));
        FloatVector y = p.fma(r.mul(r), r).add(1f);
        IntVector bits =
                ((IntVector) k.convert(VectorOperators.F2I, 0)).add(127).lanewise(VectorOperators.LSHL, 23);
        return y.mul(bits.reinterpretAsFloats());
    }

    @Override
    public float dot(float[] a, int aOffset, float[] b, int bOffset, int n) {
        FloatVector acc = FloatVector.zero(FLOATS);
        int i = 0;
        int bound = n - n % LANES;
        for (; i < bound; i += LANES) {
            acc = FloatVector.fromArray(FLOATS, a, aOffset + i).fma(FloatVector.fromArray(FLOATS, b, bOffset + i), acc);
        }
        float sum = sumLanes(acc);
        for (; i < n; i++) {
            sum += a[aOffset + i] * b[bOffset + i];
        }
        return sum;
    }

    /** Four rows at a time in four accumulator chains, each row with {@link #dot}'s arithmetic. */
    @Override
    public void dotRows(
            float[] a, int aOffset, float[] x, int xOffset, int stride, int count, float[] out, int outOffset, int n) {
        int bound = n - n % LANES;
        int j = 0;
        for (; j + 4 <= count; j += 4) {
            int x0 = xOffset + j * stride;
            int x1 = x0 + stride;
            int x2 = x1 + stride;
            int x3 = x2 + stride;
            FloatVector acc0 = FloatVector.zero(FLOATS), acc1 = acc0, acc2 = acc0, acc3 = acc0;
            for (int i = 0; i < bound; i += LANES) {
                FloatVector q = FloatVector.fromArray(FLOATS, a, aOffset + i);
                acc0 = q.fma(FloatVector.fromArray(FLOATS, x, x0 + i), acc0);
                acc1 = q.fma(FloatVector.fromArray(FLOATS, x, x1 + i), acc1);
                acc2 = q.fma(FloatVector.fromArray(FLOATS, x, x2 + i), acc2);
                acc3 = q.fma(FloatVector.fromArray(FLOATS, x, x3 + i), acc3);
            }
            float s0 = sumLanes(acc0), s1 = sumLanes(acc1), s2 = sumLanes(acc2), s3 = sumLanes(acc3);
            for (int i = bound; i < n; i++) {
                s0 += a[aOffset + i] * x[x0 + i];
                s1 += a[aOffset + i] * x[x1 + i];
                s2 += a[aOffset + i] * x[x2 + i];
                s3 += a[aOffset + i] * x[x3 + i];
            }
            out[outOffset + j] = s0;
            out[outOffset + j + 1] = s1;
            out[outOffset + j + 2] = s2;
            out[outOffset + j + 3] = s3;
        }
        for (; j < count; j++) {
            out[outOffset + j] = dot(a, aOffset, x, xOffset + j * stride, n);
        }
    }

    /**
     * Four vectors of y at a time held in registers across all the rows, instead of loaded and stored again for each
     * row: every element still takes its rows' fused multiply-adds (its scalar tail's products and sums) in row order.
     */
    @Override
    public void axpyRows(
            float[] w, int wOffset, float[] x, int xOffset, int stride, int count, float[] y, int yOffset, int n) {
        int bound = n - n % LANES;
        int i = 0;
        for (; i + 4 * LANES <= bound; i += 4 * LANES) {
            int o = yOffset + i;
            FloatVector y0 = FloatVector.fromArray(FLOATS, y, o);
            FloatVector y1 = FloatVector.fromArray(FLOATS, y, o + LANES);
            FloatVector y2 = FloatVector.fromArray(FLOATS, y, o + 2 * LANES);
            FloatVector y3 = FloatVector.fromArray(FLOATS, y, o + 3 * LANES);
            for (int j = 0; j < count; j++) {
                FloatVector alpha = FloatVector.broadcast(FLOATS, w[wOffset + j]);
                int e = xOffset + j * stride + i;
                y0 = FloatVector.fromArray(FLOATS, x, e).fma(alpha, y0);
                y1 = FloatVector.fromArray(FLOATS, x, e + LANES).fma(alpha, y1);
                y2 = FloatVector.fromArray(FLOATS, x, e + 2 * LANES).fma(alpha, y2);
                y3 = FloatVector.fromArray(FLOATS, x, e + 3 * LANES).fma(alpha, y3);
            }
            y0.intoArray(y, o);
            y1.intoArray(y, o + LANES);
            y2.intoArray(y, o + 2 * LANES);
            y3.intoArray(y, o + 3 * LANES);
        }
        for (; i < bound; i += LANES) {
            FloatVector acc = FloatVector.fromArray(FLOATS, y, yOffset + i);
            for (int j = 0; j < count; j++) {
                acc = FloatVector.fromArray(FLOATS, x, xOffset + j * stride + i)
                        .fma(FloatVector.broadcast(FLOATS, w[wOffset + j]), acc);
            }
            acc.intoArray(y, yOffset + i);
        }
        for (; i < n; i++) {
            float sum = y[yOffset + i];
            for (int j = 0; j < count; j++) {
                sum += w[wOffset + j] * x[xOffset + j * stride + i];
            }
            y[yOffset + i] = sum;
        }
    }

    @Override
    public void axpy(float alpha, float[] x, int xOffset, float[] y, int yOffset, int n) {
        int i = 0;
        int bound = n - n % LANES;
        FloatVector a = FloatVector.broadcast(FLOATS, alpha);
        for (; i < bound; i += LANES) {
            FloatVector.fromArray(FLOATS, x, xOffset + i)
                    .fma(a, FloatVector.fromArray(FLOATS, y, yOffset + i))
                    .intoArray(y, yOffset + i);
        }
        for (; i < n; i++) {
            y[yOffset + i] += alpha * x[xOffset + i];
        }
    }
}
