package dev.safemerge.bench;

import dev.safemerge.tensor.SafetensorsFile;
import java.lang.foreign.MemorySegment;

/**
 * The random weights of the benchmarks' synthetic checkpoints and matrices: one xorshift64 stream of values uniform
 * in ±0.03, as BF16 (the top half of the float32 bits). Seeded the same every time, so every run multiplies the same
 * numbers.
 */
final class SyntheticWeights {
    private long state = 0x9E3779B97F4A7C15L;

    /** The next value of the stream as BF16 bits. */
    short nextBf16() {
        state ^= state << 13;
        state ^= state >>> 7;
        state ^= state << 17;
        float value = ((state >>> 40) / (float) (1 << 24) - 0.5f) * 0.06f;
        return (short) (Float.floatToRawIntBits(value) >>> 16);
    }

    /** Fills the first {@code count} little-endian BF16 elements of {@code segment} with the next values. */
    void fill(MemorySegment segment, long count) {
        for (long i = 0; i < count; i++) {
            segment.setAtIndex(SafetensorsFile.SHORT_LE, i, nextBf16());
        }
    }
}
