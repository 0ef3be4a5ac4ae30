package dev.safemerge.merge.method;

import static dev.safemerge.merge.ParameterSpec.Scope.GLOBAL;

import dev.safemerge.merge.DeclaredMethod;
import dev.safemerge.merge.ParameterSpec;
import dev.safemerge.merge.TensorGroup;
import java.util.List;

/**
 * Karcher (Riemannian) mean of all inputs on the unit hypersphere with equal weights, scaled by the mean norm; the
 * base model, if any, is one more input and config weights are not read.
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
        double alpha = 1.0 / m;
        double[] norms = new double[m];
        double[][] units = new double[m][];
        int valid = 0;
        for (int i = 0; i < m; i++) {
            float[] x = group.inputs().get(i).values();
            norms[i] = Vectors.norm(x);
            units[i] = new double[n];
            if (norms[i] > 0) {
                for (int j = 0; j < n; j++) {
                    units[i][j] = x[j] / norms[i];
                }
            }
            if (norms[i] > tol) {
                valid++;
            }
        }
        float[] out = new float[n];
        if (valid == 0) {
            return out;
        }
        double validAlpha = 1.0 / valid;
        double[] mean = new double[n];
        int first = -1;
        for (int i = 0; i < m; i++) {
            if (norms[i] > tol) {
                first = first < 0 ? i : first;
                for (int j = 0; j < n; j++) {
                    mean[j] += validAlpha * units[i][j];
                }
            }
        }
        double meanNorm = norm(mean);
        if (meanNorm < tol) {
            mean = units[first].clone();
        } else {
            scale(mean, 1 / meanNorm);
        }
        for (int iteration = 0; iteration < maxIter; iteration++) {
            double[] tangent = new double[n];
            for (int i = 0; i < m; i++) {
                if (norms[i] <= tol) {
                    continue;
                }
                double dot = Math.max(-1, Math.min(1, dot(mean, units[i])));
                double theta = Math.acos(dot);
                if (theta < tol) {
                    continue;
                }
                double factor = validAlpha * theta / Math.sin(theta);
                for (int j = 0; j < n; j++) {
                    tangent[j] += factor * (units[i][j] - dot * mean[j]);
                }
            }
            double tangentNorm = norm(tangent);
            if (tangentNorm < tol) {
                break;
            }
            double cos = Math.cos(tangentNorm);
            double sin = Math.sin(tangentNorm) / tangentNorm;
            for (int j = 0; j < n; j++) {
                mean[j] = cos * mean[j] + sin * tangent[j];
            }
            double unitNorm = norm(mean);
            if (unitNorm > tol) {
                scale(mean, 1 / unitNorm);
            }
        }
        double scale = 0;
        for (int i = 0; i < m; i++) {
            scale += alpha * norms[i];
        }
        for (int j = 0; j < n; j++) {
            out[j] = (float) (scale * mean[j]);
        }
        group.precision().roundAll(out);
        return out;
    }

    private static double dot(double[] a, double[] b) {
        double sum = 0;
        for (int i = 0; i < a.length; i++) {
            sum += a[i] * b[i];
        }
        return sum;
    }

    private static double norm(double[] a) {
        return Math.sqrt(dot(a, a));
    }

    private static void scale(double[] a, double factor) {
        for (int i = 0; i < a.length; i++) {
            a[i] *= factor;
        }
    }
}
