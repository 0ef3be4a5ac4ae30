package dev.safemerge.tensor.kernel;

import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;
import jdk.incubator.vector.ByteVector;
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
 * f16: rebias the exponent; q8: widen and convert, then one scale per block), so memory traffic stays at the stored
 * size. A matmul over several input rows decodes each weight vector once and uses it for four rows at a time.
 */
final class VectorKernels implements Kernels {
    private static final VectorSpecies<Float> FLOATS = FloatVector.SPECIES_PREFERRED;
    private static final int LANES = FLOATS.length();
    private static final VectorSpecies<Integer> INTS = IntVector.SPECIES_PREFERRED;
    private static final VectorSpecies<Short> SHORTS =
            VectorSpecies.of(short.class, VectorShape.forBitSize(FLOATS.vectorBitSize() / 2));
    private static final VectorSpecies<Byte> BYTES =
            VectorSpecies.of(byte.class, VectorShape.forBitSize(FLOATS.vectorBitSize() / 4));
    private static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;
    /** Input rows that share one decoded weight vector. */
    private static final int TILE = 4;

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
        // Input rows in blocks that stay in the core's L2 cache while every weight row of the range passes over
        // them: unblocked, a batch of a few hundred rows (or a prefill of thousands) is re-read from L3 or memory
        // for every four weight rows, and a row then costs up to twice what it costs in a batch of 64. A block is a
        // whole number of tiles, so every (weight row, input row) pair is computed by the same code path, and
        // gives the same bits, whatever the batch size.
        int block = blockRows(w.cols());
        for (int from = 0; from < batch; from += block) {
            matmulBlock(w, x, from, Math.min(batch, from + block), out, rowStart, rowEnd);
        }
    }

    /** Bytes of input rows per block: half of a 1 MiB L2, leaving room for the weight rows and the output. */
    private static final int BLOCK_BYTES = 512 * 1024;

    /** Input rows per block for rows of {@code cols} floats: a multiple of {@link #TILE}, at least one tile. */
    static int blockRows(int cols) {
        int rows = BLOCK_BYTES / (Float.BYTES * Math.max(1, cols));
        return Math.max(TILE, rows - rows % TILE);
    }

    /** Input rows [batchStart, batchEnd) against weight rows [rowStart, rowEnd). */
    private static void matmulBlock(
            Matrix w, float[] x, int batchStart, int batchEnd, float[] out, int rowStart, int rowEnd) {
        int cols = w.cols();
        int rows = w.rows();
        int r = rowStart;
        if (batchEnd - batchStart >= TILE && w.format() != WeightFormat.Q8) {
            // 4 weight rows × 4 input rows per pass: each decoded weight vector and each loaded input vector
            // feeds four multiply-adds, so the loop is bound by arithmetic rather than by loads
            for (; r + TILE <= rowEnd; r += TILE) {
                int b = batchStart;
                for (; b + TILE <= batchEnd; b += TILE) {
                    tile4x4(w, r, x, b, out);
                }
                for (; b < batchEnd; b++) {
                    for (int t = 0; t < TILE; t++) {
                        out[b * rows + r + t] = dot1(w, (long) (r + t) * cols, x, b * cols);
                    }
                }
            }
        }
        float[] sums = new float[TILE];
        for (; r < rowEnd; r++) {
            long rowElement = (long) r * cols;
            int b = batchStart;
            for (; b + TILE <= batchEnd; b += TILE) {
                dot4(w, rowElement, x, b * cols, sums);
                for (int t = 0; t < TILE; t++) {
                    out[(b + t) * rows + r] = sums[t];
                }
            }
            for (; b < batchEnd; b++) {
                out[b * rows + r] = dot1(w, rowElement, x, b * cols);
            }
        }
    }

    /** Weight rows r..r+3 against input rows b..b+3: sixteen accumulators. */
    private static void tile4x4(Matrix w, int r, float[] x, int b, float[] out) {
        MemorySegment data = w.data();
        WeightFormat format = w.format();
        int cols = w.cols();
        int rows = w.rows();
        long w0 = (long) r * cols;
        long w1 = w0 + cols;
        long w2 = w1 + cols;
        long w3 = w2 + cols;
        int x0 = b * cols;
        int x1 = x0 + cols;
        int x2 = x1 + cols;
        int x3 = x2 + cols;
        FloatVector a00 = FloatVector.zero(FLOATS), a01 = a00, a02 = a00, a03 = a00;
        FloatVector a10 = a00, a11 = a00, a12 = a00, a13 = a00;
        FloatVector a20 = a00, a21 = a00, a22 = a00, a23 = a00;
        FloatVector a30 = a00, a31 = a00, a32 = a00, a33 = a00;
        int c = 0;
        int bound = cols - cols % LANES;
        for (; c < bound; c += LANES) {
            FloatVector v0 = FloatVector.fromArray(FLOATS, x, x0 + c);
            FloatVector v1 = FloatVector.fromArray(FLOATS, x, x1 + c);
            FloatVector v2 = FloatVector.fromArray(FLOATS, x, x2 + c);
            FloatVector v3 = FloatVector.fromArray(FLOATS, x, x3 + c);
            FloatVector wv = load(format, data, w0 + c);
            a00 = wv.fma(v0, a00);
            a01 = wv.fma(v1, a01);
            a02 = wv.fma(v2, a02);
            a03 = wv.fma(v3, a03);
            wv = load(format, data, w1 + c);
            a10 = wv.fma(v0, a10);
            a11 = wv.fma(v1, a11);
            a12 = wv.fma(v2, a12);
            a13 = wv.fma(v3, a13);
            wv = load(format, data, w2 + c);
            a20 = wv.fma(v0, a20);
            a21 = wv.fma(v1, a21);
            a22 = wv.fma(v2, a22);
            a23 = wv.fma(v3, a23);
            wv = load(format, data, w3 + c);
            a30 = wv.fma(v0, a30);
            a31 = wv.fma(v1, a31);
            a32 = wv.fma(v2, a32);
            a33 = wv.fma(v3, a33);
        }
        store(w, x, out, r, b, c, sumLanes(a00));
        store(w, x, out, r, b + 1, c, sumLanes(a01));
        store(w, x, out, r, b + 2, c, sumLanes(a02));
        store(w, x, out, r, b + 3, c, sumLanes(a03));
        store(w, x, out, r + 1, b, c, sumLanes(a10));
        store(w, x, out, r + 1, b + 1, c, sumLanes(a11));
        store(w, x, out, r + 1, b + 2, c, sumLanes(a12));
        store(w, x, out, r + 1, b + 3, c, sumLanes(a13));
        store(w, x, out, r + 2, b, c, sumLanes(a20));
        store(w, x, out, r + 2, b + 1, c, sumLanes(a21));
        store(w, x, out, r + 2, b + 2, c, sumLanes(a22));
        store(w, x, out, r + 2, b + 3, c, sumLanes(a23));
        store(w, x, out, r + 3, b, c, sumLanes(a30));
        store(w, x, out, r + 3, b + 1, c, sumLanes(a31));
        store(w, x, out, r + 3, b + 2, c, sumLanes(a32));
        store(w, x, out, r + 3, b + 3, c, sumLanes(a33));
    }

    /** Adds the scalar tail (columns from {@code from}) to a vector sum and stores out[b, r]. */
    private static void store(Matrix w, float[] x, float[] out, int r, int b, int from, float sum) {
        int cols = w.cols();
        for (int k = from; k < cols; k++) {
            sum += w.get(r, k) * x[b * cols + k];
        }
        out[b * w.rows() + r] = sum;
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

    private static float dot1(Matrix w, long rowElement, float[] x, int xOffset) {
        MemorySegment data = w.data();
        int cols = w.cols();
        if (w.format() == WeightFormat.Q8) {
            return dotQ8(data, w.scales(), rowElement, x, xOffset, cols);
        }
        FloatVector acc = FloatVector.zero(FLOATS);
        int c = 0;
        int bound = cols - cols % LANES;
        switch (w.format()) {
            case F32 -> {
                for (; c < bound; c += LANES) {
                    acc = loadF32(data, rowElement + c).fma(FloatVector.fromArray(FLOATS, x, xOffset + c), acc);
                }
            }
            case BF16 -> {
                for (; c < bound; c += LANES) {
                    acc = loadBf16(data, rowElement + c).fma(FloatVector.fromArray(FLOATS, x, xOffset + c), acc);
                }
            }
            case F16 -> {
                for (; c < bound; c += LANES) {
                    acc = loadF16(data, rowElement + c).fma(FloatVector.fromArray(FLOATS, x, xOffset + c), acc);
                }
            }
            case Q8 -> throw new AssertionError("handled above");
        }
        float sum = sumLanes(acc);
        for (; c < cols; c++) {
            sum += w.get((int) (rowElement / cols), c) * x[xOffset + c];
        }
        return sum;
    }

    private static void dot4(Matrix w, long rowElement, float[] x, int xOffset, float[] sums) {
        MemorySegment data = w.data();
        int cols = w.cols();
        if (w.format() == WeightFormat.Q8) {
            for (int t = 0; t < TILE; t++) {
                sums[t] = dotQ8(data, w.scales(), rowElement, x, xOffset + t * cols, cols);
            }
            return;
        }
        WeightFormat format = w.format();
        FloatVector a0 = FloatVector.zero(FLOATS);
        FloatVector a1 = a0;
        FloatVector a2 = a0;
        FloatVector a3 = a0;
        int x1 = xOffset + cols;
        int x2 = x1 + cols;
        int x3 = x2 + cols;
        int c = 0;
        int bound = cols - cols % LANES;
        for (; c < bound; c += LANES) {
            FloatVector wv = switch (w.format()) {
                case F32 -> loadF32(data, rowElement + c);
                case BF16 -> loadBf16(data, rowElement + c);
                case F16 -> loadF16(data, rowElement + c);
                case Q8 -> throw new AssertionError("handled above");
            };
            a0 = wv.fma(FloatVector.fromArray(FLOATS, x, xOffset + c), a0);
            a1 = wv.fma(FloatVector.fromArray(FLOATS, x, x1 + c), a1);
            a2 = wv.fma(FloatVector.fromArray(FLOATS, x, x2 + c), a2);
            a3 = wv.fma(FloatVector.fromArray(FLOATS, x, x3 + c), a3);
        }
        sums[0] = sumLanes(a0);
        sums[1] = sumLanes(a1);
        sums[2] = sumLanes(a2);
        sums[3] = sumLanes(a3);
        int row = (int) (rowElement / cols);
        for (; c < cols; c++) {
            float wc = w.get(row, c);
            sums[0] += wc * x[xOffset + c];
            sums[1] += wc * x[x1 + c];
            sums[2] += wc * x[x2 + c];
            sums[3] += wc * x[x3 + c];
        }
    }

    private static float dotQ8(MemorySegment data, float[] scales, long rowElement, float[] x, int xOffset, int cols) {
        FloatVector acc = FloatVector.zero(FLOATS);
        int firstBlock = (int) (rowElement / Matrix.Q8_BLOCK);
        for (int c = 0; c < cols; c += Matrix.Q8_BLOCK) {
            FloatVector block = FloatVector.zero(FLOATS);
            for (int i = 0; i < Matrix.Q8_BLOCK; i += LANES) {
                FloatVector q = (FloatVector) ByteVector.fromMemorySegment(BYTES, data, rowElement + c + i, LE)
                        .convertShape(VectorOperators.B2F, FLOATS, 0);
                block = q.fma(FloatVector.fromArray(FLOATS, x, xOffset + c + i), block);
            }
            acc = block.fma(FloatVector.broadcast(FLOATS, scales[firstBlock + c / Matrix.Q8_BLOCK]), acc);
        }
        return sumLanes(acc);
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
