package dev.safemerge.safeguard;

import dev.safemerge.tensor.BadInputException;
import java.util.Locale;

/** How the variant to ship is chosen from the evaluated ones. */
public sealed interface SelectionRule {
    /** The study's rule: the best task score on a seeded validation split of each task set, reported on the rest. */
    record Validation() implements SelectionRule {
        @Override
        public String text() {
            return "validation";
        }
    }

    /** The best task score among variants whose ASR is at most the base's plus {@code delta}. */
    record SafetyBound(double delta) implements SelectionRule {
        public SafetyBound {
            if (!(delta >= 0 && delta <= 1)) {
                throw new BadInputException("--select safety-bound:" + delta + ": δ must be in [0, 1]");
            }
        }

        @Override
        public String text() {
            return "safety-bound:" + String.format(Locale.ROOT, "%s", delta);
        }
    }

    /**
     * The Pareto front of (task score ↑, ASR ↓); from the front, the variant with the largest task score − ASR (both
     * rates weighted equally), ties going to the lower ASR, then the smaller λ.
     */
    record Pareto() implements SelectionRule {
        @Override
        public String text() {
            return "pareto";
        }
    }

    /** The rule as written on the command line and in plan.yml. */
    String text();

    static SelectionRule parse(String text) {
        if (text.equals("validation")) {
            return new Validation();
        }
        if (text.equals("pareto")) {
            return new Pareto();
        }
        if (text.startsWith("safety-bound:")) {
            String delta = text.substring("safety-bound:".length());
            try {
                return new SafetyBound(Double.parseDouble(delta));
            } catch (NumberFormatException e) {
                throw new BadInputException("--select " + text + ": δ is not a number");
            }
        }
        throw new BadInputException("--select " + text + ": unknown rule; one of validation, safety-bound:δ, pareto");
    }
}
