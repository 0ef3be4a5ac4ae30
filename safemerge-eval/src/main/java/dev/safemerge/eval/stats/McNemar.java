package dev.safemerge.eval.stats;

/**
 * McNemar's exact test on paired binary outcomes: under the null hypothesis each of the {@code b + c} discordant pairs
 * is equally likely to go either way, so the two-sided p-value is the binomial test of {@code b} successes in
 * {@code b + c} trials at p = 1/2 (as scipy.stats.binomtest): twice the smaller tail, at most 1.
 */
public final class McNemar {
    private McNemar() {}

    /** p-value for {@code b} pairs discordant one way and {@code c} the other; 1 when there is no discordant pair. */
    public static double exactPValue(long b, long c) {
        if (b < 0 || c < 0) {
            throw new IllegalArgumentException("negative count");
        }
        long n = b + c;
        if (n == 0) {
            return 1.0;
        }
        long k = Math.min(b, c);
        // P(X <= k) for X ~ Binomial(n, 1/2), summed in log space so that large n neither underflows nor overflows.
        double logTerm = -n * Math.log(2); // log P(X = 0)
        double tail = Math.exp(logTerm);
        for (long i = 1; i <= k; i++) {
            logTerm += Math.log((double) (n - i + 1) / i);
            tail += Math.exp(logTerm);
        }
        return Math.min(1.0, 2 * tail);
    }
}
