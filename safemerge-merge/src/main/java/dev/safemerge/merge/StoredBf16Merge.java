package dev.safemerge.merge;

import dev.safemerge.tensor.DType;
import dev.safemerge.tensor.FloatConversion;
import java.lang.foreign.MemorySegment;
import java.util.List;

/**
 * A method with a fused path for its most common case: every input stored as BF16, bf16 working precision and BF16
 * output. The executor then hands it the stored bytes instead of float arrays; the bytes written must be exactly
 * those of {@link MergeMethod#merge} followed by the BF16 encoding.
 */
public interface StoredBf16Merge {
    /** Elements a method asks {@link Bf16Output#next} for at most at once. */
    int MAX_PIECE = 1 << 16;

    /**
     * @param group the tensor's names, parameters, base index, shape, precision and masks; its inputs carry no values
     *     (the stored bytes stand for them)
     * @param inputs the stored bytes of each input in the group's order, {@code count} bf16 values each
     */
    void mergeStoredBf16(TensorGroup group, List<MemorySegment> inputs, long count, Bf16Output out);

    /**
     * A lone input as the float path returns it: decoded and encoded again, which quiets signaling NaNs. Methods
     * return their only input this way when a tensor has no other (a weight present in one model only).
     */
    static void copyQuieted(MemorySegment bf16, long count, Bf16Output out) {
        float[] block = new float[(int) Math.min(MAX_PIECE, count)];
        for (long start = 0; start < count; start += block.length) {
            int length = (int) Math.min(block.length, count - start);
            FloatConversion.decode(DType.BF16, bf16.asSlice(start * 2, length * 2L), block, 0, length);
            FloatConversion.encode(DType.BF16, block, 0, out.next(length), length);
        }
    }

    /** Where the result goes, in order. */
    @FunctionalInterface
    interface Bf16Output {
        /** Room for the next {@code count} (at most {@link #MAX_PIECE}) bf16 results. */
        MemorySegment next(int count);
    }
}
