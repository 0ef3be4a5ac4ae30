package dev.safemerge.tensor;

import static org.assertj.core.api.Assertions.assertThat;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Random;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The vectorized conversions must equal the scalar twin bit for bit, NaN payloads, subnormals and ties included. */
class ConversionKernelsTest {
    private static ConversionKernels vector;
    private static final ConversionKernels SCALAR = ScalarConversionKernels.INSTANCE;

    @BeforeAll
    static void vectorKernelsAreInUse() {
        // Tests run with --add-modules jdk.incubator.vector, so the comparison below is never vector vs. vector.
        assertThat(ConversionKernels.best()).isInstanceOf(VectorConversionKernels.class);
        vector = ConversionKernels.best();
    }

    /** Every 16-bit pattern, decoded at several offsets and lengths so that vector bodies and scalar tails both run. */
    @Test
    void decodingEveryHalfPatternMatchesTheScalarTwin() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment all = arena.allocate(2 * 65536 + 2);
            for (int i = 0; i < 65536; i++) {
                all.set(ValueLayout.JAVA_SHORT_UNALIGNED, 1 + 2L * i, (short) i); // odd address: unaligned
            }
            MemorySegment halves = all.asSlice(1, 2 * 65536);
            for (int[] window : new int[][] {{0, 65536}, {3, 65533}, {0, 7}, {65529, 7}, {1, 100}}) {
                int from = window[0];
                int count = window[1];
                MemorySegment src = halves.asSlice(2L * from, 2L * count);
                float[] expected = new float[count + 3];
                float[] actual = new float[count + 3];
                SCALAR.decodeBf16(src, expected, 3, count);
                vector.decodeBf16(src, actual, 3, count);
                assertSameBits(expected, actual, "bf16 from " + from);
                SCALAR.decodeF16(src, expected, 3, count);
                vector.decodeF16(src, actual, 3, count);
                assertSameBits(expected, actual, "f16 from " + from);
            }
        }
    }

    @Test
    void encodingMatchesTheScalarTwinOnSpecialRandomAndTieValues() {
        float[] values = encodingCases();
        try (Arena arena = Arena.ofConfined()) {
            for (int offset : new int[] {0, 5}) {
                int count = values.length - offset - 3;
                MemorySegment expected = arena.allocate(2L * count);
                MemorySegment actual = arena.allocate(2L * count);
                SCALAR.encodeBf16(values, offset, expected, count);
                vector.encodeBf16(values, offset, actual, count);
                assertSameShorts(expected, actual, values, offset, "bf16");
                SCALAR.encodeF16(values, offset, expected, count);
                vector.encodeF16(values, offset, actual, count);
                assertSameShorts(expected, actual, values, offset, "f16");
            }
        }
    }

    private static float[] encodingCases() {
        Random random = new Random(20261128);
        java.util.List<Float> cases = new java.util.ArrayList<>();
        float[] special = {
            0f,
            -0f,
            1f,
            -1f,
            Float.MIN_VALUE,
            -Float.MIN_VALUE,
            Float.MIN_NORMAL,
            Float.MAX_VALUE,
            -Float.MAX_VALUE,
            Float.POSITIVE_INFINITY,
            Float.NEGATIVE_INFINITY,
            Float.NaN,
            Float.intBitsToFloat(0x7f800001),
            Float.intBitsToFloat(0xffc00001),
            Float.intBitsToFloat(0x7fbfffff),
            65504f,
            65519.99f,
            65520f,
            65536f,
            0x1p-24f,
            0x1p-25f,
            Math.nextUp(0x1p-25f),
            0x1.8p-25f,
            0x1p-14f,
            Math.nextDown(0x1p-14f),
            0x1.ffcp-15f,
            1f + 0x1p-8f,
            1f + 3 * 0x1p-8f,
            1f + 0x1p-11f,
            1f + 3 * 0x1p-11f,
            2049f,
            2051f
        };
        for (float value : special) {
            cases.add(value);
        }
        // Exact ties and their neighbours for both formats, across the whole half range including subnormals.
        for (int h = 0; h < 0x7c00; h += 7) {
            float low = Float.float16ToFloat((short) h);
            float high = Float.float16ToFloat((short) (h + 1));
            float tie = (low + high) / 2;
            cases.add(tie);
            cases.add(Math.nextUp(tie));
            cases.add(Math.nextDown(tie));
            cases.add(-tie);
        }
        for (int b = 0; b < 0x7f80; b += 13) {
            int tieBits = (b << 16) | 0x8000;
            cases.add(Float.intBitsToFloat(tieBits));
            cases.add(Float.intBitsToFloat(tieBits + 1));
            cases.add(Float.intBitsToFloat(tieBits - 1));
        }
        // A stride through every float bit pattern (NaN payloads, subnormals, both signs), then random ones.
        for (long bits = 0; bits <= 0xffffffffL; bits += 4099) {
            cases.add(Float.intBitsToFloat((int) bits));
        }
        for (int i = 0; i < 200_000; i++) {
            cases.add(Float.intBitsToFloat(random.nextInt()));
            cases.add((float) random.nextGaussian() * (float) Math.pow(2, random.nextInt(40) - 30));
        }
        float[] out = new float[cases.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = cases.get(i);
        }
        return out;
    }

    private static void assertSameBits(float[] expected, float[] actual, String what) {
        for (int i = 0; i < expected.length; i++) {
            if (Float.floatToRawIntBits(expected[i]) != Float.floatToRawIntBits(actual[i])) {
                throw new AssertionError(what + ": element " + i + " is "
                        + Integer.toHexString(Float.floatToRawIntBits(actual[i])) + ", scalar twin gives "
                        + Integer.toHexString(Float.floatToRawIntBits(expected[i])));
            }
        }
    }

    private static void assertSameShorts(
            MemorySegment expected, MemorySegment actual, float[] values, int offset, String what) {
        long count = expected.byteSize() / 2;
        for (long i = 0; i < count; i++) {
            short want = expected.getAtIndex(ValueLayout.JAVA_SHORT_UNALIGNED, i);
            short got = actual.getAtIndex(ValueLayout.JAVA_SHORT_UNALIGNED, i);
            if (want != got) {
                throw new AssertionError(what + ": encoding "
                        + Integer.toHexString(Float.floatToRawIntBits(values[offset + (int) i])) + " gave "
                        + Integer.toHexString(got & 0xffff) + ", scalar twin gives "
                        + Integer.toHexString(want & 0xffff));
            }
        }
    }
}
