package dev.safemerge.eval.stats;

/**
 * Cochran's Q test that k paired binary treatments have the same success probability: Q = (k − 1)(k Σ C_j² − N²) /
 * (k N − Σ R_i²) over the column totals C_j, row totals R_i and grand total N, referred to χ² with k − 1 degrees of
 * freedom. Rows where every treatment agrees carry no information and cancel out of the formula.
 */
public final class CochranQ {
    /** The statistic and its p-value; both NaN when no row is discordant (no evidence either way). */
    public record Result(double q, int degreesOfFreedom, double pValue) {}

    private CochranQ() {}

    /** {@code outcomes[row][treatment]}: 1 success, 0 failure. */
    public static Result test(int[][] outcomes) {
        int k = outcomes[0].length;
        if (k < 2) {
            throw new IllegalArgumentException("Cochran's Q needs at least two treatments");
        }
        long[] columns = new long[k];
        long total = 0;
        long rowSquares = 0;
        for (int[] row : outcomes) {
            if (row.length != k) {
                throw new IllegalArgumentException("rows of different lengths");
            }
            long rowSum = 0;
            for (int j = 0; j < k; j++) {
                columns[j] += row[j];
                rowSum += row[j];
            }
            total += rowSum;
            rowSquares += rowSum * rowSum;
        }
        long columnSquares = 0;
        for (long column : columns) {
            columnSquares += column * column;
        }
        double denominator = (double) k * total - rowSquares;
        if (denominator == 0) {
            return new Result(Double.NaN, k - 1, Double.NaN);
        }
        double q = (k - 1) * ((double) k * columnSquares - (double) total * total) / denominator;
        return new Result(q, k - 1, ChiSquared.survival(q, k - 1));
    }
}
