package dev.safemerge.merge.method;

import static dev.safemerge.merge.ParameterSpec.Scope.GLOBAL;

import dev.safemerge.merge.DeclaredMethod;
import dev.safemerge.merge.MergeInput;
import dev.safemerge.merge.ParameterSpec;
import dev.safemerge.merge.TensorGroup;
import java.util.List;

/**
 * SCE: select the elements where the task vectors vary most, weight each model by its mean squared delta, elect
 * signs on the unweighted deltas and average the agreeing ones.
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
        float[][] deltas = new float[m][];
        for (int i = 0; i < m; i++) {
            deltas[i] = Vectors.minus(models.get(i).values(), base);
            group.precision().roundAll(deltas[i]);
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
                variance[j] = (float) (sum / m);
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
        double[] weights = new double[m];
        double weightSum = 0;
        for (int i = 0; i < m; i++) {
            weights[i] = Vectors.dot(deltas[i], deltas[i]) / n;
            weightSum += weights[i];
        }
        for (int i = 0; i < m; i++) {
            weights[i] = weightSum < 1e-6 ? 1.0 / m : weights[i] / weightSum;
        }
        float[] out = new float[n];
        for (int j = 0; j < n; j++) {
            double signSum = 0;
            for (float[] delta : deltas) {
                signSum += delta[j];
            }
            float majority = signSum >= 0 ? 1 : -1;
            double mixed = 0;
            double divisor = 0;
            for (int i = 0; i < m; i++) {
                if (Math.signum(deltas[i][j]) == majority) {
                    mixed += weights[i] * deltas[i][j];
                    divisor += weights[i];
                }
            }
            out[j] = (float) (base[j] + mixed / Math.max(divisor, 1e-6));
        }
        group.precision().roundAll(out);
        return out;
    }
}
