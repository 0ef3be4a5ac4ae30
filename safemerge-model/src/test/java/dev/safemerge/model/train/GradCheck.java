package dev.safemerge.model.train;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.SplittableRandom;
import java.util.function.DoubleSupplier;

/**
 * Compares analytic gradients with central finite differences {@code (L(p+ε) − L(p−ε)) / 2ε}, evaluated in float64
 * from a float32 forward pass. The perturbation actually applied is measured after float32 rounding, so the
 * quotient uses the true step. Remaining error: the float32 rounding of the loss (about 1e-7·|terms|·√n) divided
 * by 2ε, plus the O(ε²) truncation term; the tolerances of each test are chosen against those two.
 */
final class GradCheck {
    private GradCheck() {}

    record Result(double maxAbsError, double maxAbsGradient, int checked) {}

    /**
     * Checks up to {@code samples} randomly chosen elements of {@code values} (all when fewer) and asserts
     * {@code |analytic − numeric| ≤ atol + rtol·|numeric|} for each.
     */
    static Result check(
            String name,
            float[] values,
            float[] analytic,
            DoubleSupplier loss,
            double epsilon,
            double rtol,
            double atol,
            int samples,
            long seed) {
        SplittableRandom random = new SplittableRandom(seed);
        int count = Math.min(samples, values.length);
        double maxError = 0;
        double maxGradient = 0;
        for (int s = 0; s < count; s++) {
            int i = count == values.length ? s : random.nextInt(values.length);
            float original = values[i];
            float plus = (float) (original + epsilon);
            float minus = (float) (original - epsilon);
            values[i] = plus;
            double lossPlus = loss.getAsDouble();
            values[i] = minus;
            double lossMinus = loss.getAsDouble();
            values[i] = original;
            double numeric = (lossPlus - lossMinus) / ((double) plus - (double) minus);
            double error = Math.abs(analytic[i] - numeric);
            assertThat(error)
                    .as("%s[%d]: analytic %s vs numeric %s", name, i, analytic[i], numeric)
                    .isLessThanOrEqualTo(atol + rtol * Math.abs(numeric));
            maxError = Math.max(maxError, error);
            maxGradient = Math.max(maxGradient, Math.abs(numeric));
        }
        assertThat(maxGradient).as("%s: gradient is not identically zero", name).isGreaterThan(0);
        return new Result(maxError, maxGradient, count);
    }

    /** {@code Σ y_i·r_i} in float64: a loss whose gradient with respect to y is r. */
    static double project(float[] y, float[] r) {
        double sum = 0;
        for (int i = 0; i < y.length; i++) {
            sum += (double) y[i] * r[i];
        }
        return sum;
    }

    static float[] gaussian(int n, double sigma, SplittableRandom random) {
        float[] out = new float[n];
        for (int i = 0; i < n; i++) {
            out[i] = (float) (random.nextGaussian() * sigma);
        }
        return out;
    }
}
