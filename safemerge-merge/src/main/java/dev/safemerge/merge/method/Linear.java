package dev.safemerge.merge.method;

import static dev.safemerge.merge.ParameterSpec.Scope.PER_MODEL;

import dev.safemerge.merge.MergeKernels;
import dev.safemerge.merge.MergeMethod;
import dev.safemerge.merge.ParameterSpec;
import dev.safemerge.merge.Precision;
import dev.safemerge.merge.TensorGroup;
import java.util.List;

/** Weighted average {@code Σ w_i X_i / Σ w_i} (no zero guard, as mergekit), every input including a listed base. */
public final class Linear implements MergeMethod {
    @Override
    public String name() {
        return "linear";
    }

    @Override
    public List<ParameterSpec> parameters() {
        return List.of(ParameterSpec.required("weight", PER_MODEL), ParameterSpec.flag("normalize", true));
    }

    @Override
    public BaseModelRule baseModel() {
        return BaseModelRule.PLAIN_INPUT;
    }

    @Override
    public EmbedSizeRule embedSizes() {
        return EmbedSizeRule.COMMON_SUBMATRIX;
    }

    @Override
    public String checkInputs(int others, boolean hasBase) {
        return others + (hasBase ? 1 : 0) >= 1 ? null : "linear needs at least one model";
    }

    @Override
    public boolean elementwise() {
        return true;
    }

    @Override
    public float[] merge(TensorGroup group) {
        Precision p = group.precision();
        int n = group.inputs().size();
        MergeKernels kernels = MergeKernels.best();
        float weightSum = 0;
        // Input by input (not element by element) so that the loops stream and vectorise.
        float[] sum = new float[group.length()];
        for (int i = 0; i < n; i++) {
            float weight = p.round((float) group.inputs().get(i).params().get("weight"));
            weightSum += weight;
            kernels.addWeighted(p, sum, group.inputs().get(i).values(), weight);
        }
        kernels.finishLinear(p, sum, group.global().flag("normalize"), p.round(weightSum));
        return sum;
    }
}
