package dev.safemerge.merge;

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

    /** Where the result goes, in order. */
    @FunctionalInterface
    interface Bf16Output {
        /** Room for the next {@code count} (at most {@link #MAX_PIECE}) bf16 results. */
        MemorySegment next(int count);
    }
}
