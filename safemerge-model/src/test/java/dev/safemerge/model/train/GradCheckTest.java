package dev.safemerge.model.train;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import java.util.SplittableRandom;
import java.util.function.DoubleSupplier;
import org.junit.jupiter.api.Test;

/** The gradient check itself: exact on polynomials, passes a right gradient, fails one that is 1% off. */
class GradCheckTest {
    private static final int N = 40;

    /** L = Σ r_i·tanh(p_i)·(1 + p_{i+1}²/4), evaluated in float32 per term and summed in float64. */
    private static DoubleSupplier loss(float[] p, float[] r) {
        return () -> {
            float[] y = new float[N];
            for (int i = 0; i < N; i++) {
                float next = p[(i + 1) % N];
                y[i] = (float) Math.tanh(p[i]) * (1 + next * next / 4);
            }
            return GradCheck.project(y, r);
        };
    }

    private static float[] gradient(float[] p, float[] r) {
        float[] g = new float[N];
        for (int i = 0; i < N; i++) {
            double t = Math.tanh(p[i]);
            double next = p[(i + 1) % N];
            double previous = p[(i + N - 1) % N];
            g[i] = (float)
                    (r[i] * (1 - t * t) * (1 + next * next / 4) + r[(i + N - 1) % N] * Math.tanh(previous) * p[i] / 2);
        }
        return g;
    }

    @Test
    void aRightGradientPassesAndOneOnePercentOffFails() {
        SplittableRandom random = new SplittableRandom(21);
        float[] p = GradCheck.gaussian(N, 1, random);
        float[] r = GradCheck.gaussian(N, 1, random);
        float[] g = gradient(p, r);
        GradCheck.Result result = GradCheck.check("p", p, g, loss(p, r), 1e-2, N, 1);
        assertThat(result.checked()).isEqualTo(N);

        for (int i = 0; i < N; i += 7) {
            float[] wrong = g.clone();
            wrong[i] *= 1.01f;
            assertThatThrownBy(() -> GradCheck.check("p", p, wrong, loss(p, r), 1e-2, N, 1))
                    .isInstanceOf(AssertionError.class)
                    .hasMessageContaining("p[" + i + "]");
        }
    }

    @Test
    void theFitIsExactForPolynomialsUpToDegreeFive() {
        double[] z = new double[GradCheck.POINTS];
        for (int j = 0; j < z.length; j++) {
            z[j] = -3 + 6.0 * j / (z.length - 1) + 1e-3 * Math.sin(j); // uneven, as float32 rounding leaves them
        }
        for (int degree = 0; degree <= 5; degree++) {
            double[] y = new double[z.length];
            for (int j = 0; j < z.length; j++) {
                y[j] = Math.pow(z[j] + 0.5, degree);
            }
            GradCheck.Fit fit = GradCheck.fit(z, y, 5);
            assertThat(fit.slope()).as("degree %d", degree).isCloseTo(degree * Math.pow(0.5, degree - 1), within(1e-9));
            assertThat(fit.slopeStandardError()).as("degree %d", degree).isLessThan(1e-9);
        }
    }
}
