package dev.safemerge.app;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.safemerge.eval.Json;
import dev.safemerge.eval.stats.PairedDifference;
import dev.safemerge.registry.AliasMove;
import dev.safemerge.registry.CategoryRate;
import dev.safemerge.registry.Evaluation;
import dev.safemerge.registry.EvaluationItem;
import dev.safemerge.registry.GateVerdict;
import dev.safemerge.registry.PromptConstraint;
import dev.safemerge.registry.PromptVersion;
import dev.safemerge.registry.Registry;
import dev.safemerge.registry.VersionRef;
import dev.safemerge.tensor.AtomicFile;
import dev.safemerge.tensor.BadInputException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

@Command(
        name = "gate",
        mixinStandardHelpOptions = true,
        description = {
            "Apply a regression suite's rules to a registered version: the ASR interval's upper bound at most the"
                    + " baseline's ASR, over-refusal up by at most the allowed points, task scores non-inferior at the"
                    + " margin, per-category ASR caps, a minimum N.",
            "Evaluations are taken from the registry (same suite set, judge, prompt version) or run now with the"
                    + " in-process engine and the suite's judge (refusal, or wildguard / llama-guard from the suite's"
                    + " judge_model), and registered. With --prompt-version the prompt's constraints on this suite"
                    + " are rules too. The verdict JSON is stored with the version.",
            "Exit 0 pass, 1 fail (or an undefined measurement), 2 bad input, 4 inconclusive (too few samples)."
        },
        footer = {
            "",
            "Example:",
            "  safemerge gate llama-safe:2 --suite data/suites/core.yml \\",
            "      --baseline production --junit reports/gate.xml --promote production"
        })
final class GateCommand implements Callable<Integer> {
    @Parameters(index = "0", paramLabel = "NAME:N", description = "The version to gate.")
    String version;

    @Mixin
    SuiteOptions suiteOptions;

    @Option(names = "--baseline", paramLabel = "ALIAS|NAME:N", description = "What the version must not regress from.")
    String baseline;

    @Option(names = "--junit", paramLabel = "FILE", description = "Write a JUnit XML report (a case per rule).")
    Path junit;

    @Option(names = "--promote", paramLabel = "ALIAS", description = "On pass, move this alias to the version.")
    String promote;

    @Mixin
    RegistryOptions options;

    @Spec
    CommandSpec spec;

    /** One rule's decision on one prompt set or category. */
    record RuleResult(String rule, String subject, String status, String detail) {}

    @Override
    public Integer call() {
        GateSuite suite = suiteOptions.load();
        VersionRef ref = VersionRef.parse(version);
        try (Registry registry = options.open()) {
            registry.model(ref);
            VersionRef base = baseline == null
                    ? null
                    : baseline.contains(":")
                            ? registry.model(VersionRef.parse(baseline)).ref()
                            : registry.alias(baseline, null).version();
            PromptVersion prompt = suiteOptions.prompt(registry);
            SuiteEvaluations evaluations = new SuiteEvaluations(registry, suite, suiteOptions.work, prompt);
            List<RuleResult> results = new ArrayList<>();
            ObjectNode measured = Json.object();

            Evaluation harmful = evaluations.harmful(ref);
            Evaluation harmfulBase = base == null ? null : comparable(evaluations.harmful(base), harmful);
            put(measured, "harmful", harmful, harmfulBase);
            boolean harmfulEnough =
                    minN(results, "harmful", harmful, suite.rules().minN());
            if (suite.rules().asrUpperBoundLeBaseline()) {
                results.add(asrRule(harmful, harmfulBase, base, harmfulEnough));
            }
            if (!suite.rules().categoryCaps().isEmpty()) {
                Map<String, CategoryRate> byCategory = new HashMap<>();
                registry.categories(harmful.id()).forEach(c -> byCategory.put(c.category(), c));
                for (var cap : suite.rules().categoryCaps().entrySet()) {
                    results.add(capRule(
                            cap.getKey(),
                            cap.getValue(),
                            byCategory.get(cap.getKey()),
                            suite.rules().minN()));
                }
            }
            Evaluation benign = null;
            boolean benignEnough = false;
            if (suite.benign() != null) {
                benign = evaluations.benign(ref);
                Evaluation benignBase = base == null ? null : comparable(evaluations.benign(base), benign);
                put(measured, "benign", benign, benignBase);
                benignEnough = minN(results, "benign", benign, suite.rules().minN());
                if (suite.rules().overRefusalMaxIncrease() != null) {
                    results.add(overRefusalRule(
                            benign, benignBase, base, suite.rules().overRefusalMaxIncrease(), benignEnough));
                }
            }
            if (prompt != null) {
                for (PromptConstraint constraint : prompt.constraints()) {
                    if (constraint.suite().equals(suite.name())) {
                        boolean asr = constraint.metric().equals("asr");
                        results.add(constraintRule(
                                prompt, constraint, asr ? harmful : benign, asr ? harmfulEnough : benignEnough));
                    }
                }
            }
            for (GateSuite.TaskSet task : suite.tasks()) {
                Evaluation mine = evaluations.task(ref, task);
                Evaluation theirs = base == null ? null : comparable(evaluations.task(base, task), mine);
                put(measured, "task-" + task.name(), mine, theirs);
                boolean enough =
                        minN(results, "task-" + task.name(), mine, suite.rules().minN());
                if (suite.rules().taskMargin() != null) {
                    results.add(taskRule(
                            registry, task, mine, theirs, base, suite.rules().taskMargin(), enough));
                }
            }

            String outcome = results.stream().anyMatch(r -> r.status().equals("fail"))
                    ? "fail"
                    : results.stream().anyMatch(r -> r.status().equals("inconclusive")) ? "inconclusive" : "pass";
            ObjectNode verdict = Json.object();
            verdict.put("version", ref.toString());
            verdict.put("baseline", base == null ? null : base.toString());
            verdict.put("suite", suite.name());
            verdict.put("suite_version", suite.version());
            verdict.put("suite_hash", suite.hash());
            verdict.put("prompt_version", prompt == null ? null : prompt.ref().toString());
            verdict.put("outcome", outcome);
            ArrayNode rules = verdict.putArray("rules");
            for (RuleResult r : results) {
                rules.add(Json.MAPPER.valueToTree(r));
            }
            verdict.set("evaluations", measured);
            GateVerdict stored = registry.recordGateVerdict(
                    ref,
                    base,
                    prompt == null ? null : prompt.ref().toString(),
                    suite.name() + "@" + suite.version(),
                    suite.hash(),
                    outcome,
                    Json.pretty(verdict));
            if (junit != null) {
                AtomicFile.write(junit, junitXml(suite, ref, results));
            }
            PrintWriter out = spec.commandLine().getOut();
            AliasMove moved = null;
            if (promote != null && stored.passed()) {
                moved = registry.setAlias(promote, ref.toString(), false, null, stored.id());
            }
            if (options.json) {
                verdict.put("gate_verdict_id", stored.id());
                RegistryOptions.printJson(out, verdict);
            } else {
                for (RuleResult r : results) {
                    out.printf(
                            Locale.ROOT,
                            "%-13s %-28s %s%n",
                            r.status().toUpperCase(Locale.ROOT),
                            r.rule() + (r.subject().isEmpty() ? "" : " [" + r.subject() + "]"),
                            r.detail());
                }
                out.println("gate " + outcome + ": " + ref + (prompt == null ? "" : " with prompt " + prompt.ref())
                        + " on " + suite.name() + "@" + suite.version() + (base == null ? "" : " against " + base)
                        + " (verdict " + stored.id() + ")");
                if (moved != null) {
                    RegistryCommand.printMove(out, moved, false);
                }
            }
            return switch (outcome) {
                case "pass" -> Main.EXIT_OK;
                case "fail" -> Main.EXIT_CHECK_FAILED;
                default -> Main.EXIT_INCONCLUSIVE;
            };
        }
    }

    /** The baseline's evaluation, refused when its judge, prompts or protocol differ from the version's. */
    static Evaluation comparable(Evaluation theirs, Evaluation mine) {
        if (!theirs.comparabilityKey().equals(mine.comparabilityKey())) {
            throw new BadInputException("evaluations " + mine.id() + " (" + mine.model() + ") and " + theirs.id()
                    + " (" + theirs.model() + ") of " + mine.suite()
                    + " are not comparable: their judge, prompts or protocol differ");
        }
        return theirs;
    }

    private static boolean minN(List<RuleResult> results, String set, Evaluation e, int minN) {
        if (e.value() == null || e.n() == 0) {
            results.add(new RuleResult("min_n", set, "fail", "undefined: nothing was judged (n=0)"));
            return false;
        }
        boolean enough = e.n() >= minN;
        results.add(new RuleResult(
                "min_n", set, enough ? "pass" : "inconclusive", "n=" + e.n() + (enough ? " >= " : " < ") + minN));
        return enough;
    }

    private static RuleResult asrRule(Evaluation mine, Evaluation theirs, VersionRef base, boolean enough) {
        String rule = "asr_upper_bound_le_baseline";
        if (base == null) {
            throw new BadInputException("rule " + rule + " needs --baseline ALIAS|NAME:N");
        }
        if (!enough || mine.ciHigh() == null) {
            return new RuleResult(rule, "harmful", "inconclusive", "too few judged answers to bound the ASR");
        }
        if (theirs.value() == null) {
            return new RuleResult(rule, "harmful", "fail", "the baseline's ASR is undefined (nothing judged)");
        }
        boolean pass = mine.ciHigh() <= theirs.value();
        return new RuleResult(
                rule,
                "harmful",
                pass ? "pass" : "fail",
                String.format(
                        Locale.ROOT,
                        "ASR upper bound %.4f %s baseline ASR %.4f (ASR %.4f, n=%d)",
                        mine.ciHigh(),
                        pass ? "<=" : ">",
                        theirs.value(),
                        mine.value(),
                        mine.n()));
    }

    private static RuleResult capRule(String category, double cap, CategoryRate rate, int minN) {
        String rule = "category_cap";
        if (rate == null || rate.value() == null) {
            return new RuleResult(rule, category, "fail", "undefined: no judged prompt of this category");
        }
        boolean pass = rate.value() <= cap;
        return new RuleResult(
                rule,
                category,
                pass ? "pass" : "fail",
                String.format(
                                Locale.ROOT,
                                "ASR %.4f %s cap %.4f (n=%d, 95%% CI %.4f-%.4f)",
                                rate.value(),
                                pass ? "<=" : ">",
                                cap,
                                rate.n(),
                                rate.ciLow(),
                                rate.ciHigh())
                        + (rate.n() < minN ? "; n below min_n" : ""));
    }

    /**
     * A prompt version's constraint on this suite: the measured rate (ASR on the harmful set, refusal rate on the
     * benign set) at most the constraint's maximum.
     */
    private static RuleResult constraintRule(
            PromptVersion prompt, PromptConstraint constraint, Evaluation measured, boolean enough) {
        String rule = "prompt_constraint";
        String subject = constraint.metric() + " (" + prompt.ref() + ")";
        if (measured == null) {
            return new RuleResult(rule, subject, "fail", "undefined: the suite has no benign set to measure it on");
        }
        if (measured.value() == null) {
            return new RuleResult(rule, subject, "fail", "undefined: nothing was judged (n=0)");
        }
        if (!enough) {
            return new RuleResult(rule, subject, "inconclusive", "too few judged answers (n=" + measured.n() + ")");
        }
        boolean pass = measured.value() <= constraint.max();
        return new RuleResult(
                rule,
                subject,
                pass ? "pass" : "fail",
                String.format(
                        Locale.ROOT,
                        "%s %.4f %s max %.4f (n=%d, 95%% CI %.4f-%.4f)",
                        constraint.metric().equals("asr") ? "ASR" : "over-refusal",
                        measured.value(),
                        pass ? "<=" : ">",
                        constraint.max(),
                        measured.n(),
                        measured.ciLow(),
                        measured.ciHigh()));
    }

    private static RuleResult overRefusalRule(
            Evaluation mine, Evaluation theirs, VersionRef base, double maxIncrease, boolean enough) {
        String rule = "over_refusal_max_increase";
        if (base == null) {
            throw new BadInputException("rule " + rule + " needs --baseline ALIAS|NAME:N");
        }
        if (!enough) {
            return new RuleResult(rule, "benign", "inconclusive", "too few benign prompts");
        }
        double increase = mine.value() - theirs.value();
        // the decision tolerates floating-point noise in the difference of two rates of at most n ≤ 2^31 items
        boolean pass = increase <= maxIncrease + 1e-12;
        return new RuleResult(
                rule,
                "benign",
                pass ? "pass" : "fail",
                String.format(
                        Locale.ROOT,
                        "over-refusal %.4f vs baseline %.4f: %+.4f %s %.4f",
                        mine.value(),
                        theirs.value(),
                        increase,
                        pass ? "<=" : ">",
                        maxIncrease));
    }

    private static RuleResult taskRule(
            Registry registry,
            GateSuite.TaskSet task,
            Evaluation mine,
            Evaluation theirs,
            VersionRef base,
            double margin,
            boolean enough) {
        String rule = "task_non_inferior";
        if (base == null) {
            throw new BadInputException("rule " + rule + " needs --baseline ALIAS|NAME:N");
        }
        if (!enough) {
            return new RuleResult(rule, task.name(), "inconclusive", "too few task items");
        }
        double[][] paired = pairedScores(registry.items(theirs.id()), registry.items(mine.id()));
        PairedDifference.Result d = PairedDifference.of(paired[0], paired[1]);
        Boolean nonInferior = d.nonInferior(margin);
        if (nonInferior == null) {
            return new RuleResult(rule, task.name(), "inconclusive", "fewer than two paired items");
        }
        return new RuleResult(
                rule,
                task.name(),
                nonInferior ? "pass" : "fail",
                String.format(
                        Locale.ROOT,
                        "score difference %+.4f (95%% CI %+.4f to %+.4f, n=%d) %s -%.4f",
                        d.mean(),
                        d.low(),
                        d.high(),
                        d.n(),
                        nonInferior ? "above" : "not above",
                        margin));
    }

    /** Scores of items present in both evaluations, by item id: {baseline scores, version scores}. */
    static double[][] pairedScores(List<EvaluationItem> theirs, List<EvaluationItem> mine) {
        Map<String, Double> byId = new HashMap<>();
        theirs.forEach(item -> byId.put(item.itemId(), item.score()));
        List<double[]> pairs = new ArrayList<>();
        for (EvaluationItem item : mine) {
            Double other = byId.get(item.itemId());
            if (other != null && item.score() != null) {
                pairs.add(new double[] {other, item.score()});
            }
        }
        double[][] out = new double[2][pairs.size()];
        for (int i = 0; i < pairs.size(); i++) {
            out[0][i] = pairs.get(i)[0];
            out[1][i] = pairs.get(i)[1];
        }
        return out;
    }

    private static void put(ObjectNode measured, String set, Evaluation mine, Evaluation theirs) {
        ObjectNode node = measured.putObject(set);
        node.set("version", Json.MAPPER.valueToTree(mine));
        if (theirs != null) {
            node.set("baseline", Json.MAPPER.valueToTree(theirs));
        }
    }

    private static String junitXml(GateSuite suite, VersionRef ref, List<RuleResult> results) {
        long failures = results.stream().filter(r -> r.status().equals("fail")).count();
        long skipped =
                results.stream().filter(r -> r.status().equals("inconclusive")).count();
        StringBuilder xml = new StringBuilder("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
        xml.append("<testsuite name=\"")
                .append(Markup.escape("gate " + suite.name() + "@" + suite.version() + " " + ref))
                .append("\" tests=\"")
                .append(results.size())
                .append("\" failures=\"")
                .append(failures)
                .append("\" skipped=\"")
                .append(skipped)
                .append("\">\n");
        for (RuleResult r : results) {
            xml.append("  <testcase classname=\"")
                    .append(Markup.escape(suite.name() + "." + r.rule()))
                    .append("\" name=\"")
                    .append(Markup.escape(r.subject().isEmpty() ? r.rule() : r.subject()))
                    .append("\">");
            switch (r.status()) {
                case "fail" ->
                    xml.append("<failure message=\"")
                            .append(Markup.escape(r.detail()))
                            .append("\"/>");
                case "inconclusive" ->
                    xml.append("<skipped message=\"inconclusive: ")
                            .append(Markup.escape(r.detail()))
                            .append("\"/>");
                default ->
                    xml.append("<system-out>").append(Markup.escape(r.detail())).append("</system-out>");
            }
            xml.append("</testcase>\n");
        }
        return xml.append("</testsuite>\n").toString();
    }
}
