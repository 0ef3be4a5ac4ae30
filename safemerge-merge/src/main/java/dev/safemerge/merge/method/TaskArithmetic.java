package dev.safemerge.merge.method;

import dev.safemerge.merge.Params;
import dev.safemerge.merge.Precision;
import dev.safemerge.merge.StoredBf16Kernels;
import dev.safemerge.merge.StoredBf16Merge;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;

/** {@code task_arithmetic}: pruning NONE, sign election false, normalize default false, rescale default false. */
public final class TaskArithmetic extends TaskArithmeticFamily implements StoredBf16Merge {
    public TaskArithmetic() {
        super("task_arithmetic", Pruning.NONE, false, false, false);
    }

    /** The same steps as {@link #merge} without pruning or election, fused into one pass over the stored bytes. */
    @Override
    public void mergeStoredBf16(
            List<MemorySegment> inputs,
            List<Params> params,
            int baseIndex,
            Params global,
            MemorySegment out,
            long count) {
        Precision p = Precision.BF16;
        List<MemorySegment> others = new ArrayList<>(inputs);
        List<Params> otherParams = new ArrayList<>(params);
        MemorySegment base = others.remove(baseIndex);
        otherParams.remove(baseIndex);
        float[] weights = new float[others.size()];
        float divisor = 0;
        for (int i = 0; i < weights.length; i++) {
            weights[i] = p.round((float) otherParams.get(i).get("weight"));
            divisor += weights[i];
        }
        divisor = p.round(divisor);
        if (Math.abs(divisor) < 1e-8) {
            divisor = 1;
        }
        StoredBf16Kernels.best()
                .taskArithmetic(
                        base,
                        others.toArray(MemorySegment[]::new),
                        weights,
                        global.flag("normalize"),
                        divisor,
                        (float) global.get("lambda"),
                        out,
                        count);
    }
}
