package dev.safemerge.eval.stats;

/**
 * The χ² survival function P(X ≥ x) = Q(df/2, x/2), the regularized upper incomplete gamma function, by its series
 * (x < s + 1) or continued fraction (Lentz), each run to a relative change below 1e-15.
 */
public final class ChiSquared {
    private static final int MAX_ITERATIONS = 10_000;
    private static final double EPSILON = 1e-15;
    private static final double TINY = 1e-300;

    private ChiSquared() {}

    public static double survival(double x, int degreesOfFreedom) {
        if (degreesOfFreedom < 1) {
            throw new IllegalArgumentException("degrees of freedom " + degreesOfFreedom);
        }
        if (x <= 0) {
            return 1.0;
        }
        double s = degreesOfFreedom / 2.0;
        double half = x / 2.0;
        return half < s + 1 ? 1.0 - lowerSeries(s, half) : upperContinuedFraction(s, half);
    }

    private static double lowerSeries(double s, double x) {
        double term = 1.0 / s;
        double sum = term;
        for (int n = 1; n < MAX_ITERATIONS; n++) {
            term *= x / (s + n);
            sum += term;
            if (Math.abs(term) < Math.abs(sum) * EPSILON) {
                break;
            }
        }
        return sum * Math.exp(-x + s * Math.log(x) - logGamma(s));
    }

    private static double upperContinuedFraction(double s, double x) {
        double b = x + 1 - s;
        double c = 1 / TINY;
        double d = 1 / b;
        double h = d;
        for (int i = 1; i < MAX_ITERATIONS; i++) {
            double an = -i * (i - s);
            b += 2;
            d = an * d + b;
            d = Math.abs(d) < TINY ? TINY : d;
            c = b + an / c;
            c = Math.abs(c) < TINY ? TINY : c;
            d = 1 / d;
            double delta = d * c;
            h *= delta;
            if (Math.abs(delta - 1) < EPSILON) {
                break;
            }
        }
        return Math.exp(-x + s * Math.log(x) - logGamma(s)) * h;
    }

    /** log Γ(s) for s = df/2: exact sums of logs for the integer and half-integer arguments χ² needs. */
    static double logGamma(double s) {
        double twice = 2 * s;
        if (twice != Math.rint(twice) || s <= 0) {
            throw new IllegalArgumentException("logGamma is only needed at positive multiples of 1/2: " + s);
        }
        double value = 0;
        double t = s;
        while (t > 1.0) {
            t -= 1.0;
            value += Math.log(t);
        }
        // Γ(1) = 1, Γ(1/2) = √π
        return t == 0.5 ? value + 0.5 * Math.log(Math.PI) : value;
    }
}
