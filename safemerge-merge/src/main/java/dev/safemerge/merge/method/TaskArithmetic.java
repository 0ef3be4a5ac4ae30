package dev.safemerge.merge.method;

import dev.safemerge.merge.MergeInput;
import dev.safemerge.merge.Precision;
import dev.safemerge.merge.StoredBf16Kernels;
import dev.safemerge.merge.TensorGroup;
import java.lang.foreign.MemorySegment;
import java.util.List;

/** {@code task_arithmetic}: pruning NONE, sign election false, normalize default false, rescale default false. */
public final class TaskArithmetic extends TaskArithmeticFamily {
    public TaskArithmetic() {
        super("task_arithmetic", Pruning.NONE, false, false, false);
    }

    /** The same steps as {@link #merge} without pruning or election, fused into one kernel per piece. */
    @Override
    public void mergeStoredBf16(TensorGroup group, List<MemorySegment> inputs, long count, Bf16Output out) {
        List<MergeInput> others = group.nonBase();
        float[] weights = weights(Precision.BF16, others);
        float divisor = plainDivisor(Precision.BF16, weights);
        boolean normalize = group.global().flag("normalize");
        float lambda = (float) group.global().get("lambda");
        MemorySegment[] otherPieces = new MemorySegment[others.size()];
        for (long first = 0; first < count; first += MAX_PIECE) {
            int n = (int) Math.min(MAX_PIECE, count - first);
            for (int i = 0, k = 0; i < inputs.size(); i++) {
                if (i != group.baseIndex()) {
                    otherPieces[k++] = inputs.get(i).asSlice(first * 2, n * 2L);
                }
            }
            MemorySegment base = inputs.get(group.baseIndex()).asSlice(first * 2, n * 2L);
            StoredBf16Kernels.best()
                    .taskArithmetic(base, otherPieces, weights, normalize, divisor, lambda, out.next(n), n);
        }
    }
}
