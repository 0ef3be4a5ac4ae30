package dev.safemerge.merge.method;

import static dev.safemerge.merge.ParameterSpec.Scope.GLOBAL;
import static dev.safemerge.merge.ParameterSpec.Scope.PER_MODEL;

import dev.safemerge.merge.DeclaredMethod;
import dev.safemerge.merge.MergeInput;
import dev.safemerge.merge.ParameterSpec;
import dev.safemerge.merge.Params;
import dev.safemerge.merge.TensorGroup;
import dev.safemerge.merge.kernel.Precision;
import dev.safemerge.tensor.BadInputException;
import java.util.List;

/**
 * Barycentric interpolation on the hypersphere: one exponential-map step from the normalised weighted mean of the
 * unit vectors, rescaled by the weighted mean norm; in task-vector space when a base model is given. Each step is
 * one tensor op of mergekit's multislerp.py, rounded to the working precision where torch stores the tensor (the
 * weights themselves are a tensor of the input dtype there); reductions are summed wider and rounded once.
 */
public final class MultiSlerp extends DeclaredMethod {
    public MultiSlerp() {
        super(
                "multislerp",
                List.of(
                        ParameterSpec.required("weight", PER_MODEL),
                        ParameterSpec.flag("normalize_weights", true),
                        ParameterSpec.number("eps", GLOBAL, 1e-8).within(0, Double.MAX_VALUE)),
                BaseModelRule.OPTIONAL,
                EmbedSizeRule.EXACT);
    }

    @Override
    public String checkInputs(int others, boolean hasBase) {
        return others >= 1 ? null : "multislerp needs at least one model besides the base_model";
    }

    @Override
    public String checkParams(List<Params> inputs, int baseIndex, Params global) {
        List<Params> models = new java.util.ArrayList<>(inputs);
        if (baseIndex >= 0) {
            models.remove(baseIndex);
        }
        return models.size() > 1 && global.flag("normalize_weights") && Params.sum(models, "weight") == 0
                ? "the weights sum to 0, and normalize_weights divides by their sum;"
                        + " change a weight or set normalize_weights: false"
                : null;
    }

    @Override
    public float[] merge(TensorGroup group) {
        List<MergeInput> models = group.nonBase();
        if (models.size() == 1) {
            return models.getFirst().values().clone();
        }
        int m = models.size();
        int n = group.length();
        Precision p = group.precision();
        float[] base = group.hasBase() ? group.base().values() : null;
        float[][] x = new float[m][];
        float[] weights = new float[m];
        double weightSum = 0;
        for (int i = 0; i < m; i++) {
            if (base == null) {
                x[i] = models.get(i).values();
            } else {
                x[i] = Vectors.minus(models.get(i).values(), base);
                p.roundAll(x[i]);
            }
            weights[i] = p.round((float) models.get(i).params().get("weight"));
            weightSum += weights[i];
        }
        if (group.global().flag("normalize_weights")) {
            float sum = p.round((float) weightSum);
            for (int i = 0; i < m; i++) {
                weights[i] = p.round(weights[i] / sum);
            }
        }
        float eps = (float) (double) group.global().get("eps");
        float[] norms = new float[m];
        float[][] units = new float[m][n];
        for (int i = 0; i < m; i++) {
            norms[i] = p.round((float) Vectors.norm(x[i]));
            float divisor = p.round(norms[i] + eps);
            for (int j = 0; j < n; j++) {
                units[i][j] = p.round(x[i][j] / divisor);
            }
        }
        float[] mean = weightedSum(units, weights, p);
        float meanNorm = p.round((float) Vectors.norm(mean));
        float[] out = new float[n];
        if (meanNorm < eps) {
            if (m != 2) {
                throw new BadInputException(
                        group.name()
                                + ": multislerp weighted mean of the unit vectors is zero (antipodal inputs); change the weights");
            }
            for (int j = 0; j < n; j++) {
                out[j] = p.round(p.round(x[0][j] * weights[0]) + p.round(x[1][j] * weights[1]));
                out[j] += base == null ? 0 : base[j];
            }
            p.roundAll(out);
            return out;
        }
        for (int j = 0; j < n; j++) {
            mean[j] = p.round(mean[j] / meanNorm);
        }
        float[][] tangents = new float[m][n];
        for (int i = 0; i < m; i++) {
            double dot = 0;
            for (int j = 0; j < n; j++) {
                dot += p.round(units[i][j] * mean[j]);
            }
            float storedDot = p.round((float) dot);
            for (int j = 0; j < n; j++) {
                tangents[i][j] = p.round(units[i][j] - p.round(storedDot * mean[j]));
            }
        }
        float[] tangent = weightedSum(tangents, weights, p);
        float tangentNorm = p.round(p.round((float) Vectors.norm(tangent)) + eps);
        float cos = p.round((float) Math.cos(tangentNorm));
        float sinOver = p.round(p.round((float) Math.sin(tangentNorm)) / tangentNorm);
        float averageNorm = 0;
        for (int i = 0; i < m; i++) {
            averageNorm += p.round(norms[i] * weights[i]);
        }
        averageNorm = p.round(averageNorm);
        for (int j = 0; j < n; j++) {
            float point = p.round(p.round(mean[j] * cos) + p.round(tangent[j] * sinOver));
            out[j] = p.round(point * averageNorm) + (base == null ? 0 : base[j]);
        }
        p.roundAll(out);
        return out;
    }

    /** (vectors · weights.view(-1, 1)).sum(0): each product stored, the sum over models stored once. */
    private static float[] weightedSum(float[][] vectors, float[] weights, Precision p) {
        float[] sum = new float[vectors[0].length];
        for (int j = 0; j < sum.length; j++) {
            float s = 0;
            for (int i = 0; i < vectors.length; i++) {
                s += p.round(vectors[i][j] * weights[i]);
            }
            sum[j] = p.round(s);
        }
        return sum;
    }
}
