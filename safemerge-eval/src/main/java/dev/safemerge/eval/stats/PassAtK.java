package dev.safemerge.eval.stats;

/**
 * The unbiased pass@k estimator of Chen et al. (HumanEval): 1 − C(n−c, k) / C(n, k) for n samples of which c pass,
 * computed as 1 − ∏_{i=n−c+1}^{n} (1 − k/i) so that no factorial is ever formed.
 */
public final class PassAtK {
    private PassAtK() {}

    public static double estimate(int n, int c, int k) {
        if (n < 1 || c < 0 || c > n || k < 1 || k > n) {
            throw new IllegalArgumentException(
                    "pass@k needs 0 <= c <= n and 1 <= k <= n, got n=" + n + " c=" + c + " k=" + k);
        }
        if (n - c < k) {
            return 1.0;
        }
        double allFail = 1.0;
        for (int i = n - c + 1; i <= n; i++) {
            allFail *= 1.0 - (double) k / i;
        }
        return 1.0 - allFail;
    }
}
