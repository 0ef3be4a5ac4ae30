package dev.safemerge.merge.method;

import static dev.safemerge.merge.ParameterSpec.Scope.GLOBAL;

import dev.safemerge.merge.DeclaredMethod;
import dev.safemerge.merge.ParameterSpec;
import dev.safemerge.merge.TensorGroup;
import dev.safemerge.merge.kernel.Precision;
import java.util.List;

/**
 * Karcher (Riemannian) mean of all inputs on the unit hypersphere with equal weights, scaled by the mean norm; the
 * base model, if any, is one more input and config weights are not read. Each step is one tensor op of mergekit's
 * karcher.py rounded to the working precision where torch stores the tensor. The norms there are float32 0-dim
 * tensors of {@code t.float()}, which do not promote a bf16 tensor: divided by one, a tensor is divided by its
 * float32 value; multiplied by one that comes first, it is multiplied by the scalar cast to the tensor's dtype.
 */
public final class Karcher extends DeclaredMethod {
    public Karcher() {
        super(
                "karcher",
                List.of(
                        ParameterSpec.integer("max_iter", GLOBAL, 10).within(1, Integer.MAX_VALUE),
                        ParameterSpec.number("tol", GLOBAL, 1e-5).within(0, Double.MAX_VALUE)),
                BaseModelRule.PLAIN_INPUT,
                EmbedSizeRule.EXACT);
    }

    @Override
    public String checkInputs(int others, boolean hasBase) {
        return others + (hasBase ? 1 : 0) >= 1 ? null : "karcher needs at least one model";
    }

    @Override
    public float[] merge(TensorGroup group) {
        int m = group.inputs().size();
        if (m == 1) {
            return group.inputs().getFirst().values().clone();
        }
        int n = group.length();
        int maxIter = (int) group.global().get("max_iter");
        double tol = group.global().get("tol");
        Precision p = group.precision();
        double alpha = 1.0 / m;
        float[] norms = new float[m];
        float[][] units = new float[m][];
        double validAlphaSum = 0;
        int first = -1;
        for (int i = 0; i < m; i++) {
            float[] x = group.inputs().get(i).values();
            norms[i] = (float) Vectors.norm(x);
            units[i] = new float[n];
            if (norms[i] > 0) {
                for (int j = 0; j < n; j++) {
                    units[i][j] = p.round(x[j] / norms[i]);
                }
            }
            if (norms[i] > tol) {
                validAlphaSum += alpha;
                first = first < 0 ? i : first;
            }
        }
        float[] out = new float[n];
        if (first < 0) {
            return out;
        }
        float validAlpha = (float) (alpha / validAlphaSum);
        float[] mean = new float[n];
        for (int i = 0; i < m; i++) {
            if (norms[i] > tol) {
                for (int j = 0; j < n; j++) {
                    mean[j] = p.round(mean[j] + p.round(validAlpha * units[i][j]));
                }
            }
        }
        float meanNorm = (float) Vectors.norm(mean);
        if (meanNorm < tol) {
            mean = units[first].clone();
        } else {
            divide(mean, meanNorm, p);
        }
        for (int iteration = 0; iteration < maxIter; iteration++) {
            float[] tangent = new float[n];
            for (int i = 0; i < m; i++) {
                if (norms[i] <= tol) {
                    continue;
                }
                float dot = Math.clamp(p.round((float) Vectors.dot(mean, units[i])), -1f, 1f);
                float theta = p.round((float) Math.acos(dot));
                if (theta < tol) {
                    continue;
                }
                float factor = p.round(validAlpha * p.round(theta / p.round((float) Math.sin(theta))));
                for (int j = 0; j < n; j++) {
                    float towards = p.round(units[i][j] - p.round(dot * mean[j]));
                    tangent[j] = p.round(tangent[j] + p.round(factor * towards));
                }
            }
            float tangentNorm = (float) Vectors.norm(tangent);
            if (tangentNorm < tol) {
                break;
            }
            // float32 0-dim tensors: torch casts a 0-dim operand that comes first to the tensor's dtype
            float cos = p.round((float) Math.cos(tangentNorm));
            float sin = p.round((float) Math.sin(tangentNorm));
            for (int j = 0; j < n; j++) {
                mean[j] = p.round(p.round(cos * mean[j]) + p.round(sin * p.round(tangent[j] / tangentNorm)));
            }
            float unitNorm = (float) Vectors.norm(mean);
            if (unitNorm > tol) {
                divide(mean, unitNorm, p);
            }
        }
        double scale = 0;
        for (int i = 0; i < m; i++) {
            scale += alpha * norms[i];
        }
        for (int j = 0; j < n; j++) {
            out[j] = p.round((float) scale * mean[j]);
        }
        return out;
    }

    /** A tensor divided by a float32 scalar: torch divides by the scalar's own value and stores the quotient. */
    private static void divide(float[] values, float divisor, Precision p) {
        for (int j = 0; j < values.length; j++) {
            values[j] = p.round(values[j] / divisor);
        }
    }
}
