package dev.safemerge.merge.method;

import dev.safemerge.merge.DeclaredMethod;
import dev.safemerge.merge.MergeInput;
import dev.safemerge.merge.ParameterSpec;
import dev.safemerge.merge.TensorGroup;
import java.util.List;

/**
 * Model Stock: interpolates between the base and the average of the fine-tuned models with {@code t = N·cos / (1 +
 * (N-1)·cos)}, cos the mean pairwise cosine of their offsets from the base (whole tensor, or per row).
 */
public final class ModelStock extends DeclaredMethod {
    public ModelStock() {
        super(
                "model_stock",
                List.of(ParameterSpec.flag("filter_wise", false)),
                BaseModelRule.REQUIRED,
                EmbedSizeRule.COMMON_SUBMATRIX);
    }

    @Override
    public String checkInputs(int others, boolean hasBase) {
        return hasBase && others >= 2 ? null : "model_stock needs a base_model and at least two other models";
    }

    @Override
    public float[] merge(TensorGroup group) {
        float[] base = group.base().values();
        List<MergeInput> models = group.nonBase();
        if (models.isEmpty()) {
            return base.clone();
        }
        if (models.size() < 2) {
            throw new IllegalArgumentException(checkInputs(models.size(), true));
        }
        int n = base.length;
        int rowLength = group.global().flag("filter_wise") ? (group.shape().length < 2 ? n : group.rowLength()) : n;
        int count = models.size();
        float[] out = new float[n];
        for (int start = 0; start < n; start += rowLength) {
            double cosSum = 0;
            int pairs = 0;
            for (int a = 0; a < count; a++) {
                for (int b = a + 1; b < count; b++) {
                    float[] xa = models.get(a).values();
                    float[] xb = models.get(b).values();
                    double dot = 0;
                    double sqA = 0;
                    double sqB = 0;
                    for (int j = start; j < start + rowLength; j++) {
                        double oa = xa[j] - base[j];
                        double ob = xb[j] - base[j];
                        dot += oa * ob;
                        sqA += oa * oa;
                        sqB += ob * ob;
                    }
                    double cos = dot / Math.max(Math.sqrt(sqA) * Math.sqrt(sqB), 1e-6);
                    cosSum += Math.max(-1, Math.min(1, cos));
                    pairs++;
                }
            }
            double cos = cosSum / pairs;
            double t = count * cos / (1 + (count - 1) * cos);
            for (int j = start; j < start + rowLength; j++) {
                double sum = 0;
                for (MergeInput model : models) {
                    sum += model.values()[j];
                }
                out[j] = (float) (t * (sum / count) + (1 - t) * base[j]);
            }
        }
        group.precision().roundAll(out);
        return out;
    }
}
