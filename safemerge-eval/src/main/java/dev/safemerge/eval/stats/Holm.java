package dev.safemerge.eval.stats;

import java.util.Arrays;
import java.util.Comparator;

/** Holm's step-down adjustment of p-values for multiple comparisons (controls the family-wise error rate). */
public final class Holm {
    private Holm() {}

    /** Adjusted p-values, in the order given: p_(i) ← max over j ≤ i of min(1, (m − j + 1) p_(j)). */
    public static double[] adjust(double[] pValues) {
        int m = pValues.length;
        Integer[] order = new Integer[m];
        for (int i = 0; i < m; i++) {
            order[i] = i;
        }
        Arrays.sort(order, Comparator.comparingDouble(i -> pValues[i]));
        double[] adjusted = new double[m];
        double running = 0;
        for (int rank = 0; rank < m; rank++) {
            running = Math.max(running, Math.min(1.0, (m - rank) * pValues[order[rank]]));
            adjusted[order[rank]] = running;
        }
        return adjusted;
    }
}
