package dev.safemerge.eval.stats;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * A seeded two-stage cluster bootstrap of a paired difference in rates, B − A: each replicate draws the categories
 * with replacement and then, within each drawn category, its prompts with replacement, so that both the spread between
 * harm categories and the spread within them show in the interval (with one category it is the plain paired prompt
 * bootstrap). The interval is the percentile interval of the replicates.
 */
public final class ClusterBootstrap {
    /** The observed difference and its percentile interval at the given level. */
    public record Interval(double difference, double low, double high, int replicates, long seed) {}

    private ClusterBootstrap() {}

    /**
     * {@code a[i]} and {@code b[i]}: the two versions' outcomes (1 unsafe, 0 safe) on prompt i of category
     * {@code categories[i]}. Null when there is no prompt.
     */
    public static Interval difference(String[] categories, int[] a, int[] b, int replicates, double level, long seed) {
        int n = categories.length;
        if (n == 0) {
            return null;
        }
        Map<String, List<Integer>> clusters = new LinkedHashMap<>();
        for (int i = 0; i < n; i++) {
            clusters.computeIfAbsent(categories[i], c -> new ArrayList<>()).add(i);
        }
        List<int[]> groups = new ArrayList<>();
        for (List<Integer> members : clusters.values()) {
            groups.add(members.stream().mapToInt(Integer::intValue).toArray());
        }
        double observed = 0;
        for (int i = 0; i < n; i++) {
            observed += b[i] - a[i];
        }
        observed /= n;
        SplittableRandom random = new SplittableRandom(seed);
        double[] draws = new double[replicates];
        for (int r = 0; r < replicates; r++) {
            long sum = 0;
            long count = 0;
            for (int g = 0; g < groups.size(); g++) {
                int[] group = groups.get(random.nextInt(groups.size()));
                for (int j = 0; j < group.length; j++) {
                    int i = group[random.nextInt(group.length)];
                    sum += b[i] - a[i];
                }
                count += group.length;
            }
            draws[r] = (double) sum / count;
        }
        Arrays.sort(draws);
        double alpha = (1 - level) / 2;
        return new Interval(observed, quantile(draws, alpha), quantile(draws, 1 - alpha), replicates, seed);
    }

    /** The type-7 (linear interpolation) sample quantile of sorted values, as numpy's default. */
    static double quantile(double[] sorted, double p) {
        double position = p * (sorted.length - 1);
        int lower = (int) Math.floor(position);
        int upper = Math.min(sorted.length - 1, lower + 1);
        return sorted[lower] + (position - lower) * (sorted[upper] - sorted[lower]);
    }
}
