package dev.safemerge.eval.stats;

/**
 * The mean of paired differences B − A with a normal 95% interval from their sample standard deviation, and the
 * non-inferiority decision at a margin δ: B is non-inferior when the interval's lower bound is above −δ.
 */
public final class PairedDifference {
    /** The mean difference and its interval; null fields when there are fewer than two pairs. */
    public record Result(int n, Double mean, Double low, Double high) {
        /** True/false when decided; null when the interval is undefined. */
        public Boolean nonInferior(double margin) {
            return low == null ? null : low > -margin;
        }
    }

    private PairedDifference() {}

    public static Result of(double[] a, double[] b) {
        int n = a.length;
        if (n < 2) {
            return new Result(n, n == 1 ? b[0] - a[0] : null, null, null);
        }
        double mean = 0;
        for (int i = 0; i < n; i++) {
            mean += b[i] - a[i];
        }
        mean /= n;
        double squares = 0;
        for (int i = 0; i < n; i++) {
            double d = b[i] - a[i] - mean;
            squares += d * d;
        }
        double half = Wilson.Z95 * Math.sqrt(squares / (n - 1) / n);
        return new Result(n, mean, mean - half, mean + half);
    }
}
