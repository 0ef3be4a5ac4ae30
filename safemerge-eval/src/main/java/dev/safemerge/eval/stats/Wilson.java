package dev.safemerge.eval.stats;

/** The Wilson score interval for a binomial proportion. */
public final class Wilson {
    /** The two-sided 95% normal quantile. */
    public static final double Z95 = 1.959963984540054;

    /** An interval [low, high]; both NaN when there were no trials. */
    public record Interval(double low, double high) {}

    private Wilson() {}

    public static Interval interval(long successes, long trials, double z) {
        if (successes < 0 || successes > trials) {
            throw new IllegalArgumentException(successes + " successes out of " + trials);
        }
        if (trials == 0) {
            return new Interval(Double.NaN, Double.NaN);
        }
        double n = trials;
        double p = successes / n;
        double z2 = z * z;
        double center = (p + z2 / (2 * n)) / (1 + z2 / n);
        double half = z / (1 + z2 / n) * Math.sqrt(p * (1 - p) / n + z2 / (4 * n * n));
        return new Interval(Math.max(0, center - half), Math.min(1, center + half));
    }
}
