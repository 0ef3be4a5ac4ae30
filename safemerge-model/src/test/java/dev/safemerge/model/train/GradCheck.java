package dev.safemerge.model.train;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.SplittableRandom;
import java.util.function.DoubleSupplier;

/**
 * Compares analytic gradients with finite differences of a loss that float32 code computes and float64 sums.
 *
 * <p>The loss at p + x carries float32 rounding noise that changes from run to run with the JIT's state (vector
 * intrinsics and their Java fallback sum in different orders), so two or four loss values are not enough to
 * bound it. For each checked element the loss is evaluated at {@value #POINTS} points spread evenly over
 * [p − 3h, p + 3h], with {@code h = step·max(|p|, 1)} sized per parameter and every offset measured after float32
 * rounding. A degree-5 polynomial fitted by least squares gives the numeric gradient (its slope at p), the noise
 * (σ from the residuals, {@value #POINTS} − 6 degrees of freedom) and the slope's standard error se. The truncation
 * error of the fit is bounded by how far the slope moves when the degree drops to 3. Each element must satisfy
 *
 * <pre>|analytic − numeric| ≤ {@value #STANDARD_ERRORS}·se + |slope₅ − slope₃| + {@value #ANALYTIC_RTOL}·|numeric| + 1e-9</pre>
 *
 * {@value #STANDARD_ERRORS} standard errors: for Student's t with 18 degrees of freedom the chance of exceeding it is
 * below 3e-7 per element, below 1e-3 over the suite's few thousand checked elements. The relative term is the
 * rounding of the analytic gradient itself (float32 through the whole backward pass): measured at up to 4e-4 in
 * the whole-model tests, where it stayed the same at every step size, so it is not on the numeric side.
 */
final class GradCheck {
    static final int POINTS = 24;
    static final double STANDARD_ERRORS = 8;
    static final double ANALYTIC_RTOL = 1e-3;
    private static final double FLOOR = 1e-9;

    private GradCheck() {}

    record Result(double maxAbsError, double maxAbsGradient, int checked) {}

    /** Checks up to {@code samples} randomly chosen elements of {@code values} (all when fewer). */
    static Result check(
            String name, float[] values, float[] analytic, DoubleSupplier loss, double step, int samples, long seed) {
        SplittableRandom random = new SplittableRandom(seed);
        int count = Math.min(samples, values.length);
        double maxError = 0;
        double maxGradient = 0;
        for (int s = 0; s < count; s++) {
            int i = count == values.length ? s : random.nextInt(values.length);
            Estimate estimate = estimate(values, i, loss, step);
            double error = Math.abs(analytic[i] - estimate.slope());
            double tolerance = STANDARD_ERRORS * estimate.standardError()
                    + estimate.truncation()
                    + ANALYTIC_RTOL * Math.abs(estimate.slope())
                    + FLOOR;
            assertThat(error)
                    .as(
                            "%s[%d]: analytic %s vs numeric %s (standard error %.3g, truncation %.3g)",
                            name, i, analytic[i], estimate.slope(), estimate.standardError(), estimate.truncation())
                    .isLessThanOrEqualTo(tolerance);
            maxError = Math.max(maxError, error);
            maxGradient = Math.max(maxGradient, Math.abs(estimate.slope()));
        }
        assertThat(maxGradient).as("%s: gradient is not identically zero", name).isGreaterThan(0);
        return new Result(maxError, maxGradient, count);
    }

    /** A numeric derivative, its standard error from the fit's residuals and a bound on its truncation error. */
    record Estimate(double slope, double standardError, double truncation) {}

    static Estimate estimate(float[] values, int i, DoubleSupplier loss, double step) {
        float original = values[i];
        double h = step * Math.max(Math.abs(original), 1);
        double[] z = new double[POINTS];
        double[] losses = new double[POINTS];
        for (int j = 0; j < POINTS; j++) {
            float moved = (float) (original + h * (-3 + 6.0 * j / (POINTS - 1)));
            values[i] = moved;
            z[j] = ((double) moved - original) / h;
            losses[j] = loss.getAsDouble();
        }
        values[i] = original;
        Fit quintic = fit(z, losses, 5);
        Fit cubic = fit(z, losses, 3);
        return new Estimate(
                quintic.slope() / h, quintic.slopeStandardError() / h, Math.abs(quintic.slope() - cubic.slope()) / h);
    }

    /** Slope at 0 of a least-squares polynomial fit and its standard error. */
    record Fit(double slope, double slopeStandardError) {}

    static Fit fit(double[] z, double[] y, int degree) {
        int terms = degree + 1;
        double[][] normal = new double[terms][terms];
        double[] right = new double[terms];
        for (int j = 0; j < z.length; j++) {
            double[] powers = powers(z[j], terms);
            for (int a = 0; a < terms; a++) {
                right[a] += powers[a] * y[j];
                for (int b = 0; b < terms; b++) {
                    normal[a][b] += powers[a] * powers[b];
                }
            }
        }
        double[][] inverse = invert(normal);
        double[] coefficients = new double[terms];
        for (int a = 0; a < terms; a++) {
            for (int b = 0; b < terms; b++) {
                coefficients[a] += inverse[a][b] * right[b];
            }
        }
        double residuals = 0;
        for (int j = 0; j < z.length; j++) {
            double[] powers = powers(z[j], terms);
            double predicted = 0;
            for (int a = 0; a < terms; a++) {
                predicted += coefficients[a] * powers[a];
            }
            residuals += (y[j] - predicted) * (y[j] - predicted);
        }
        double variance = residuals / (z.length - terms);
        return new Fit(coefficients[1], Math.sqrt(variance * inverse[1][1]));
    }

    private static double[] powers(double z, int terms) {
        double[] out = new double[terms];
        out[0] = 1;
        for (int a = 1; a < terms; a++) {
            out[a] = out[a - 1] * z;
        }
        return out;
    }

    /** Gauss–Jordan inversion with partial pivoting of a small symmetric positive definite matrix. */
    private static double[][] invert(double[][] matrix) {
        int n = matrix.length;
        double[][] a = new double[n][2 * n];
        for (int r = 0; r < n; r++) {
            System.arraycopy(matrix[r], 0, a[r], 0, n);
            a[r][n + r] = 1;
        }
        for (int c = 0; c < n; c++) {
            int pivot = c;
            for (int r = c + 1; r < n; r++) {
                if (Math.abs(a[r][c]) > Math.abs(a[pivot][c])) {
                    pivot = r;
                }
            }
            double[] swap = a[c];
            a[c] = a[pivot];
            a[pivot] = swap;
            double scale = a[c][c];
            for (int k = 0; k < 2 * n; k++) {
                a[c][k] /= scale;
            }
            for (int r = 0; r < n; r++) {
                if (r != c && a[r][c] != 0) {
                    double factor = a[r][c];
                    for (int k = 0; k < 2 * n; k++) {
                        a[r][k] -= factor * a[c][k];
                    }
                }
            }
        }
        double[][] inverse = new double[n][n];
        for (int r = 0; r < n; r++) {
            System.arraycopy(a[r], n, inverse[r], 0, n);
        }
        return inverse;
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
