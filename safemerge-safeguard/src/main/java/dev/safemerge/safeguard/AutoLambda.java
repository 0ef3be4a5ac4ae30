package dev.safemerge.safeguard;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.IntStream;

/**
 * {@code --lambdas auto}: finds, for one method, the λ the safety-bound rule would pick from a grid while evaluating
 * only a few of its points. It assumes ASR and task score both rise with λ (the study's observation): then the rule's
 * pick is the smallest λ whose task score equals that of the largest λ within the ASR bound, and two bisections find
 * both. Every evaluated point (with the base at λ = 0) is checked against that assumption; at the first violation,
 * or an undefined ASR or task score, the search evaluates the rest of the grid instead, so the answer is the grid's.
 */
public final class AutoLambda {
    /** The grid searched: 0.05, 0.10, …, 0.95. */
    public static final List<Double> GRID =
            IntStream.rangeClosed(1, 19).mapToObj(i -> i / 20.0).toList();

    /** Evaluates the method's merge at one λ. */
    @FunctionalInterface
    public interface Probe {
        VariantResult evaluate(double lambda);
    }

    /**
     * @param evaluated the grid points evaluated, by λ
     * @param fellBack true when the assumption failed and the whole grid was evaluated
     */
    public record Search(List<VariantResult> evaluated, boolean fellBack) {}

    private final List<Double> grid;
    private final VariantResult base;
    private final Probe probe;
    private final Map<Integer, VariantResult> results = new TreeMap<>();
    private boolean monotone = true;

    private AutoLambda(List<Double> grid, VariantResult base, Probe probe) {
        this.grid = List.copyOf(grid);
        this.base = base;
        this.probe = probe;
    }

    /**
     * @param grid ascending λ values in (0, 1)
     * @param base the evaluated base, with a defined ASR (the bound is relative to it)
     * @param delta the rule's margin: ASR ≤ base ASR + δ
     */
    public static Search search(List<Double> grid, VariantResult base, double delta, Probe probe) {
        for (int i = 1; i < grid.size(); i++) {
            if (!(grid.get(i) > grid.get(i - 1))) {
                throw new IllegalArgumentException("the grid must be ascending: " + grid);
            }
        }
        if (!base.asr().known()) {
            throw new IllegalArgumentException("the base's ASR is undefined");
        }
        AutoLambda auto = new AutoLambda(grid, base, probe);
        auto.bisect(base.asr().value() + delta);
        if (!auto.monotone) {
            for (int i = 0; i < grid.size(); i++) {
                auto.at(i);
            }
        }
        return new Search(new ArrayList<>(auto.results.values()), !auto.monotone);
    }

    private void bisect(double bound) {
        // Largest feasible index: the base (index −1) is feasible by definition, past the grid is not.
        int low = -1;
        int high = grid.size();
        while (high - low > 1 && monotone) {
            int mid = (low + high) >>> 1;
            VariantResult r = at(mid);
            if (!monotone) {
                return;
            }
            if (r.asr().value() <= bound + 1e-12) {
                low = mid;
            } else {
                high = mid;
            }
        }
        if (low < 0 || !monotone) {
            return;
        }
        // Smallest index with the same task score: ties go to the lower ASR, i.e. the smaller λ.
        double best = results.get(low).taskScore();
        int below = -1;
        int same = low;
        while (same - below > 1 && monotone) {
            int mid = (below + same) >>> 1;
            VariantResult r = at(mid);
            if (!monotone) {
                return;
            }
            if (r.taskScore() >= best) {
                same = mid;
            } else {
                below = mid;
            }
        }
    }

    private VariantResult at(int index) {
        VariantResult r = results.get(index);
        if (r == null) {
            r = probe.evaluate(grid.get(index));
            results.put(index, r);
            monotone &= consistent();
        }
        return r;
    }

    /** Whether ASR and task score are non-decreasing in λ over the base and every evaluated point. */
    private boolean consistent() {
        VariantResult previous = base;
        if (base.taskScore() == null) {
            return false;
        }
        for (VariantResult r : results.values()) {
            if (!r.asr().known() || r.taskScore() == null) {
                return false;
            }
            if (r.asr().value() < previous.asr().value() || r.taskScore() < previous.taskScore()) {
                return false;
            }
            previous = r;
        }
        return true;
    }
}
