package dev.safemerge.ui;

import dev.safemerge.eval.stats.PairedVerdicts;
import dev.safemerge.registry.Evaluation;
import dev.safemerge.registry.EvaluationItem;
import dev.safemerge.registry.ModelVersion;
import dev.safemerge.registry.Registry;
import dev.safemerge.registry.VersionRef;
import dev.safemerge.safeguard.Rate;
import dev.safemerge.tensor.BadInputException;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeSet;

/**
 * Compare A/B on one suite, prompt by prompt: the prompts whose verdict changed first (newly unsafe, newly refused or
 * newly failing, then the reverse), both answers with their verdicts and the judge's raw output; the discordant counts,
 * McNemar's exact p-value and the bootstrap interval of the rate difference over the prompts both judged, computed by
 * {@link PairedVerdicts} as {@code safemerge compare} computes them (its default replicates and seed); a filter by
 * category.
 */
final class CompareView {
    private CompareView() {}

    /** The verdict a measure counts (unsafe, refused, fail) and its opposite, by evaluation kind. */
    record Outcome(String positive, String negative) {
        static Outcome of(String kind) {
            return switch (kind) {
                case Views.SAFETY -> new Outcome("unsafe", "safe");
                case Views.OVER_REFUSAL -> new Outcome("refused", "answered");
                default -> new Outcome("fail", "pass");
            };
        }
    }

    record Stats(
            Outcome outcome,
            int n,
            int both,
            int aOnly,
            int bOnly,
            int neither,
            String pValue,
            Views.RateCell rateA,
            Views.RateCell rateB,
            String difference) {}

    /** One prompt with both answers; {@code change} names a discordant pair, or is empty. */
    record Pair(String id, String category, String prompt, EvaluationItem a, EvaluationItem b, String change) {}

    /**
     * @param suite the chosen {@code kind:suite}, or null before one is chosen
     * @param problem why nothing can be compared (no evaluation, not comparable), or null
     */
    record Page(
            List<String> versions,
            List<String> suites,
            String a,
            String b,
            String suite,
            String category,
            List<String> categories,
            Evaluation evaluationA,
            Evaluation evaluationB,
            Stats stats,
            List<Pair> pairs,
            String problem) {}

    static Page of(Registry r, String a, String b, String suite, String category) {
        List<String> versions = r.models().stream()
                .map(ModelVersion::ref)
                .map(VersionRef::toString)
                .toList();
        if (a == null || b == null || a.isBlank() || b.isBlank()) {
            return new Page(versions, List.of(), a, b, suite, category, List.of(), null, null, null, List.of(), null);
        }
        VersionRef refA = VersionRef.parse(a);
        VersionRef refB = VersionRef.parse(b);
        List<Evaluation> evaluationsA = r.evaluations(refA);
        List<Evaluation> evaluationsB = r.evaluations(refB);
        TreeSet<String> suites = new TreeSet<>();
        evaluationsA.stream()
                .filter(e -> e.supersededBy() == null)
                .forEach(e -> suites.add(e.kind() + ":" + e.suite()));
        List<String> suiteOptions = List.copyOf(suites);
        String chosen =
                suite != null && !suite.isBlank() ? suite : suiteOptions.isEmpty() ? null : suiteOptions.getFirst();
        if (chosen == null) {
            return problem(versions, suiteOptions, a, b, null, category, a + " has no evaluation");
        }
        int colon = chosen.indexOf(':');
        if (colon < 0) {
            throw new BadInputException("suite " + chosen + ": expected KIND:SUITE");
        }
        String kind = chosen.substring(0, colon);
        String suiteName = chosen.substring(colon + 1);
        Evaluation ea = Views.latest(evaluationsA, kind, suiteName);
        Evaluation eb = Views.latest(evaluationsB, kind, suiteName);
        if (ea == null || eb == null) {
            return problem(
                    versions,
                    suiteOptions,
                    a,
                    b,
                    chosen,
                    category,
                    (ea == null ? a : b) + " has no " + kind + " evaluation on " + suiteName);
        }
        if (!ea.comparabilityKey().equals(eb.comparabilityKey())) {
            return problem(
                    versions,
                    suiteOptions,
                    a,
                    b,
                    chosen,
                    category,
                    "evaluations #" + ea.id() + " and #" + eb.id()
                            + " are not comparable: their judge, prompts or protocol differ");
        }
        Outcome outcome = Outcome.of(kind);
        Map<String, EvaluationItem> itemsB = new LinkedHashMap<>();
        r.items(eb.id()).forEach(i -> itemsB.put(i.itemId(), i));
        List<Pair> pairs = new ArrayList<>();
        List<PairedVerdicts.Pair> both = new ArrayList<>();
        TreeSet<String> categories = new TreeSet<>();
        for (EvaluationItem x : r.items(ea.id())) {
            EvaluationItem y = itemsB.get(x.itemId());
            if (y == null) {
                continue;
            }
            categories.add(x.category());
            if (category != null && !category.isBlank() && !category.equals(x.category())) {
                continue;
            }
            both.add(new PairedVerdicts.Pair(x.category(), x.verdict(), y.verdict()));
            String change = "";
            if (PairedVerdicts.decided(x.verdict(), outcome.positive(), outcome.negative())
                    && PairedVerdicts.decided(y.verdict(), outcome.positive(), outcome.negative())) {
                boolean pa = x.verdict().equals(outcome.positive());
                boolean pb = y.verdict().equals(outcome.positive());
                if (pa != pb) {
                    change = "newly " + (pb ? outcome.positive() : outcome.negative());
                }
            }
            pairs.add(new Pair(x.itemId(), x.category(), x.prompt(), x, y, change));
        }
        String newlyPositive = "newly " + outcome.positive();
        pairs.sort(Comparator.comparingInt(
                (Pair p) -> p.change().equals(newlyPositive) ? 0 : p.change().isEmpty() ? 2 : 1));
        PairedVerdicts paired = PairedVerdicts.of(both, outcome.positive(), outcome.negative());
        int n = paired.n();
        Stats stats = new Stats(
                outcome,
                n,
                paired.both(),
                paired.aOnly(),
                paired.bOnly(),
                paired.neither(),
                String.format(Locale.ROOT, "%.4g", paired.mcNemarP()),
                Views.RateCell.of(new Rate(paired.both() + paired.aOnly(), n)),
                Views.RateCell.of(new Rate(paired.both() + paired.bOnly(), n)),
                PairedVerdicts.describe(paired.difference(PairedVerdicts.REPLICATES, PairedVerdicts.SEED)));
        return new Page(
                versions, suiteOptions, a, b, chosen, category, List.copyOf(categories), ea, eb, stats, pairs, null);
    }

    private static Page problem(
            List<String> versions, List<String> suites, String a, String b, String suite, String category, String why) {
        return new Page(versions, suites, a, b, suite, category, List.of(), null, null, null, List.of(), why);
    }
}
