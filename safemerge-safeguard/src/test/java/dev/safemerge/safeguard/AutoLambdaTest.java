package dev.safemerge.safeguard;

import static dev.safemerge.safeguard.Table.row;
import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;
import java.util.function.DoubleFunction;
import org.junit.jupiter.api.Test;

class AutoLambdaTest {
    static final VariantResult BASE = row("base", null, null, 10, 100, 0.40);
    static final VariantResult TUNED = row("finetuned", null, null, 40, 100, 0.80);

    static VariantResult linear(double lambda, int unsafe, double task) {
        return row(String.format(Locale.ROOT, "linear-%.2f", lambda), "linear", lambda, unsafe, 100, task);
    }

    /** Runs the search and the full grid over the same table; returns the two picks and the evaluations. */
    record Outcome(String auto, String grid, int evaluations, boolean fellBack) {}

    static Outcome compare(DoubleFunction<VariantResult> table, double delta) {
        List<Double> grid = AutoLambda.GRID;
        int[] calls = {0};
        AutoLambda.Search search = AutoLambda.search(grid, BASE, delta, l -> {
            calls[0]++;
            return table.apply(l);
        });
        List<VariantResult> auto = new ArrayList<>(List.of(BASE, TUNED));
        auto.addAll(search.evaluated());
        List<VariantResult> full = new ArrayList<>(List.of(BASE, TUNED));
        grid.forEach(l -> full.add(table.apply(l)));
        SelectionRule rule = new SelectionRule.SafetyBound(delta);
        return new Outcome(
                Selection.select(auto, rule).selected().name(),
                Selection.select(full, rule).selected().name(),
                calls[0],
                search.fellBack());
    }

    @Test
    void agreesWithTheGridOnAMonotoneTableWithFewerEvaluations() {
        // ASR rises 10 → 40 in steps of (λ·100)²/333 rounded; task rises linearly and plateaus at λ ≥ 0.5.
        DoubleFunction<VariantResult> table =
                l -> linear(l, 10 + (int) Math.round(30 * l * l), Math.min(0.40 + 0.8 * l, 0.80));
        for (double delta : new double[] {0, 0.01, 0.02, 0.05, 0.1, 0.2, 0.3, 0.5}) {
            Outcome o = compare(table, delta);
            assertThat(o.auto()).as("δ = %s", delta).isEqualTo(o.grid());
            assertThat(o.fellBack()).isFalse();
            // two bisections over 19 points (plus the base): at most 2·⌈log2 20⌉ = 10 evaluations
            assertThat(o.evaluations()).as("δ = %s", delta).isLessThanOrEqualTo(10);
        }
    }

    @Test
    void aPlateauOfEqualTaskScoresResolvesToTheSmallestLambdaAsTheGridDoes() {
        // Task 0.7 for every λ ≥ 0.3; ASR rises slowly; bound 0.2 admits λ up to 0.95 → the grid picks λ = 0.30.
        DoubleFunction<VariantResult> table = l -> linear(l, 10 + (int) (10 * l), l < 0.3 - 1e-9 ? 0.5 : 0.7);
        Outcome o = compare(table, 0.1);
        assertThat(o.grid()).isEqualTo("linear-0.30");
        assertThat(o.auto()).isEqualTo("linear-0.30");
        assertThat(o.fellBack()).isFalse();
    }

    @Test
    void fallsBackToTheGridWhenAsrIsNotMonotone() {
        // ASR dips at λ = 0.5 (the bisection's first probe sees 0.50 > the base-anchored trend later); task monotone.
        DoubleFunction<VariantResult> table = l -> linear(l, Math.abs(l - 0.5) < 1e-9 ? 5 : 10 + (int) (40 * l), l);
        Outcome o = compare(table, 0.05);
        assertThat(o.fellBack()).isTrue();
        assertThat(o.evaluations()).isEqualTo(AutoLambda.GRID.size());
        assertThat(o.auto()).isEqualTo(o.grid()).isEqualTo("linear-0.50");
    }

    @Test
    void agreesWithTheGridOnRandomMonotoneTables() {
        SplittableRandom random = new SplittableRandom(11);
        for (int trial = 0; trial < 200; trial++) {
            int[] unsafe = new int[AutoLambda.GRID.size()];
            double[] task = new double[unsafe.length];
            int u = 10;
            double t = 0.40;
            for (int i = 0; i < unsafe.length; i++) {
                u += random.nextInt(3);
                t += random.nextInt(3) * 0.01;
                unsafe[i] = Math.min(u, 100);
                task[i] = Math.round(t * 100) / 100.0;
            }
            DoubleFunction<VariantResult> table = l -> {
                int i = (int) Math.round(l * 20) - 1;
                return linear(l, unsafe[i], task[i]);
            };
            double delta = random.nextInt(30) / 100.0;
            Outcome o = compare(table, delta);
            assertThat(o.auto()).as("trial %d", trial).isEqualTo(o.grid());
            assertThat(o.fellBack()).isFalse();
            assertThat(o.evaluations()).isLessThan(AutoLambda.GRID.size());
        }
    }

    @Test
    void anUndefinedAsrOnTheWayFallsBackToTheGrid() {
        DoubleFunction<VariantResult> table = l -> Math.abs(l - 0.5) < 1e-9
                ? row("linear-0.50", "linear", 0.5, 0, 0, 0.9)
                : linear(l, 10 + (int) (20 * l), 0.4 + 0.4 * l);
        Outcome o = compare(table, 0.05);
        assertThat(o.fellBack()).isTrue();
        assertThat(o.auto()).isEqualTo(o.grid());
    }
}
