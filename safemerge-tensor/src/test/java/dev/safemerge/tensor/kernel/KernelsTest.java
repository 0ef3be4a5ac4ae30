package dev.safemerge.tensor.kernel;

import static org.assertj.core.api.Assertions.assertThat;

import dev.safemerge.tensor.FloatCodec;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

class KernelsTest {
    private static final ValueLayout.OfShort SHORT_LE =
            ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    /** {@code n} standard normal draws, in order. */
    static float[] gaussians(int n, SplittableRandom random) {
        float[] values = new float[n];
        for (int i = 0; i < n; i++) {
            values[i] = (float) random.nextGaussian();
        }
        return values;
    }

    /** Input row {@code b} of {@code x} times weight row {@code r}, summed exactly in double, and Σ|w·x| for its bound. */
    private record ExactDot(double value, double magnitude) {
        static ExactDot of(Matrix w, float[] x, int cols, int r, int b) {
            double value = 0;
            double magnitude = 0;
            for (int c = 0; c < cols; c++) {
                double term = (double) w.get(r, c) * x[b * cols + c];
                value += term;
                magnitude += Math.abs(term);
            }
            return new ExactDot(value, magnitude);
        }
    }

    static Matrix randomMatrix(WeightFormat format, int rows, int cols, SplittableRandom random, Arena arena) {
        float[] values = gaussians(rows * cols, random);
        return switch (format) {
            case F32 -> Matrix.ofFloats(rows, cols, values, arena);
            case BF16, F16 -> {
                MemorySegment data = arena.allocate(2L * values.length);
                for (int i = 0; i < values.length; i++) {
                    short bits = format == WeightFormat.BF16
                            ? FloatCodec.floatToBf16(values[i])
                            : FloatCodec.floatToF16(values[i]);
                    data.setAtIndex(SHORT_LE, i, bits);
                }
                yield new Matrix(format, rows, cols, data, null);
            }
            case Q8 -> Matrix.ofFloats(rows, cols, values, arena).quantizeQ8(arena);
        };
    }

    /** Decoded with the independent codec of the tensor package, not with the kernels' own decoding. */
    static double reference(Matrix w, int r, float[] x, int xOffset) {
        double sum = 0;
        for (int c = 0; c < w.cols(); c++) {
            long i = (long) r * w.cols() + c;
            float value = switch (w.format()) {
                case F32 -> w.data().getAtIndex(Matrix.FLOAT_LE, i);
                case BF16 -> FloatCodec.bf16ToFloat(w.data().getAtIndex(SHORT_LE, i));
                case F16 -> FloatCodec.f16ToFloat(w.data().getAtIndex(SHORT_LE, i));
                case Q8 -> w.data().get(ValueLayout.JAVA_BYTE, i) * w.scales()[(int) (i / Matrix.Q8_BLOCK)];
            };
            sum += (double) value * x[xOffset + c];
        }
        return sum;
    }

    @ParameterizedTest
    @EnumSource(WeightFormat.class)
    void vectorAndScalarMatmulAgreeWithADoubleReference(WeightFormat format) {
        SplittableRandom random = new SplittableRandom(42 + format.ordinal());
        int[][] shapes = {{1, 32}, {7, 64}, {33, 96}, {130, 160}, {5, 37}, {3, 3}};
        try (Arena arena = Arena.ofShared()) {
            for (int[] shape : shapes) {
                int rows = shape[0];
                int cols = shape[1];
                if (format == WeightFormat.Q8 && cols % Matrix.Q8_BLOCK != 0) {
                    continue;
                }
                Matrix w = randomMatrix(format, rows, cols, random, arena);
                for (int batch : new int[] {1, 3, 4, 9}) {
                    float[] x = gaussians(batch * cols, random);
                    float[] vector = new float[batch * rows];
                    float[] scalar = new float[batch * rows];
                    Kernels.get().matmul(w, x, batch, vector);
                    Kernels.scalar().matmul(w, x, batch, scalar);
                    for (int b = 0; b < batch; b++) {
                        for (int r = 0; r < rows; r++) {
                            double expected = reference(w, r, x, b * cols);
                            // float32 sums of `cols` products of magnitude ~1: error grows like cols·ulp
                            double tolerance = 1e-5 * cols;
                            assertThat((double) vector[b * rows + r])
                                    .as("vector %s %dx%d batch %d row %d", format, rows, cols, b, r)
                                    .isCloseTo(expected, org.assertj.core.data.Offset.offset(tolerance));
                            assertThat((double) scalar[b * rows + r])
                                    .as("scalar %s %dx%d batch %d row %d", format, rows, cols, b, r)
                                    .isCloseTo(expected, org.assertj.core.data.Offset.offset(tolerance));
                        }
                    }
                }
            }
        }
    }

    /**
     * Seeded random shapes with ragged edges: weight rows that do not fill a panel of four, columns that leave a scalar
     * tail after the vector lanes, batches that end in a partial tile of input rows. The vector kernels and the scalar
     * reference each sum in float32 in their own order; Higham's bound for a float32 dot product of n terms in any
     * order (products rounded or fused) is |error| ≤ γ_n·Σ|w_c·x_c| with γ_n = n·u/(1 − n·u) and u = 2⁻²⁴, against the
     * exact sum. The reference here is summed in double from the same decoded weights (its own error is negligible
     * at this scale), so each kernel must lie within that bound of it, and a row of a batch must equal itself alone.
     * Q8's reference rounds each decoded q·scale once more (one more u per term), hence n + 1.
     */
    @ParameterizedTest
    @EnumSource(WeightFormat.class)
    void randomRaggedShapesStayWithinTheFloat32SummationBound(WeightFormat format) {
        SplittableRandom random = new SplittableRandom(1234 + format.ordinal());
        double u = 0x1p-24;
        try (Arena arena = Arena.ofShared()) {
            for (int trial = 0; trial < 40; trial++) {
                int rows = 1 + random.nextInt(23);
                int cols = format == WeightFormat.Q8
                        ? Matrix.Q8_BLOCK * (1 + random.nextInt(10))
                        : 1 + random.nextInt(300);
                int batch = 1 + random.nextInt(11);
                Matrix w = randomMatrix(format, rows, cols, random, arena);
                float[] x = gaussians(batch * cols, random);
                float[] vector = new float[batch * rows];
                float[] scalar = new float[batch * rows];
                Kernels.get().matmul(w, x, batch, vector);
                Kernels.scalar().matmul(w, x, batch, scalar);
                int n = cols + 1;
                double gamma = n * u / (1 - n * u);
                for (int b = 0; b < batch; b++) {
                    float[] alone = new float[rows];
                    Kernels.get().matmul(w, java.util.Arrays.copyOfRange(x, b * cols, (b + 1) * cols), 1, alone);
                    for (int r = 0; r < rows; r++) {
                        ExactDot exact = ExactDot.of(w, x, cols, r, b);
                        double expected = exact.value();
                        double bound = gamma * exact.magnitude();
                        String where =
                                String.format("%s %dx%d batch %d: row %d input %d", format, rows, cols, batch, r, b);
                        assertThat(Math.abs(vector[b * rows + r] - expected))
                                .as("vector " + where)
                                .isLessThanOrEqualTo(bound);
                        assertThat(Math.abs(scalar[b * rows + r] - expected))
                                .as("scalar " + where)
                                .isLessThanOrEqualTo(bound);
                        assertThat(vector[b * rows + r]).as("alone " + where).isEqualTo(alone[r]);
                    }
                }
            }
        }
    }

    /**
     * The engine's batching promise at kernel level: an input row gives the same bits in a batch of any size, here
     * one that spans several cache blocks of input rows and ends in a partial tile, as when it is multiplied alone.
     */
    @ParameterizedTest
    @EnumSource(WeightFormat.class)
    void aRowOfALargeBatchGivesExactlyWhatItGivesAlone(WeightFormat format) {
        SplittableRandom random = new SplittableRandom(11 + format.ordinal());
        // 1000 columns leave a scalar tail after the vector lanes; Q8 needs whole blocks of 32
        int cols = format == WeightFormat.Q8 ? 1056 : 1000;
        int rows = 9;
        int batch = 2 * VectorKernels.blockRows(cols) + 3;
        try (Arena arena = Arena.ofShared()) {
            Matrix w = randomMatrix(format, rows, cols, random, arena);
            float[] x = gaussians(batch * cols, random);
            float[] together = new float[batch * rows];
            Kernels.get().matmul(w, x, batch, together);
            for (int b = 0; b < batch; b++) {
                float[] alone = new float[rows];
                Kernels.get().matmul(w, java.util.Arrays.copyOfRange(x, b * cols, (b + 1) * cols), 1, alone);
                assertThat(java.util.Arrays.copyOfRange(together, b * rows, (b + 1) * rows))
                        .as("%s input row %d of %d", format, b, batch)
                        .containsExactly(alone);
            }
        }
    }

    /**
     * A Q8 decode step takes two weight rows at a time, row i of its range's first half beside row i of the second
     * half, so which rows go together depends on the range a thread is given. Seeded random heights, widths and ranges:
     * every row of every range gets exactly the bits that a batch of four inputs (one weight row at a time, four inputs
     * per decode) gives it, and the rows outside the range are not written.
     */
    @Test
    void q8RowsGiveTheSameBitsInAnyRangeAsInABatch() {
        SplittableRandom random = new SplittableRandom(1908);
        try (Arena arena = Arena.ofShared()) {
            for (int trial = 0; trial < 60; trial++) {
                int rows = 1 + random.nextInt(40);
                int cols = Matrix.Q8_BLOCK * (1 + random.nextInt(6));
                Matrix w = randomMatrix(WeightFormat.Q8, rows, cols, random, arena);
                float[] x = gaussians(cols, random);
                float[] fourCopies = new float[4 * cols];
                for (int t = 0; t < 4; t++) {
                    System.arraycopy(x, 0, fourCopies, t * cols, cols);
                }
                float[] batched = new float[4 * rows];
                Kernels.get().matmulRows(w, fourCopies, 4, batched, 0, rows);
                int start = random.nextInt(rows);
                int end = start + 1 + random.nextInt(rows - start);
                float[] range = new float[rows];
                java.util.Arrays.fill(range, Float.NaN);
                Kernels.get().matmulRows(w, x, 1, range, start, end);
                for (int r = 0; r < rows; r++) {
                    float expected = r >= start && r < end ? batched[r] : Float.NaN;
                    assertThat(Float.floatToRawIntBits(range[r]))
                            .as("%dx%d rows [%d, %d): row %d", rows, cols, start, end, r)
                            .isEqualTo(Float.floatToRawIntBits(expected));
                }
            }
        }
    }

    /**
     * Matrices of one width multiplied as one job (a layer's q, k and v) give each output exactly what that matrix
     * alone gives, for both twins: the job only splits rows differently over the threads, and every output row is
     * computed whole by one thread with the same arithmetic. Heights are uneven and small, so thread ranges straddle
     * the boundaries between matrices.
     */
    @ParameterizedTest
    @EnumSource(WeightFormat.class)
    void matricesMultipliedAsOneJobGiveWhatEachGivesAlone(WeightFormat format) {
        SplittableRandom random = new SplittableRandom(77 + format.ordinal());
        int cols = format == WeightFormat.Q8 ? 96 : 100;
        try (Arena arena = Arena.ofShared()) {
            Matrix[] ws = {
                randomMatrix(format, 37, cols, random, arena),
                randomMatrix(format, 6, cols, random, arena),
                randomMatrix(format, 13, cols, random, arena)
            };
            assertOneJobGivesWhatEachGivesAlone(ws, cols, new int[] {1, 4, 9}, random, format.toString());
        }
    }

    /**
     * A packed copy holds every element where {@link Matrix#get} finds it, in the stored bytes plus a padded panel (Q8:
     * each integer and its block's scale).
     */
    @ParameterizedTest
    @EnumSource(WeightFormat.class)
    void packedMatricesHoldEveryElementUnchanged(WeightFormat format) {
        SplittableRandom random = new SplittableRandom(5 + format.ordinal());
        try (Arena arena = Arena.ofShared()) {
            for (int trial = 0; trial < 12; trial++) {
                int rows = 1 + random.nextInt(50);
                int cols =
                        format == WeightFormat.Q8 ? Matrix.Q8_BLOCK * (1 + random.nextInt(4)) : 1 + random.nextInt(40);
                Matrix w = randomMatrix(format, rows, cols, random, arena);
                Matrix packed = w.packTo(arena);
                assertThat(packed.packed()).isTrue();
                assertThat(packed.data().byteSize())
                        .isEqualTo((long) Matrix.panels(rows) * Matrix.PANEL_ROWS * cols * format.elementBytes());
                for (int r = 0; r < rows; r++) {
                    for (int c = 0; c < cols; c++) {
                        assertThat(Float.floatToRawIntBits(packed.get(r, c)))
                                .as("%s %dx%d (%d, %d)", format, rows, cols, r, c)
                                .isEqualTo(Float.floatToRawIntBits(w.get(r, c)));
                    }
                }
                assertThat(packed.packTo(arena).get(rows - 1, cols - 1)).isEqualTo(w.get(rows - 1, cols - 1));
            }
        }
    }

    /**
     * Packed matrices, seeded random ragged shapes (heights that end in a partial panel, any width, batches that end
     * in a partial tile; up to 40 input rows, so that about a quarter of the trials take the direct tiles of small
     * batches and the rest the decoded-panel tiles): the vector tiles give exactly the scalar twin's bits, one fused
     * multiply-add per column in order, for the whole matrix and for any range of rows a thread may be given (a range
     * that cuts a panel writes only its own rows); a row of a batch equals itself alone; and each output lies within
     * the float32 summation bound of a double reference. Q8 sums each block of 32 columns in its own chain and then
     * adds the K = cols/32 scaled block sums in another, so its bound is γ for 32 + K terms, plus 2u because the
     * reference multiplies the decoded weights q·scale rounded to float.
     */
    @ParameterizedTest
    @EnumSource(WeightFormat.class)
    void packedTilesGiveTheScalarTwinsBitsForAnyBatchAndRange(WeightFormat format) {
        SplittableRandom random = new SplittableRandom(2026 + format.ordinal());
        double u = 0x1p-24;
        try (Arena arena = Arena.ofShared()) {
            for (int trial = 0; trial < 40; trial++) {
                int rows = 1 + random.nextInt(150);
                int cols =
                        format == WeightFormat.Q8 ? Matrix.Q8_BLOCK * (1 + random.nextInt(7)) : 1 + random.nextInt(200);
                int batch = 1 + random.nextInt(40);
                Matrix w = randomMatrix(format, rows, cols, random, arena).packTo(arena);
                float[] x = gaussians(batch * cols, random);
                String shape = String.format("%s %dx%d batch %d", format, rows, cols, batch);
                float[] vector = new float[batch * rows];
                float[] scalar = new float[batch * rows];
                Kernels.get().matmul(w, x, batch, vector);
                Kernels.scalar().matmul(w, x, batch, scalar);
                assertThat(vector).as(shape).containsExactly(scalar);

                int start = random.nextInt(rows);
                int end = start + 1 + random.nextInt(rows - start);
                float[] range = new float[batch * rows];
                java.util.Arrays.fill(range, Float.NaN);
                Kernels.get().matmulRows(w, x, batch, range, start, end);
                for (int b = 0; b < batch; b++) {
                    for (int r = 0; r < rows; r++) {
                        float expected = r >= start && r < end ? scalar[b * rows + r] : Float.NaN;
                        assertThat(Float.floatToRawIntBits(range[b * rows + r]))
                                .as("%s rows [%d, %d): row %d input %d", shape, start, end, r, b)
                                .isEqualTo(Float.floatToRawIntBits(expected));
                    }
                }

                int n = format == WeightFormat.Q8 ? Matrix.Q8_BLOCK + cols / Matrix.Q8_BLOCK + 2 : cols;
                double gamma = n * u / (1 - n * u);
                for (int b = 0; b < batch; b++) {
                    float[] alone = new float[rows];
                    Kernels.get().matmul(w, java.util.Arrays.copyOfRange(x, b * cols, (b + 1) * cols), 1, alone);
                    assertThat(java.util.Arrays.copyOfRange(vector, b * rows, (b + 1) * rows))
                            .as("%s input row %d alone", shape, b)
                            .containsExactly(alone);
                    for (int r = 0; r < rows; r++) {
                        ExactDot exact = ExactDot.of(w, x, cols, r, b);
                        assertThat(Math.abs(vector[b * rows + r] - exact.value()))
                                .as("%s row %d input %d", shape, r, b)
                                .isLessThanOrEqualTo(gamma * exact.magnitude());
                    }
                }
            }
        }
    }

    /**
     * Packed and row-major matrices of one width as one job, split over threads by whole panels and rows: each
     * output is what its matrix alone gives, on both twins. The width is whole Q8 blocks, so packed Q8 joins them.
     */
    @Test
    void packedAndRowMajorMatricesAsOneJobGiveWhatEachGivesAlone() {
        SplittableRandom random = new SplittableRandom(99);
        int cols = 320;
        try (Arena arena = Arena.ofShared()) {
            Matrix[] ws = {
                randomMatrix(WeightFormat.BF16, 147, cols, random, arena).packTo(arena),
                randomMatrix(WeightFormat.BF16, 21, cols, random, arena),
                randomMatrix(WeightFormat.Q8, 55, cols, random, arena).packTo(arena),
                randomMatrix(WeightFormat.F32, 83, cols, random, arena).packTo(arena)
            };
            assertOneJobGivesWhatEachGivesAlone(ws, cols, new int[] {1, 7, 20}, random, "packed and row-major");
        }
    }

    @Test
    void inputBlocksAreWholeTilesAndFitTheCacheBudget() {
        for (int cols : new int[] {1, 64, 768, 1000, 2048, 14336, 1 << 20}) {
            int block = VectorKernels.blockRows(cols);
            assertThat(block % 3).as("cols %d", cols).isZero();
            assertThat(block).as("cols %d", cols).isGreaterThanOrEqualTo(3);
            if (block > 3) {
                assertThat((long) block * cols * Float.BYTES)
                        .as("cols %d", cols)
                        .isLessThanOrEqualTo(512 * 1024);
            }
        }
    }

    @Test
    void halfPrecisionSpecialValuesDecodeExactly() {
        short[] halves = {
            0x0000,
            (short) 0x8000,
            0x0001,
            0x03FF,
            0x0400,
            0x3C00,
            (short) 0xBC00,
            0x7BFF,
            0x7C00,
            (short) 0xFC00,
            0x3555,
            (short) 0x8001
        };
        int cols = 16;
        try (Arena arena = Arena.ofShared()) {
            for (short half : halves) {
                MemorySegment data = arena.allocate(2L * cols);
                float[] x = new float[cols];
                data.setAtIndex(SHORT_LE, 5, half);
                x[5] = 1;
                Matrix w = new Matrix(WeightFormat.F16, 1, cols, data, null);
                float[] out = new float[1];
                Kernels.get().matmul(w, x, 1, out);
                assertThat(out[0]).as("half %04x", half).isEqualTo(FloatCodec.f16ToFloat(half));
            }
        }
    }

    /** Quantizing straight into panels gives the bytes and scales of quantizing row-major and then packing. */
    @Test
    void q8QuantizedIntoPanelsIsThePackedRowMajorQuantization() {
        SplittableRandom random = new SplittableRandom(8);
        try (Arena arena = Arena.ofShared()) {
            for (int trial = 0; trial < 8; trial++) {
                int rows = 1 + random.nextInt(50);
                int cols = Matrix.Q8_BLOCK * (1 + random.nextInt(4));
                Matrix f32 = randomMatrix(WeightFormat.F32, rows, cols, random, arena);
                Matrix direct = f32.quantizeQ8(arena, true);
                Matrix packed = f32.quantizeQ8(arena).packTo(arena);
                assertThat(direct.packed()).isTrue();
                assertThat(direct.data().mismatch(packed.data()))
                        .as("%dx%d bytes", rows, cols)
                        .isEqualTo(-1L);
                assertThat(direct.scales()).as("%dx%d scales", rows, cols).containsExactly(packed.scales());
            }
        }
    }

    @Test
    void q8QuantizationErrorIsAtMostHalfAStep() {
        SplittableRandom random = new SplittableRandom(7);
        try (Arena arena = Arena.ofShared()) {
            Matrix f32 = randomMatrix(WeightFormat.F32, 9, 64, random, arena);
            Matrix q8 = f32.quantizeQ8(arena);
            for (int r = 0; r < 9; r++) {
                for (int c = 0; c < 64; c++) {
                    float step = q8.scales()[(r * 64 + c) / Matrix.Q8_BLOCK];
                    assertThat(Math.abs(q8.get(r, c) - f32.get(r, c))).isLessThanOrEqualTo(step * 0.5f + 1e-6f);
                }
            }
        }
    }

    @Test
    void dotAndAxpyAgreeWithScalar() {
        SplittableRandom random = new SplittableRandom(3);
        for (int n : new int[] {1, 15, 16, 17, 100}) {
            float[] a = new float[n + 2];
            float[] b = new float[n + 3];
            for (int i = 0; i < a.length; i++) {
                a[i] = (float) random.nextGaussian();
            }
            for (int i = 0; i < b.length; i++) {
                b[i] = (float) random.nextGaussian();
            }
            assertThat(Kernels.get().dot(a, 2, b, 3, n))
                    .isCloseTo(Kernels.scalar().dot(a, 2, b, 3, n), org.assertj.core.data.Offset.offset(1e-4f));
            float[] y1 = b.clone();
            float[] y2 = b.clone();
            Kernels.get().axpy(0.5f, a, 1, y1, 2, n);
            Kernels.scalar().axpy(0.5f, a, 1, y2, 2, n);
            for (int i = 0; i < y1.length; i++) {
                assertThat(y1[i]).isCloseTo(y2[i], org.assertj.core.data.Offset.offset(1e-6f));
            }
        }
    }

    /**
     * Attention's row forms give, in each twin, exactly the bits of that twin's {@link Kernels#dot} and {@link
     * Kernels#axpy} called row by row: ragged lengths (scalar tails), row counts that leave rows after the groups of
     * four, rows spaced wider than they are long, offsets everywhere.
     */
    @Test
    void dotRowsAndAxpyRowsGiveTheBitsOfTheirSingleRowForms() {
        SplittableRandom random = new SplittableRandom(17);
        for (Kernels kernels : new Kernels[] {Kernels.get(), Kernels.scalar()}) {
            for (int n : new int[] {1, 7, 8, 31, 32, 33, 64, 100}) {
                for (int count : new int[] {0, 1, 3, 4, 5, 9, 40}) {
                    int stride = n + random.nextInt(5);
                    float[] a = gaussians(n + 3, random);
                    float[] x = gaussians(5 + count * stride, random);
                    float[] w = gaussians(count + 2, random);
                    float[] rows = new float[count + 1];
                    kernels.dotRows(a, 3, x, 5, stride, count, rows, 1, n);
                    float[] y = gaussians(n + 4, random);
                    float[] expected = y.clone();
                    kernels.axpyRows(w, 2, x, 5, stride, count, y, 4, n);
                    for (int j = 0; j < count; j++) {
                        assertThat(rows[1 + j])
                                .as("%s dotRows n %d count %d row %d", kernels, n, count, j)
                                .isEqualTo(kernels.dot(a, 3, x, 5 + j * stride, n));
                        kernels.axpy(w[2 + j], x, 5 + j * stride, expected, 4, n);
                    }
                    assertThat(y)
                            .as("%s axpyRows n %d count %d", kernels, n, count)
                            .containsExactly(expected);
                }
            }
        }
    }

    /**
     * The shared exponential against Math.exp: within 2 units in the last place over its range (every float of it
     * measured once gave at most 1.01; here 300,000 seeded draws, uniform in the range and in [−1, 1], and its ends),
     * and saturating, never infinite, outside it.
     */
    @Test
    void exponentialIsWithinTwoUlpsOverItsRange() {
        SplittableRandom random = new SplittableRandom(19);
        for (int i = 0; i < 300_000; i++) {
            float x = switch (i % 3) {
                case 0 -> (float) random.nextDouble(ScalarKernels.EXP_MIN, ScalarKernels.EXP_MAX);
                case 1 -> (float) random.nextDouble(-1, 1);
                default -> i < 6 ? new float[] {ScalarKernels.EXP_MIN, ScalarKernels.EXP_MAX, 0f}[i / 3] : 0f;
            };
            double exact = Math.exp(x);
            assertThat(Math.abs(Kernels.exp(x) - exact))
                    .as("exp(%s)", x)
                    .isLessThanOrEqualTo(2 * Math.ulp((float) exact));
        }
        assertThat(Kernels.exp(1000f))
                .isEqualTo(Kernels.exp(ScalarKernels.EXP_MAX))
                .isFinite();
        assertThat(Kernels.exp(-1000f))
                .isEqualTo(Kernels.exp(ScalarKernels.EXP_MIN))
                .isPositive();
        assertThat(Kernels.exp(Float.NaN)).isNaN();
    }

    /**
     * SiLU-gating, seeded random inputs over several scales with special values mixed in, offsets and lengths that end
     * in a partial vector: the vector twin gives the scalar twin's bits, and each value is within 2^-21 relative of
     * x·up/(1 + e^−x) computed in double (where that is a normal float and |x| ≤ 88).
     */
    @Test
    void siluGateGivesTheScalarTwinsBitsWithinItsBound() {
        SplittableRandom random = new SplittableRandom(20);
        float[] special = {0f, -0f, Float.NaN, Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY, 88f, -88f, 100f, -100f
        };
        for (int trial = 0; trial < 200; trial++) {
            int n = 1 + random.nextInt(300);
            int offset = random.nextInt(5);
            float[] gate = new float[offset + n];
            float[] up = new float[offset + n];
            double scale = Math.pow(10, random.nextInt(-3, 3));
            for (int i = 0; i < gate.length; i++) {
                gate[i] = random.nextInt(20) == 0
                        ? special[random.nextInt(special.length)]
                        : (float) (random.nextGaussian() * scale);
                up[i] = (float) random.nextGaussian();
            }
            float[] vector = gate.clone();
            float[] scalar = gate.clone();
            Kernels.get().siluGate(vector, up, offset, n);
            Kernels.scalar().siluGate(scalar, up, offset, n);
            for (int i = 0; i < gate.length; i++) {
                assertThat(Float.floatToRawIntBits(vector[i]))
                        .as("trial %d, gate %s, up %s", trial, gate[i], up[i])
                        .isEqualTo(Float.floatToRawIntBits(scalar[i]));
                if (i < offset) {
                    assertThat(Float.floatToRawIntBits(vector[i])).isEqualTo(Float.floatToRawIntBits(gate[i]));
                    continue;
                }
                double x = gate[i];
                double exact = x / (1 + Math.exp(-x)) * up[i];
                if (Math.abs(x) <= 88 && Math.abs(exact) >= Float.MIN_NORMAL) {
                    assertThat(Math.abs(vector[i] - exact))
                            .as("silu(%s)·%s", gate[i], up[i])
                            .isLessThanOrEqualTo(0x1p-21 * Math.abs(exact));
                }
            }
        }
    }

    /** Shifted exponentials (a softmax's), seeded random lengths and offsets: the vector twin gives the scalar twin's bits. */
    @Test
    void shiftedExponentialsGiveTheScalarTwinsBits() {
        SplittableRandom random = new SplittableRandom(21);
        for (int trial = 0; trial < 200; trial++) {
            int n = 1 + random.nextInt(300);
            int offset = random.nextInt(5);
            float[] x = new float[offset + n];
            for (int i = 0; i < x.length; i++) {
                x[i] = (float) (random.nextGaussian() * 30);
            }
            float shift = x[offset + random.nextInt(n)];
            float[] vector = x.clone();
            float[] scalar = x.clone();
            Kernels.get().expShifted(vector, offset, n, shift);
            Kernels.scalar().expShifted(scalar, offset, n, shift);
            for (int i = 0; i < x.length; i++) {
                int expected = Float.floatToRawIntBits(i < offset ? x[i] : Kernels.exp(x[i] - shift));
                assertThat(Float.floatToRawIntBits(vector[i]))
                        .as("trial %d, x %s", trial, x[i])
                        .isEqualTo(expected);
                assertThat(Float.floatToRawIntBits(scalar[i])).isEqualTo(expected);
            }
        }
    }

    @Test
    void vectorKernelsAreSelectedWhenTheModuleIsPresent() {
        assertThat(Kernels.get().getClass().getSimpleName()).isEqualTo("VectorKernels");
    }

    /**
     * For both twins and each batch size: {@code ws} multiplied as one job give each matrix's output exactly what that
     * matrix alone gives, on random inputs drawn from {@code random}.
     */
    private static void assertOneJobGivesWhatEachGivesAlone(
            Matrix[] ws, int cols, int[] batches, SplittableRandom random, String what) {
        for (Kernels kernels : new Kernels[] {Kernels.get(), Kernels.scalar()}) {
            for (int batch : batches) {
                float[] x = gaussians(batch * cols, random);
                float[][] outs = new float[ws.length][];
                for (int m = 0; m < ws.length; m++) {
                    outs[m] = new float[batch * ws[m].rows()];
                }
                kernels.matmul(ws, x, batch, outs);
                for (int m = 0; m < ws.length; m++) {
                    float[] alone = new float[batch * ws[m].rows()];
                    kernels.matmul(ws[m], x, batch, alone);
                    assertThat(outs[m])
                            .as("%s %s matrix %d batch %d", kernels.getClass().getSimpleName(), what, m, batch)
                            .containsExactly(alone);
                }
            }
        }
    }
}
