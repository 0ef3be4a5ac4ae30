package dev.safemerge.merge.method;

import dev.safemerge.merge.DeclaredMethod;
import dev.safemerge.merge.MergeInput;
import dev.safemerge.merge.ParameterSpec;
import dev.safemerge.merge.TensorGroup;
import dev.safemerge.merge.kernel.Precision;
import java.util.List;

/**
 * Model Stock: interpolates between the base and the average of the fine-tuned models with {@code t = N·cos / (1 +
 * (N-1)·cos)}, cos the mean pairwise cosine of their offsets from the base (whole tensor, or per row). Each step
 * is one tensor op of mergekit's model_stock.py rounded to the working precision, as torch stores it (in bf16 the
 * scalar t itself has 8 significant bits); reductions are summed wider and rounded once.
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
        Precision p = group.precision();
        float[][] offsets = new float[count][n];
        for (int m = 0; m < count; m++) {
            float[] x = models.get(m).values();
            for (int j = 0; j < n; j++) {
                offsets[m][j] = p.round(x[j] - base[j]);
            }
        }
        float[] out = new float[n];
        for (int start = 0; start < n; start += rowLength) {
            int end = start + rowLength;
            double cosSum = 0;
            int pairs = 0;
            for (int a = 0; a < count; a++) {
                for (int b = a + 1; b < count; b++) {
                    float normProduct = p.round(norm(offsets[a], start, end, p) * norm(offsets[b], start, end, p));
                    double dot = 0;
                    for (int j = start; j < end; j++) {
                        dot += p.round(offsets[a][j] * offsets[b][j]);
                    }
                    float cos = p.round(p.round((float) dot) / Math.max(normProduct, p.round(1e-6f)));
                    cosSum += Math.clamp(cos, -1f, 1f);
                    pairs++;
                }
            }
            float cos = p.round((float) (cosSum / pairs));
            float t = p.round(p.round(count * cos) / p.round(1 + p.round((count - 1) * cos)));
            float keep = p.round(1 - t);
            for (int j = start; j < end; j++) {
                float sum = models.get(0).values()[j];
                for (int m = 1; m < count; m++) {
                    sum = p.round(sum + models.get(m).values()[j]);
                }
                float average = p.round(sum / count);
                out[j] = p.round(p.round(t * average) + p.round(keep * base[j]));
            }
        }
        return out;
    }

    /** torch.norm of a stretch: the squares summed in float32 or wider, the root rounded to the working precision. */
    private static float norm(float[] values, int start, int end, Precision p) {
        double squares = 0;
        for (int j = start; j < end; j++) {
            squares += (double) values[j] * values[j];
        }
        return p.round((float) Math.sqrt(squares));
    }
}
