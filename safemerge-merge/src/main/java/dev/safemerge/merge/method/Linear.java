package dev.safemerge.merge.method;

import static dev.safemerge.merge.ParameterSpec.Scope.PER_MODEL;

import dev.safemerge.merge.DeclaredMethod;
import dev.safemerge.merge.MergeInput;
import dev.safemerge.merge.ParameterSpec;
import dev.safemerge.merge.Params;
import dev.safemerge.merge.StoredBf16Merge;
import dev.safemerge.merge.TensorGroup;
import dev.safemerge.merge.kernel.MergeKernels;
import dev.safemerge.merge.kernel.Precision;
import dev.safemerge.merge.kernel.StoredBf16Kernels;
import java.lang.foreign.MemorySegment;
import java.util.List;

/** Weighted average {@code Σ w_i X_i / Σ w_i} (no zero guard, as mergekit), every input including a listed base. */
public final class Linear extends DeclaredMethod implements StoredBf16Merge {
    public Linear() {
        super(
                "linear",
                List.of(ParameterSpec.required("weight", PER_MODEL), ParameterSpec.flag("normalize", true)),
                BaseModelRule.PLAIN_INPUT,
                EmbedSizeRule.COMMON_SUBMATRIX);
    }

    @Override
    public String checkInputs(int others, boolean hasBase) {
        return others + (hasBase ? 1 : 0) >= 1 ? null : "linear needs at least one model";
    }

    @Override
    public String checkParams(List<Params> inputs, int baseIndex, Params global) {
        return global.flag("normalize") && Params.sum(inputs, "weight") == 0
                ? "the weights sum to 0, and normalize divides by their sum (every value would be NaN);"
                        + " change a weight or set normalize: false"
                : null;
    }

    @Override
    public boolean elementwise() {
        return true;
    }

    @Override
    public float[] merge(TensorGroup group) {
        Precision p = group.precision();
        Weights weights =
                weights(p, group.inputs().stream().map(MergeInput::params).toList());
        MergeKernels kernels = MergeKernels.best();
        // Input by input (not element by element) so that the loops stream and vectorise.
        float[] sum = new float[group.length()];
        for (int i = 0; i < weights.values().length; i++) {
            kernels.addWeighted(p, sum, group.inputs().get(i).values(), weights.values()[i]);
        }
        kernels.finishLinear(p, sum, group.global().flag("normalize"), weights.divisor());
        return sum;
    }

    @Override
    public void mergeStoredBf16(TensorGroup group, List<MemorySegment> inputs, long count, Bf16Output out) {
        Weights weights = weights(
                Precision.BF16, group.inputs().stream().map(MergeInput::params).toList());
        boolean normalize = group.global().flag("normalize");
        MemorySegment[] pieces = new MemorySegment[inputs.size()];
        for (long first = 0; first < count; first += MAX_PIECE) {
            int n = (int) Math.min(MAX_PIECE, count - first);
            for (int i = 0; i < pieces.length; i++) {
                pieces[i] = inputs.get(i).asSlice(first * 2, n * 2L);
            }
            StoredBf16Kernels.best().linear(pieces, weights.values(), normalize, weights.divisor(), out.next(n), n);
        }
    }

    /** The weights as torch holds them (in the working dtype) and their sum, the divisor of normalisation. */
    @SuppressWarnings("ArrayRecordComponent")
    private record Weights(float[] values, float divisor) {}

    private static Weights weights(Precision p, List<Params> params) {
        float[] values = new float[params.size()];
        float sum = 0;
        for (int i = 0; i < values.length; i++) {
            values[i] = p.round((float) params.get(i).get("weight"));
            sum += values[i];
        }
        return new Weights(values, p.round(sum));
    }
}
