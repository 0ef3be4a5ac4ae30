package dev.safemerge.merge.method;

import static dev.safemerge.merge.ParameterSpec.Scope.GLOBAL;
import static dev.safemerge.merge.ParameterSpec.Scope.PER_MODEL;

import dev.safemerge.merge.DeclaredMethod;
import dev.safemerge.merge.MergeInput;
import dev.safemerge.merge.ParameterSpec;
import dev.safemerge.merge.Params;
import dev.safemerge.merge.TensorGroup;
import dev.safemerge.tensor.BadInputException;
import java.util.List;

/**
 * Barycentric interpolation on the hypersphere: one exponential-map step from the normalised weighted mean of the
 * unit vectors, rescaled by the weighted mean norm; in task-vector space when a base model is given.
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
        float[] base = group.hasBase() ? group.base().values() : null;
        float[][] x = new float[m][];
        double[] weights = new double[m];
        double weightSum = 0;
        for (int i = 0; i < m; i++) {
            x[i] = base == null
                    ? models.get(i).values()
                    : Vectors.minus(models.get(i).values(), base);
            weights[i] = models.get(i).params().get("weight");
            weightSum += weights[i];
        }
        if (group.global().flag("normalize_weights")) {
            for (int i = 0; i < m; i++) {
                weights[i] /= weightSum;
            }
        }
        double eps = group.global().get("eps");
        double[] norms = new double[m];
        double[] mean = new double[n];
        for (int i = 0; i < m; i++) {
            norms[i] = Vectors.norm(x[i]);
            double scale = weights[i] / (norms[i] + eps);
            for (int j = 0; j < n; j++) {
                mean[j] += scale * x[i][j];
            }
        }
        double meanNorm = 0;
        for (double v : mean) {
            meanNorm += v * v;
        }
        meanNorm = Math.sqrt(meanNorm);
        float[] out = new float[n];
        if (meanNorm < eps) {
            if (m != 2) {
                throw new BadInputException(
                        group.name()
                                + ": multislerp weighted mean of the unit vectors is zero (antipodal inputs); change the weights");
            }
            for (int j = 0; j < n; j++) {
                out[j] = (float) (x[0][j] * weights[0] + x[1][j] * weights[1] + (base == null ? 0 : base[j]));
            }
            group.precision().roundAll(out);
            return out;
        }
        for (int j = 0; j < n; j++) {
            mean[j] /= meanNorm;
        }
        double[] tangent = new double[n];
        for (int i = 0; i < m; i++) {
            double unitScale = 1 / (norms[i] + eps);
            double dot = 0;
            for (int j = 0; j < n; j++) {
                dot += x[i][j] * unitScale * mean[j];
            }
            for (int j = 0; j < n; j++) {
                tangent[j] += weights[i] * (x[i][j] * unitScale - dot * mean[j]);
            }
        }
        double tangentNorm = 0;
        for (double v : tangent) {
            tangentNorm += v * v;
        }
        tangentNorm = Math.sqrt(tangentNorm) + eps;
        double averageNorm = 0;
        for (int i = 0; i < m; i++) {
            averageNorm += norms[i] * weights[i];
        }
        double cos = Math.cos(tangentNorm);
        double sinOver = Math.sin(tangentNorm) / tangentNorm;
        for (int j = 0; j < n; j++) {
            double value = (mean[j] * cos + tangent[j] * sinOver) * averageNorm;
            out[j] = (float) (value + (base == null ? 0 : base[j]));
        }
        group.precision().roundAll(out);
        return out;
    }
}
