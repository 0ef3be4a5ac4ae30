package dev.safemerge.merge.method;

import static dev.safemerge.merge.ParameterSpec.Scope.PER_MODEL;

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
        float[] weights = new float[n];
        float[][] values = new float[n][];
        float weightSum = 0;
        for (int i = 0; i < n; i++) {
            weights[i] = p.round((float) group.inputs().get(i).params().get("weight"));
            values[i] = group.inputs().get(i).values();
            weightSum += weights[i];
        }
        weightSum = p.round(weightSum);
        boolean normalize = group.global().flag("normalize");
        float[] out = new float[group.length()];
        for (int j = 0; j < out.length; j++) {
            float sum = 0;
            for (int i = 0; i < n; i++) {
                sum += p.round(weights[i] * values[i][j]);
            }
            sum = p.round(sum);
            out[j] = normalize ? p.round(sum / weightSum) : sum;
        }
        return out;
    }
}
