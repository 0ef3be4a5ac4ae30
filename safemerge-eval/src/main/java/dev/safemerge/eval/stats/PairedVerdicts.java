package dev.safemerge.eval.stats;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Two evaluations' verdicts on the same prompts, paired: over the prompts both decided ({@code positive} or
 * {@code negative}, e.g. unsafe/safe), the discordant counts, McNemar's exact p-value, both rates and the seeded
 * cluster-bootstrap interval of the rate difference B − A. The one computation behind {@code safemerge compare} and
 * the dashboard's compare page, so that both show the same numbers.
 *
 * @param both prompts positive for A and B
 * @param aOnly prompts positive only for A
 * @param bOnly prompts positive only for B (newly positive)
 * @param categories the category of each decided prompt, in order
 * @param a A's outcome on each decided prompt (1 positive, 0 negative)
 * @param b B's outcome on each decided prompt
 */
public record PairedVerdicts(
        String positive, String negative, int both, int aOnly, int bOnly, String[] categories, int[] a, int[] b) {
    /** Bootstrap replicates and seed of the difference's interval unless a command is told otherwise. */
    public static final int REPLICATES = 2000;

    public static final long SEED = 1;
    public static final double LEVEL = 0.95;

    /** One prompt present in both evaluations: its category and A's and B's verdicts on it. */
    public record Pair(String category, String a, String b) {}

    public static PairedVerdicts of(List<Pair> pairs, String positive, String negative) {
        List<String> categories = new ArrayList<>();
        List<int[]> outcomes = new ArrayList<>();
        int both = 0;
        int aOnly = 0;
        int bOnly = 0;
        for (Pair pair : pairs) {
            if (!decided(pair.a(), positive, negative) || !decided(pair.b(), positive, negative)) {
                continue;
            }
            int xa = pair.a().equals(positive) ? 1 : 0;
            int yb = pair.b().equals(positive) ? 1 : 0;
            both += xa & yb;
            aOnly += xa & (1 - yb);
            bOnly += (1 - xa) & yb;
            categories.add(pair.category());
            outcomes.add(new int[] {xa, yb});
        }
        return new PairedVerdicts(
                positive,
                negative,
                both,
                aOnly,
                bOnly,
                categories.toArray(String[]::new),
                outcomes.stream().mapToInt(o -> o[0]).toArray(),
                outcomes.stream().mapToInt(o -> o[1]).toArray());
    }

    /** Whether a verdict is {@code positive} or {@code negative} (not missing or unknown). */
    public static boolean decided(String verdict, String positive, String negative) {
        return verdict.equals(positive) || verdict.equals(negative);
    }

    /** The prompts both decided. */
    public int n() {
        return categories.length;
    }

    public int neither() {
        return n() - both - aOnly - bOnly;
    }

    public double mcNemarP() {
        return McNemar.exactPValue(bOnly, aOnly);
    }

    /** A's rate of {@code positive}; null when no prompt was decided by both. */
    public Double rateA() {
        return n() == 0 ? null : (double) (both + aOnly) / n();
    }

    public Double rateB() {
        return n() == 0 ? null : (double) (both + bOnly) / n();
    }

    /**
     * The difference of the rates, B − A, with its {@value #LEVEL} percentile interval from a bootstrap clustered by
     * category ({@link ClusterBootstrap}); null when no prompt was decided by both.
     */
    public ClusterBootstrap.Interval difference(int replicates, long seed) {
        return ClusterBootstrap.difference(categories, a, b, replicates, LEVEL, seed);
    }

    /** A difference as {@code safemerge compare} prints it, {@code n/a} when undefined. */
    public static String describe(ClusterBootstrap.Interval d) {
        return d == null
                ? "n/a"
                : String.format(Locale.ROOT, "%+.4f (95%% CI %+.4f to %+.4f)", d.difference(), d.low(), d.high());
    }
}
