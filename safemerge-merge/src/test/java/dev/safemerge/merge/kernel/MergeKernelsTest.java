package dev.safemerge.merge.kernel;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.Random;
import org.junit.jupiter.api.Test;

/** The vectorized merge kernels against their scalar twin, bit for bit, on seeded data with every special case. */
class MergeKernelsTest {
    private static final MergeKernels VECTOR = VectorMergeKernels.create();
    private static final MergeKernels SCALAR = ScalarMergeKernels.INSTANCE;
    /** Lengths around the vector width so that both the vector body and the scalar tail run. */
    private static final int[] LENGTHS = {0, 1, 7, 8, 15, 16, 17, 63, 64, 65, 1000, 4099};

    @Test
    void vectorKernelsAreInUse() {
        assertEquals(VECTOR.name(), MergeKernels.best().name());
    }

    @Test
    void roundToBf16MatchesScalarBitForBit() {
        compare(
                (random, length) -> {
                    float[] a = values(random, length);
                    return new float[][] {a};
                },
                (kernels, p, arrays) -> kernels.round(p, arrays[0]));
    }

    @Test
    void weightedSumMatchesScalarBitForBit() {
        compare(
                (random, length) -> new float[][] {values(random, length), values(random, length)},
                (kernels, p, arrays) -> kernels.addWeighted(p, arrays[0], arrays[1], 0.3f));
    }

    @Test
    void subtractMatchesScalarBitForBit() {
        compare(
                (random, length) -> new float[][] {values(random, length), values(random, length), new float[length]},
                (kernels, p, arrays) -> kernels.subtract(p, arrays[0], arrays[1], arrays[2], arrays[2].length));
    }

    @Test
    void finishLinearMatchesScalarBitForBit() {
        for (boolean normalize : new boolean[] {true, false}) {
            compare(
                    (random, length) -> new float[][] {values(random, length)},
                    (kernels, p, arrays) -> kernels.finishLinear(p, arrays[0], normalize, 0.7f));
        }
    }

    @Test
    void electionMatchesScalarBitForBit() {
        compare(
                (random, length) -> new float[][] {
                    values(random, length), values(random, length), values(random, length), values(random, length)
                },
                (kernels, p, arrays) -> {
                    kernels.electedAdd(p, arrays[0], arrays[1], arrays[2], arrays[3], 0.6f, arrays[0].length);
                    kernels.electedAdd(p, arrays[0], arrays[1], arrays[3], arrays[2], 1.3f, arrays[0].length);
                });
    }

    @Test
    void finishTaskArithmeticMatchesScalarBitForBit() {
        for (boolean normalize : new boolean[] {true, false}) {
            for (boolean perElement : new boolean[] {true, false}) {
                for (float lambda : new float[] {1f, 0.85f}) {
                    compare(
                            (random, length) -> new float[][] {
                                values(random, length), values(random, length), values(random, length)
                            },
                            (kernels, p, arrays) -> kernels.finishTaskArithmetic(
                                    p,
                                    arrays[0],
                                    arrays[1],
                                    arrays[0],
                                    normalize,
                                    perElement ? arrays[2] : null,
                                    1.9f,
                                    lambda,
                                    arrays[0].length));
                }
            }
        }
    }

    @Test
    void divisorsMatchScalarBitForBit() {
        compare(
                (random, length) -> new float[][] {values(random, length)},
                (kernels, p, arrays) -> kernels.divisors(p, arrays[0], arrays[0].length));
    }

    @Test
    void blockFormsMatchScalarBitForBit() {
        compare(
                (random, length) -> new float[][] {
                    values(random, length + 5),
                    values(random, length + 5),
                    new float[length + 5],
                    values(random, length + 5),
                    values(random, length + 5)
                },
                (kernels, p, arrays) -> {
                    // Counts shorter than the arrays: the elements past count must stay as they are.
                    int count = arrays[2].length - 5;
                    kernels.subtract(p, arrays[0], arrays[1], arrays[2], count);
                    kernels.finishTaskArithmetic(p, arrays[2], arrays[1], arrays[4], true, arrays[3], 1, 0.85f, count);
                });
    }

    @Test
    void weightAndSumMatchesScalarBitForBit() {
        for (boolean rescaled : new boolean[] {true, false}) {
            for (float factor : new float[] {1.984375f, 0.7f, Float.NaN}) {
                compare(
                        (random, length) -> new float[][] {values(random, length), values(random, length)},
                        (kernels, p, arrays) -> kernels.weightAndSum(
                                p,
                                arrays[0],
                                arrays[0].length,
                                p == Precision.BF16 ? Precision.BF16 : Precision.F32,
                                rescaled,
                                factor,
                                -0.6f,
                                arrays[1]));
            }
        }
    }

    @Test
    void bernoulliKeepMatchesScalarBitForBit() {
        for (float probability : new float[] {0f, 0.5f, 0.30078125f, 1f, Float.NaN}) {
            compare(
                    (random, length) -> {
                        float[] uniforms = values(random, length);
                        for (int i = 0; i < length; i += 3) {
                            uniforms[i] = random.nextBoolean() ? probability : random.nextFloat();
                        }
                        return new float[][] {values(random, length), uniforms};
                    },
                    (kernels, p, arrays) -> kernels.keepBelow(arrays[0], arrays[1], probability, arrays[0].length));
        }
    }

    @Test
    void maskBitsMatchScalarAndKeepWhatKeepBelowKeeps() {
        for (int first : new int[] {0, 64, 2048}) {
            for (int length : LENGTHS) {
                Random random = new Random(length + first);
                float[] uniforms = values(random, length);
                float[] a = values(random, length);
                float[] expected = a.clone();
                SCALAR.keepBelow(expected, uniforms, 0.5f, length);
                long[] scalarBits = new long[(first + length + 63) / 64 + 1];
                long[] vectorBits = new long[scalarBits.length];
                java.util.Arrays.fill(scalarBits, 0x5555555555555555L);
                java.util.Arrays.fill(vectorBits, 0x5555555555555555L);
                SCALAR.maskBelow(uniforms, 0.5f, length, scalarBits, first);
                VECTOR.maskBelow(uniforms, 0.5f, length, vectorBits, first);
                assertArrayEquals(scalarBits, vectorBits, "bits of " + length + " from " + first);
                float[] scalar = a.clone();
                float[] vector = a.clone();
                SCALAR.keepBits(scalar, length, scalarBits, first);
                VECTOR.keepBits(vector, length, vectorBits, first);
                assertArrayEquals(bits(expected), bits(scalar), "scalar keepBits");
                assertArrayEquals(bits(expected), bits(vector), "vector keepBits");
            }
        }
    }

    @Test
    void rankWindowAndTieCountMatchScalarBitForBit() {
        int bf16Tie = Float.floatToRawIntBits(0.015625f);
        int[][] windows = {
            {0, 0, Integer.MAX_VALUE, Integer.MAX_VALUE},
            {bf16Tie, 500, Integer.MAX_VALUE, Integer.MAX_VALUE},
            {0, 0, bf16Tie, 1500},
            {bf16Tie, 40, bf16Tie, 3000},
            {0x3c000000, Integer.MAX_VALUE, 0x7f800000, 20},
            {0x7f800001, 0, 0x7fffffff, Integer.MAX_VALUE}
        };
        for (int[] w : windows) {
            int[] counts = new int[2];
            compare(
                    (random, length) -> {
                        float[] a = values(random, length);
                        for (int i = 0; i < length; i += 4) {
                            a[i] = random.nextBoolean() ? 0.015625f : -0.015625f;
                        }
                        return new float[][] {a};
                    },
                    (kernels, p, arrays) -> {
                        int c = kernels.countMagnitude(arrays[0], arrays[0].length, bf16Tie);
                        counts[kernels == SCALAR ? 0 : 1] = c;
                        kernels.keepRankWindow(arrays[0], arrays[0].length, 1000, w[0], w[1], w[2], w[3]);
                        if (kernels != SCALAR) {
                            assertEquals(counts[0], counts[1], "equal magnitudes");
                        }
                    });
        }
    }

    @Test
    void bracketSelectionAndCountsMatchScalar() {
        int[][] brackets = {
            {0, Integer.MAX_VALUE}, {0x3c000000, 0x3c00ffff}, {0x3b800000, 0x3cffffff}, {0x7f800000, 0x7fffffff}
        };
        for (int[] bracket : brackets) {
            for (int length : LENGTHS) {
                float[] a = values(new Random(length + 5L), length);
                for (int i = 0; i < length; i += 5) {
                    a[i] = (i % 2 == 0 ? 1 : -1) * 0.0078125f * (1 + (i % 7) / 8f);
                }
                int[] scalar = new int[length + MergeKernels.SELECT_SLACK];
                int[] vector = new int[length + MergeKernels.SELECT_SLACK];
                int scalarCount = SCALAR.selectMagnitudes(a, length, bracket[0], bracket[1], scalar);
                int vectorCount = VECTOR.selectMagnitudes(a, length, bracket[0], bracket[1], vector);
                assertEquals(scalarCount, vectorCount, "selected of " + length);
                assertArrayEquals(
                        java.util.Arrays.copyOf(scalar, scalarCount), java.util.Arrays.copyOf(vector, vectorCount));
                assertEquals(SCALAR.countAbove(a, length, bracket[1]), VECTOR.countAbove(a, length, bracket[1]));
                assertEquals(SCALAR.countAbove(a, length, bracket[0]), VECTOR.countAbove(a, length, bracket[0]));
            }
        }
    }

    @Test
    void stripedNormsMatchScalarBitForBitAcrossBlocks() {
        for (int length : LENGTHS) {
            float[] a = values(new Random(length), length);
            double[] scalar = new double[MergeKernels.NORM_STRIPES];
            double[] vector = new double[MergeKernels.NORM_STRIPES];
            // Blocks of 64 then the rest, as a merge streams them; a block boundary is a multiple of the stripes.
            for (int start = 0; start < length; start += 64) {
                float[] block = java.util.Arrays.copyOfRange(a, start, Math.min(length, start + 64));
                SCALAR.addMagnitudes(block, block.length, scalar);
                VECTOR.addMagnitudes(block, block.length, vector);
            }
            for (int s = 0; s < scalar.length; s++) {
                assertEquals(Double.doubleToLongBits(scalar[s]), Double.doubleToLongBits(vector[s]), "stripe " + s);
            }
        }
    }

    @Test
    void counterUniformsMatchScalarBitForBitFromAnyOffset() {
        for (long key : new long[] {0, -1, 0x5afe3e26e5L, Long.MIN_VALUE + 12345}) {
            for (int first : new int[] {0, 1, 2047, Integer.MAX_VALUE - 5000}) {
                for (int length : LENGTHS) {
                    float[] scalar = new float[length];
                    float[] vector = new float[length];
                    SCALAR.uniforms(key, first, scalar, length);
                    VECTOR.uniforms(key, first, vector, length);
                    assertArrayEquals(bits(scalar), bits(vector), "key " + key + " first " + first);
                    for (float u : vector) {
                        assertEquals(true, u >= 0 && u < 1, "in [0, 1): " + u);
                    }
                }
            }
        }
        // A range drawn on its own equals the same range of a longer draw.
        float[] whole = new float[5000];
        float[] part = new float[1000];
        VECTOR.uniforms(7, 0, whole, whole.length);
        VECTOR.uniforms(7, 3001, part, part.length);
        assertArrayEquals(bits(java.util.Arrays.copyOfRange(whole, 3001, 4001)), bits(part));
    }

    private interface Inputs {
        float[][] make(Random random, int length);
    }

    private interface Operation {
        void run(MergeKernels kernels, Precision p, float[][] arrays);
    }

    private static void compare(Inputs inputs, Operation operation) {
        for (Precision p : Precision.values()) {
            for (int length : LENGTHS) {
                float[][] scalar = inputs.make(new Random(length * 31L + p.ordinal()), length);
                float[][] vector = inputs.make(new Random(length * 31L + p.ordinal()), length);
                operation.run(SCALAR, p, scalar);
                operation.run(VECTOR, p, vector);
                for (int a = 0; a < scalar.length; a++) {
                    assertArrayEquals(bits(scalar[a]), bits(vector[a]), p + " length " + length + " array " + a);
                }
            }
        }
    }

    /**
     * Raw bits, except that every NaN maps to one pattern: Java leaves the payload of a NaN produced by arithmetic on
     * two NaNs unspecified, and scalar and vector instructions pick different operands' payloads. Every other value,
     * including signed zeros and the quieted NaNs of rounding alone, must match exactly.
     */
    private static int[] bits(float[] values) {
        int[] bits = new int[values.length];
        for (int i = 0; i < values.length; i++) {
            bits[i] = Float.floatToIntBits(values[i]);
        }
        return bits;
    }

    /** Ordinary values, bf16 values and exact bf16 ties, zeros of both signs, subnormals, infinities and NaNs. */
    private static float[] values(Random random, int length) {
        float[] values = new float[length];
        for (int i = 0; i < length; i++) {
            values[i] = switch (random.nextInt(12)) {
                case 0 -> 0f;
                case 1 -> -0f;
                case 2 -> Float.intBitsToFloat(random.nextInt(0x00800000) | (random.nextBoolean() ? 0x80000000 : 0));
                case 3 -> random.nextBoolean() ? Float.POSITIVE_INFINITY : Float.NEGATIVE_INFINITY;
                case 4 -> Float.intBitsToFloat(0x7f800001 + random.nextInt(0x007fffff)); // NaN with any payload
                case 5 -> Float.intBitsToFloat((random.nextInt() & 0xffff0000) | 0x8000); // a bf16 tie
                case 6 -> Float.intBitsToFloat(random.nextInt() & 0xffff0000 & 0xbfffffff); // a bf16 value
                case 7 -> Float.MAX_VALUE * (random.nextBoolean() ? 1 : -1);
                default -> (float) random.nextGaussian() * 0.02f;
            };
        }
        return values;
    }
}
