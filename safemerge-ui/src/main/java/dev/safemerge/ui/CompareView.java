package dev.safemerge.ui;

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
 * newly failing, then the reverse), both answers with their verdicts; the discordant counts and McNemar's exact
 * p-value over the prompts both judged, as {@code safemerge compare} computes them; a filter by category.
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
            Views.RateCell rateB) {}

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
        TreeSet<String> categories = new TreeSet<>();
        int both = 0;
        int aOnly = 0;
        int bOnly = 0;
        int n = 0;
        for (EvaluationItem x : r.items(ea.id())) {
            EvaluationItem y = itemsB.get(x.itemId());
            if (y == null) {
                continue;
            }
            categories.add(x.category());
            if (category != null && !category.isBlank() && !category.equals(x.category())) {
                continue;
            }
            String change = "";
            if (decided(x, outcome) && decided(y, outcome)) {
                boolean pa = x.verdict().equals(outcome.positive());
                boolean pb = y.verdict().equals(outcome.positive());
                n++;
                both += pa && pb ? 1 : 0;
                aOnly += pa && !pb ? 1 : 0;
                bOnly += !pa && pb ? 1 : 0;
                if (pa != pb) {
                    change = "newly " + (pb ? outcome.positive() : outcome.negative());
                }
            }
            pairs.add(new Pair(x.itemId(), x.category(), x.prompt(), x, y, change));
        }
        String newlyPositive = "newly " + outcome.positive();
        pairs.sort(Comparator.comparingInt(
                (Pair p) -> p.change().equals(newlyPositive) ? 0 : p.change().isEmpty() ? 2 : 1));
        Stats stats = new Stats(
                outcome,
                n,
                both,
                aOnly,
                bOnly,
                n - both - aOnly - bOnly,
                String.format(Locale.ROOT, "%.4g", Views.mcNemar(aOnly, bOnly)),
                Views.RateCell.of(new Rate(both + aOnly, n)),
                Views.RateCell.of(new Rate(both + bOnly, n)));
        return new Page(
                versions, suiteOptions, a, b, chosen, category, List.copyOf(categories), ea, eb, stats, pairs, null);
    }

    private static boolean decided(EvaluationItem item, Outcome outcome) {
        return item.verdict().equals(outcome.positive()) || item.verdict().equals(outcome.negative());
    }

    private static Page problem(
            List<String> versions, List<String> suites, String a, String b, String suite, String category, String why) {
        return new Page(versions, suites, a, b, suite, category, List.of(), null, null, null, List.of(), why);
    }
}
