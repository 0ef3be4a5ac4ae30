package dev.safemerge.merge;

import java.lang.foreign.MemorySegment;
import java.util.List;

/**
 * A method with a fused path for its most common case: every input stored as BF16, bf16 working precision and BF16
 * output. The executor then hands it the stored bytes of a range instead of float arrays; the bytes written must be
 * exactly those of {@link MergeMethod#merge} followed by the BF16 encoding.
 */
public interface StoredBf16Merge {
    /**
     * @param inputs the stored bytes of each input in the group's order, {@code count} bf16 values each
     * @param params each input's parameters, in the same order
     * @param baseIndex index of the base model in {@code inputs}, or -1
     */
    void mergeStoredBf16(
            List<MemorySegment> inputs,
            List<Params> params,
            int baseIndex,
            Params global,
            MemorySegment out,
            long count);
}
