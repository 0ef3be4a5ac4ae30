package dev.safemerge.eval.stats;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import java.math.BigDecimal;
import java.math.BigInteger;
import java.math.MathContext;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * McNemar's exact test, Cochran's Q, Holm and the cluster bootstrap against scipy (src/test/python/
 * paired_tests_golden.py and its committed output), an exact rational computation, and identities.
 */
class PairedTestsTest {
    /** {b, c, scipy.stats.binomtest(b, b + c, 0.5).pvalue}. */
    private static final double[][] MCNEMAR_SCIPY = {
        {0, 0, 1.0},
        {1, 0, 1.0},
        {5, 0, 0.0625},
        {3, 7, 0.34375},
        {10, 2, 0.03857421875},
        {12, 12, 1.0},
        {40, 25, 0.08168153394154003},
        {100, 130, 0.05561357778139238},
        {6, 1, 0.125},
        {0, 9, 0.00390625},
    };

    @Test
    void mcnemarMatchesScipy() {
        for (double[] row : MCNEMAR_SCIPY) {
            // the log-space sum loses at most a few ulps per term over at most 231 terms
            assertThat(McNemar.exactPValue((long) row[0], (long) row[1]))
                    .as("b=%s c=%s", row[0], row[1])
                    .isCloseTo(row[2], within(1e-12));
        }
    }

    @Test
    void mcnemarMatchesAnExactRationalComputation() {
        Random random = new Random(20261202L);
        for (int trial = 0; trial < 200; trial++) {
            int b = random.nextInt(300);
            int c = random.nextInt(300);
            int n = b + c;
            BigInteger tail = BigInteger.ZERO;
            BigInteger choose = BigInteger.ONE;
            for (int i = 0; i <= Math.min(b, c); i++) {
                if (i > 0) {
                    choose = choose.multiply(BigInteger.valueOf(n - i + 1)).divide(BigInteger.valueOf(i));
                }
                tail = tail.add(choose);
            }
            double exact = n == 0
                    ? 1.0
                    : Math.min(
                            1.0,
                            new BigDecimal(tail.shiftLeft(1))
                                    .divide(new BigDecimal(BigInteger.ONE.shiftLeft(n)), MathContext.DECIMAL128)
                                    .doubleValue());
            double p = McNemar.exactPValue(b, c);
            // relative error of the log-space sum: ~n·1e-16 per term accumulated over ≤ 300 terms
            assertThat(p).as("b=%d c=%d", b, c).isCloseTo(exact, within(Math.max(1e-300, exact * 1e-10)));
        }
    }

    @Test
    void cochranQMatchesScipy() {
        int[][] three = {
            {1, 1, 0}, {1, 0, 0}, {0, 0, 0}, {1, 1, 1}, {1, 0, 0}, {1, 1, 0}, {0, 1, 0}, {1, 0, 0}, {1, 0, 1}, {1, 1, 0}
        };
        CochranQ.Result result = CochranQ.test(three);
        assertThat(result.q()).isCloseTo(6.75, within(1e-12));
        assertThat(result.degreesOfFreedom()).isEqualTo(2);
        assertThat(result.pValue()).isCloseTo(0.034218118311666025, within(1e-13));
        int[][] four = {
            {1, 0, 0, 1},
            {1, 1, 0, 1},
            {0, 0, 0, 1},
            {1, 0, 1, 1},
            {1, 1, 0, 0},
            {1, 0, 0, 1},
            {0, 0, 0, 0},
            {1, 1, 1, 1}
        };
        CochranQ.Result result4 = CochranQ.test(four);
        assertThat(result4.q()).isCloseTo(7.285714285714286, within(1e-12));
        assertThat(result4.pValue()).isCloseTo(0.06332769224771805, within(1e-13));
    }

    @Test
    void cochranQOfTwoTreatmentsIsMcNemarsChiSquare() {
        // with k = 2, Q = (b − c)² / (b + c), the uncorrected McNemar statistic
        int[][] rows = new int[30][];
        int b = 0;
        int c = 0;
        Random random = new Random(7);
        for (int i = 0; i < rows.length; i++) {
            rows[i] = new int[] {random.nextInt(2), random.nextInt(2)};
            b += rows[i][0] == 1 && rows[i][1] == 0 ? 1 : 0;
            c += rows[i][0] == 0 && rows[i][1] == 1 ? 1 : 0;
        }
        assertThat(CochranQ.test(rows).q()).isCloseTo((double) (b - c) * (b - c) / (b + c), within(1e-12));
        assertThat(CochranQ.test(new int[][] {{1, 1}, {0, 0}}).pValue()).isNaN();
    }

    @Test
    void chiSquaredSurvivalHasItsClosedFormAtTwoDegrees() {
        for (double x : new double[] {0.01, 0.5, 1, 2.5, 7, 20, 60}) {
            assertThat(ChiSquared.survival(x, 2)).isCloseTo(Math.exp(-x / 2), within(1e-14));
        }
        // df = 4: (1 + x/2) e^{−x/2}
        for (double x : new double[] {0.3, 3, 9, 30}) {
            assertThat(ChiSquared.survival(x, 4)).isCloseTo((1 + x / 2) * Math.exp(-x / 2), within(1e-14));
        }
    }

    @Test
    void holmAdjustsStepDown() {
        // worked by hand: sorted 0.01, 0.02, 0.04 → 3·0.01 = 0.03, max(0.03, 2·0.02) = 0.04, max(0.04, 1·0.04) = 0.04
        assertThat(Holm.adjust(new double[] {0.04, 0.01, 0.02})).containsExactly(0.04, 0.03, 0.04);
        assertThat(Holm.adjust(new double[] {0.5, 0.9})).containsExactly(1.0, 1.0);
    }

    @Test
    void clusterBootstrapIsSeededAndExactWhenEveryPairDiffersAlike() {
        String[] categories = {"x", "x", "y", "y", "z"};
        int[] a = {0, 0, 0, 0, 0};
        int[] b = {1, 1, 1, 1, 1};
        ClusterBootstrap.Interval all = ClusterBootstrap.difference(categories, a, b, 500, 0.95, 1);
        assertThat(all.difference()).isEqualTo(1.0);
        assertThat(all.low()).isEqualTo(1.0);
        assertThat(all.high()).isEqualTo(1.0);
        int[] mixed = {1, 0, 1, 0, 0};
        ClusterBootstrap.Interval first = ClusterBootstrap.difference(categories, a, mixed, 2000, 0.95, 42);
        ClusterBootstrap.Interval again = ClusterBootstrap.difference(categories, a, mixed, 2000, 0.95, 42);
        assertThat(again).isEqualTo(first);
        assertThat(first.difference()).isEqualTo(0.4);
        assertThat(first.low()).isLessThanOrEqualTo(0.4).isGreaterThanOrEqualTo(0.0);
        assertThat(first.high()).isGreaterThanOrEqualTo(0.4).isLessThanOrEqualTo(1.0);
        assertThat(ClusterBootstrap.quantile(new double[] {1, 2, 3, 4}, 0.5)).isEqualTo(2.5);
    }

    @Test
    void pairedDifferenceDecidesNonInferiority() {
        double[] a = {1, 1, 0, 1, 0, 1, 1, 0};
        double[] b = {1, 1, 0, 1, 0, 1, 1, 0};
        PairedDifference.Result same = PairedDifference.of(a, b);
        assertThat(same.mean()).isEqualTo(0.0);
        assertThat(same.nonInferior(0.02)).isTrue();
        double[] worse = {0, 0, 0, 0, 0, 0, 0, 0};
        assertThat(PairedDifference.of(a, worse).nonInferior(0.1)).isFalse();
        assertThat(PairedDifference.of(new double[0], new double[0]).nonInferior(0.1))
                .isNull();
    }
}
