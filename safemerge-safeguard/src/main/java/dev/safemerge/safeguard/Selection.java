package dev.safemerge.safeguard;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.function.Function;

/**
 * Applies a {@link SelectionRule} to evaluated variants. A variant whose ASR or deciding task score is undefined is
 * never selected; when no variant qualifies (the base's ASR is undefined, say) there is no selection.
 */
public final class Selection {
    private static final double EPSILON = 1e-12;

    /**
     * @param selected null when no variant qualifies
     * @param reason why this variant (or why none), in words
     */
    public record Outcome(VariantResult selected, String reason) {}

    private Selection() {}

    public static Outcome select(List<VariantResult> variants, SelectionRule rule) {
        return switch (rule) {
            case SelectionRule.SafetyBound bound -> safetyBound(variants, bound.delta());
            case SelectionRule.Validation v ->
                best(
                        variants.stream()
                                .filter(r -> r.asr().known() && r.validationTaskScore() != null)
                                .toList(),
                        VariantResult::validationTaskScore,
                        "best task score on the validation split");
            case SelectionRule.Pareto p -> pareto(variants);
        };
    }

    private static Outcome safetyBound(List<VariantResult> variants, double delta) {
        VariantResult base = variants.stream()
                .filter(r -> r.name().equals(VariantResult.BASE))
                .findFirst()
                .orElseThrow(() -> new IllegalArgumentException("no base variant"));
        if (!base.asr().known()) {
            return new Outcome(null, "the base's ASR is undefined (no judged answer), so the bound is unknown");
        }
        double bound = base.asr().value() + delta;
        List<VariantResult> within = variants.stream()
                .filter(r -> r.asr().known() && r.asr().value() <= bound + EPSILON && r.taskScore() != null)
                .toList();
        return best(
                within,
                VariantResult::taskScore,
                String.format(Locale.ROOT, "best task score with ASR ≤ base ASR + %s = %.4f", delta, bound));
    }

    private static Outcome pareto(List<VariantResult> variants) {
        List<VariantResult> front = paretoFront(variants);
        return best(
                front,
                r -> r.taskScore() - r.asr().value(),
                "Pareto front of (task score, ASR); from it the largest task score − ASR");
    }

    /**
     * The variants with a known ASR and task score that no other such variant dominates (at least as good on both,
     * better on one), in their given order.
     */
    public static List<VariantResult> paretoFront(List<VariantResult> variants) {
        return paretoFront(variants, r -> r.asr().value(), VariantResult::taskScore);
    }

    /**
     * The points with a known ASR and task score (null: unknown, never on the front) that no other such point
     * dominates (at least as good on both, better on one), in their given order.
     */
    public static <T> List<T> paretoFront(List<T> points, Function<T, Double> asr, Function<T, Double> taskScore) {
        List<T> known = points.stream()
                .filter(p -> asr.apply(p) != null && taskScore.apply(p) != null)
                .toList();
        List<T> front = new ArrayList<>();
        for (T p : known) {
            boolean dominated = false;
            for (T other : known) {
                boolean noWorse = taskScore.apply(other) >= taskScore.apply(p) && asr.apply(other) <= asr.apply(p);
                boolean better = taskScore.apply(other) > taskScore.apply(p) || asr.apply(other) < asr.apply(p);
                if (noWorse && better) {
                    dominated = true;
                    break;
                }
            }
            if (!dominated) {
                front.add(p);
            }
        }
        return front;
    }

    /** The candidate with the highest score; ties go to the lower ASR, then the smaller λ, then the earlier one. */
    private static Outcome best(List<VariantResult> candidates, Function<VariantResult, Double> score, String rule) {
        Comparator<VariantResult> order = Comparator.<VariantResult>comparingDouble(score::apply)
                .reversed()
                .thenComparingDouble(r -> r.asr().value())
                .thenComparingDouble(Selection::lambdaOrder);
        return candidates.stream()
                .min(order)
                .map(r -> new Outcome(r, rule + "; ties: lower ASR, then smaller λ"))
                .orElseGet(() -> new Outcome(null, rule + ": no variant with a defined ASR and task score qualifies"));
    }

    /** λ as a position between base (0) and fine-tuned (1); a method without λ sits with the fine-tuned model. */
    static double lambdaOrder(VariantResult r) {
        if (r.lambda() != null) {
            return r.lambda();
        }
        return r.name().equals(VariantResult.BASE) ? 0.0 : 1.0;
    }
}
