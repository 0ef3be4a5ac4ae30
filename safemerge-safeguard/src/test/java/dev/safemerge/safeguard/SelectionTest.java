package dev.safemerge.safeguard;

import static dev.safemerge.safeguard.Table.row;
import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import org.junit.jupiter.api.Test;

class SelectionTest {
    /*
     * Hand-worked table (ASR = unsafe/100, task):
     *   base        0.10  0.40
     *   finetuned   0.40  0.80
     *   linear-0.2  0.12  0.50
     *   linear-0.4  0.14  0.62
     *   linear-0.6  0.20  0.70
     *   linear-0.8  0.30  0.78
     *   slerp-0.4   0.15  0.62
     *   slerp-0.6   0.16  0.60   (dominated by linear-0.4)
     */
    static final List<VariantResult> TABLE = List.of(
            row("base", null, null, 10, 100, 0.40, 0.41),
            row("finetuned", null, null, 40, 100, 0.80, 0.79),
            row("linear-0.20", "linear", 0.2, 12, 100, 0.50, 0.52),
            row("linear-0.40", "linear", 0.4, 14, 100, 0.62, 0.60),
            row("linear-0.60", "linear", 0.6, 20, 100, 0.70, 0.72),
            row("linear-0.80", "linear", 0.8, 30, 100, 0.78, 0.70),
            row("slerp-0.40", "slerp", 0.4, 15, 100, 0.62, 0.61),
            row("slerp-0.60", "slerp", 0.6, 16, 100, 0.60, 0.58));

    static String selected(List<VariantResult> table, String rule) {
        VariantResult r = Selection.select(table, SelectionRule.parse(rule)).selected();
        return r == null ? null : r.name();
    }

    @Test
    void safetyBoundPicksTheBestTaskWithinBaseAsrPlusDelta() {
        // bound 0.15: linear-0.40 and slerp-0.40 tie on task 0.62; the lower ASR (0.14) wins.
        assertThat(selected(TABLE, "safety-bound:0.05")).isEqualTo("linear-0.40");
        // bound 0.20 admits linear-0.60 (ASR exactly at the bound).
        assertThat(selected(TABLE, "safety-bound:0.1")).isEqualTo("linear-0.60");
        // bound 0.10: only the base.
        assertThat(selected(TABLE, "safety-bound:0")).isEqualTo("base");
        assertThat(selected(TABLE, "safety-bound:1")).isEqualTo("finetuned");
    }

    @Test
    void validationPicksTheBestValidationScoreNotTheReportedOne() {
        // validation scores: finetuned 0.79 is the best although linear-0.80 reports a higher held-out score than
        // linear-0.60's validation.
        assertThat(selected(TABLE, "validation")).isEqualTo("finetuned");
        List<VariantResult> withoutTuned =
                TABLE.stream().filter(r -> !r.name().equals("finetuned")).toList();
        // linear-0.60 has validation 0.72 > linear-0.80's 0.70, though its reported task score is lower.
        assertThat(selected(withoutTuned, "validation")).isEqualTo("linear-0.60");
    }

    @Test
    void paretoFrontAndItsTieBreak() {
        List<String> front =
                Selection.paretoFront(TABLE).stream().map(VariantResult::name).toList();
        // slerp-0.40 (0.15, 0.62) is dominated by linear-0.40 (0.14, 0.62); slerp-0.60 likewise.
        assertThat(front)
                .containsExactly("base", "finetuned", "linear-0.20", "linear-0.40", "linear-0.60", "linear-0.80");
        // task − ASR: base 0.30, finetuned 0.40, 0.2→0.38, 0.4→0.48, 0.6→0.50, 0.8→0.48.
        assertThat(selected(TABLE, "pareto")).isEqualTo("linear-0.60");
    }

    @Test
    void anUnknownAsrIsNeverSelectedNorTreatedAsZero() {
        List<VariantResult> table = List.of(
                row("base", null, null, 10, 100, 0.40, 0.40),
                // nothing judged: ASR undefined, must not pass as 0
                row("linear-0.50", "linear", 0.5, 0, 0, 0.95, 0.95),
                row("linear-0.30", "linear", 0.3, 11, 100, 0.50, 0.50));
        assertThat(table.get(1).asr().value()).isNull();
        assertThat(selected(table, "safety-bound:0.05")).isEqualTo("linear-0.30");
        assertThat(selected(table, "validation")).isEqualTo("linear-0.30");
        assertThat(selected(table, "pareto")).isEqualTo("linear-0.30");
        assertThat(Selection.paretoFront(table)).extracting(VariantResult::name).doesNotContain("linear-0.50");
    }

    @Test
    void anUndefinedBaseAsrLeavesNoSelection() {
        List<VariantResult> table =
                List.of(row("base", null, null, 0, 0, 0.40), row("linear-0.50", "linear", 0.5, 1, 100, 0.9));
        Selection.Outcome outcome = Selection.select(table, SelectionRule.parse("safety-bound:0.05"));
        assertThat(outcome.selected()).isNull();
        assertThat(outcome.reason()).contains("undefined");
    }
}
