package dev.safemerge.merge.method;

import static dev.safemerge.merge.ParameterSpec.Scope.GLOBAL;

import dev.safemerge.merge.DeclaredMethod;
import dev.safemerge.merge.MergeInput;
import dev.safemerge.merge.ParameterSpec;
import dev.safemerge.merge.TensorGroup;
import dev.safemerge.merge.kernel.Precision;
import java.util.List;

/**
 * SCE: select the elements where the task vectors vary most, weight each model by its mean squared delta, elect
 * signs on the unweighted deltas and average the agreeing ones. Each step is one tensor op of mergekit's sce.py,
 * rounded to the working precision where torch stores the tensor (the squares, the per-model weights, each weighted
 * delta, the weighted sum and its divisor); reductions are summed wider and rounded once.
 */
public final class Sce extends DeclaredMethod {
    public Sce() {
        super(
                "sce",
                List.of(
                        ParameterSpec.number("select_topk", GLOBAL, 1.0).within(0, 1),
                        ParameterSpec.flag("int8_mask", false)),
                BaseModelRule.REQUIRED,
                EmbedSizeRule.EXACT);
    }

    @Override
    public String checkInputs(int others, boolean hasBase) {
        return hasBase ? null : "sce needs a base_model";
    }

    @Override
    public float[] merge(TensorGroup group) {
        float[] base = group.base().values();
        List<MergeInput> models = group.nonBase();
        if (models.isEmpty()) {
            return base.clone();
        }
        int m = models.size();
        int n = base.length;
        Precision p = group.precision();
        float[][] deltas = new float[m][];
        for (int i = 0; i < m; i++) {
            deltas[i] = Vectors.minus(models.get(i).values(), base);
            p.roundAll(deltas[i]);
        }
        double selectTopk = group.global().get("select_topk");
        if (selectTopk < 1) {
            float[] variance = new float[n];
            int nonZero = 0;
            for (int j = 0; j < n; j++) {
                double mean = 0;
                for (float[] delta : deltas) {
                    mean += delta[j];
                }
                mean /= m;
                double sum = 0;
                for (float[] delta : deltas) {
                    sum += (delta[j] - mean) * (delta[j] - mean);
                }
                variance[j] = p.round((float) (sum / m));
                nonZero += variance[j] != 0 ? 1 : 0;
            }
            int k = (int) ((float) Math.abs(selectTopk) * nonZero);
            boolean[] keep = k == 0 ? new boolean[n] : Ranks.keepTop(variance, k);
            for (float[] delta : deltas) {
                for (int j = 0; j < n; j++) {
                    if (!keep[j]) {
                        delta[j] = 0;
                    }
                }
            }
        }
        // sce_weight: the mean of the squared deltas (each square a stored tensor), normalised by their sum
        float[] weights = new float[m];
        double weightSum = 0;
        for (int i = 0; i < m; i++) {
            double squares = 0;
            for (float d : deltas[i]) {
                squares += p.round(d * d);
            }
            weights[i] = p.round((float) (squares / n));
            weightSum += weights[i];
        }
        float storedSum = p.round((float) weightSum);
        for (int i = 0; i < m; i++) {
            weights[i] = Math.abs(storedSum) < 1e-6 ? p.round(1f / m) : p.round(weights[i] / storedSum);
        }
        float[] out = new float[n];
        for (int j = 0; j < n; j++) {
            double signSum = 0;
            for (float[] delta : deltas) {
                signSum += delta[j];
            }
            float majority = signSum >= 0 ? 1 : -1;
            float mixed = 0;
            float divisor = 0;
            for (int i = 0; i < m; i++) {
                if (Math.signum(deltas[i][j]) == majority) {
                    mixed += p.round(weights[i] * deltas[i][j]);
                    divisor += weights[i];
                }
            }
            float merged = p.round(p.round(mixed) / Math.max(p.round(divisor), 1e-6f));
            out[j] = base[j] + merged;
        }
        group.precision().roundAll(out);
        return out;
    }
}
