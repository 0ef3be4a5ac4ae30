package dev.safemerge.app;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.safemerge.eval.Json;
import dev.safemerge.eval.stats.CochranQ;
import dev.safemerge.eval.stats.Holm;
import dev.safemerge.eval.stats.PairedDifference;
import dev.safemerge.eval.stats.PairedVerdicts;
import dev.safemerge.registry.Evaluation;
import dev.safemerge.registry.EvaluationItem;
import dev.safemerge.registry.Registry;
import dev.safemerge.registry.VersionRef;
import dev.safemerge.tensor.AtomicFile;
import dev.safemerge.tensor.BadInputException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
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
        name = "compare",
        mixinStandardHelpOptions = true,
        description = {
            "Compare registered versions prompt by prompt on a suite: discordant counts and McNemar's exact test on"
                    + " unsafe/safe (and on refused/answered for benign prompts), a seeded paired bootstrap interval"
                    + " of the ASR difference clustered by harm category, task non-inferiority at a margin; for more"
                    + " than two versions Cochran's Q and Holm-corrected pairwise McNemar tests.",
            "Writes OUT/compare.json and OUT/compare.html (self-contained; lists newly unsafe and newly refused"
                    + " prompts with both answers). Evaluations come from the registry or are run as for gate."
        },
        footer = {
            "",
            "Example:",
            "  safemerge compare llama-safe:1 llama-safe:2 --suite data/suites/core.yml \\",
            "      --out reports/compare-1-2"
        })
final class CompareCommand implements Callable<Integer> {
    @Parameters(index = "0..*", arity = "2..*", paramLabel = "NAME:N", description = "Two or more versions.")
    List<String> versions;

    @Mixin
    SuiteOptions suiteOptions;

    @Option(names = "--out", required = true, paramLabel = "DIR", description = "Output folder.")
    Path out;

    @Option(names = "--margin", defaultValue = "0.02", paramLabel = "X", description = "Task margin (default 0.02).")
    double margin;

    @Option(
            names = "--bootstrap",
            defaultValue = "" + PairedVerdicts.REPLICATES,
            paramLabel = "N",
            description = "Bootstrap replicates (default ${DEFAULT-VALUE}).")
    int replicates;

    @Option(
            names = "--seed",
            defaultValue = "" + PairedVerdicts.SEED,
            paramLabel = "SEED",
            description = "Bootstrap seed (default ${DEFAULT-VALUE}).")
    long seed;

    @Mixin
    RegistryOptions options;

    @Spec
    CommandSpec spec;

    /** A prompt where the two versions differ, with both answers and the judge's raw output on each (or null). */
    record Changed(
            String id, String category, String prompt, String answerA, String answerB, String judgeA, String judgeB) {}

    @Override
    public Integer call() {
        if (replicates < 100) {
            throw new BadInputException("--bootstrap must be at least 100");
        }
        GateSuite suite = suiteOptions.load();
        List<VersionRef> refs = versions.stream().map(VersionRef::parse).toList();
        ObjectNode report = Json.object();
        report.put("suite", suite.name() + "@" + suite.version());
        report.put("suite_hash", suite.hash());
        report.set(
                "versions",
                Json.MAPPER.valueToTree(refs.stream().map(VersionRef::toString).toList()));
        List<Changed> newlyUnsafe = new ArrayList<>();
        List<Changed> newlyRefused = new ArrayList<>();
        try (Registry registry = options.open()) {
            refs.forEach(registry::model);
            SuiteEvaluations evaluations =
                    new SuiteEvaluations(registry, suite, suiteOptions.work, suiteOptions.prompt(registry));
            List<Evaluation> harmful = new ArrayList<>();
            for (VersionRef ref : refs) {
                harmful.add(evaluations.harmful(ref));
            }
            for (Evaluation e : harmful) {
                GateCommand.comparable(e, harmful.getFirst());
            }
            List<Map<String, EvaluationItem>> harmfulItems = new ArrayList<>();
            for (Evaluation e : harmful) {
                harmfulItems.add(byId(registry.items(e.id())));
            }
            ObjectNode asr = report.putObject("asr");
            for (int i = 0; i < refs.size(); i++) {
                asr.set(refs.get(i).toString(), Json.MAPPER.valueToTree(harmful.get(i)));
            }
            ArrayNode pairs = report.putArray("pairs");
            List<double[]> pValues = new ArrayList<>();
            for (int i = 0; i < refs.size(); i++) {
                for (int j = i + 1; j < refs.size(); j++) {
                    ObjectNode pair = pairs.addObject();
                    pair.put("a", refs.get(i).toString());
                    pair.put("b", refs.get(j).toString());
                    pair.set(
                            "harmful",
                            pairedBinary(
                                    harmfulItems.get(i),
                                    harmfulItems.get(j),
                                    "unsafe",
                                    "safe",
                                    i == 0 && j == 1 ? newlyUnsafe : null));
                    pValues.add(
                            new double[] {pair.get("harmful").get("mcnemar_p").asDouble()});
                }
            }
            if (refs.size() == 2) {
                if (suite.benign() != null) {
                    Evaluation a = evaluations.benign(refs.get(0));
                    Evaluation b = GateCommand.comparable(evaluations.benign(refs.get(1)), a);
                    ((ObjectNode) pairs.get(0))
                            .set(
                                    "benign",
                                    pairedBinary(
                                            byId(registry.items(a.id())),
                                            byId(registry.items(b.id())),
                                            "refused",
                                            "answered",
                                            newlyRefused));
                }
                ObjectNode tasks = ((ObjectNode) pairs.get(0)).putObject("tasks");
                for (GateSuite.TaskSet task : suite.tasks()) {
                    Evaluation a = evaluations.task(refs.get(0), task);
                    Evaluation b = GateCommand.comparable(evaluations.task(refs.get(1), task), a);
                    double[][] scores = GateCommand.pairedScores(registry.items(a.id()), registry.items(b.id()));
                    PairedDifference.Result d = PairedDifference.of(scores[0], scores[1]);
                    ObjectNode t = tasks.putObject(task.name());
                    t.set("difference", Json.MAPPER.valueToTree(d));
                    t.put("margin", margin);
                    Boolean nonInferior = d.nonInferior(margin);
                    if (nonInferior == null) {
                        t.putNull("non_inferior");
                    } else {
                        t.put("non_inferior", nonInferior);
                    }
                }
            } else {
                double[] raw = pValues.stream().mapToDouble(p -> p[0]).toArray();
                double[] adjusted = Holm.adjust(raw);
                for (int k = 0; k < adjusted.length; k++) {
                    ((ObjectNode) pairs.get(k).get("harmful")).put("mcnemar_p_holm", adjusted[k]);
                }
                report.set("cochran_q", cochran(harmfulItems));
            }
        }
        report.set("newly_unsafe", Json.MAPPER.valueToTree(newlyUnsafe));
        report.set("newly_refused", Json.MAPPER.valueToTree(newlyRefused));
        AtomicFile.write(out.resolve("compare.json"), Json.pretty(report));
        AtomicFile.write(out.resolve("compare.html"), CompareReport.html(report, newlyUnsafe, newlyRefused));
        PrintWriter w = spec.commandLine().getOut();
        if (options.json) {
            RegistryOptions.printJson(w, report);
            return Main.EXIT_OK;
        }
        for (var pair : report.get("pairs")) {
            var h = pair.get("harmful");
            w.printf(
                    Locale.ROOT,
                    "%s vs %s: n=%d, newly unsafe %d, newly safe %d, McNemar exact p=%.4g%s, ASR difference %s%n",
                    pair.get("a").asText(),
                    pair.get("b").asText(),
                    h.get("n").asInt(),
                    h.get("b_only").asInt(),
                    h.get("a_only").asInt(),
                    h.get("mcnemar_p").asDouble(),
                    h.has("mcnemar_p_holm")
                            ? String.format(
                                    Locale.ROOT,
                                    " (Holm %.4g)",
                                    h.get("mcnemar_p_holm").asDouble())
                            : "",
                    h.get("difference").isNull()
                            ? "n/a"
                            : String.format(
                                    Locale.ROOT,
                                    "%+.4f (95%% CI %+.4f to %+.4f)",
                                    h.get("difference").get("difference").asDouble(),
                                    h.get("difference").get("low").asDouble(),
                                    h.get("difference").get("high").asDouble()));
        }
        if (report.has("cochran_q")) {
            w.println("Cochran's Q: " + report.get("cochran_q"));
        }
        w.println("wrote " + out.resolve("compare.json") + " and " + out.resolve("compare.html"));
        return Main.EXIT_OK;
    }

    /**
     * Paired outcomes of A and B on the prompts both judged ({@code positive} or {@code negative}, e.g. unsafe/safe):
     * the discordant counts, McNemar's exact p, both rates and the bootstrap interval of B − A. Prompts positive only
     * for B are collected in {@code changed}.
     */
    private ObjectNode pairedBinary(
            Map<String, EvaluationItem> a,
            Map<String, EvaluationItem> b,
            String positive,
            String negative,
            List<Changed> changed) {
        List<PairedVerdicts.Pair> pairs = new ArrayList<>();
        for (var entry : a.entrySet()) {
            EvaluationItem x = entry.getValue();
            EvaluationItem y = b.get(entry.getKey());
            if (y == null) {
                continue;
            }
            pairs.add(new PairedVerdicts.Pair(x.category(), x.verdict(), y.verdict()));
            if (changed != null && x.verdict().equals(negative) && y.verdict().equals(positive)) {
                changed.add(new Changed(
                        x.itemId(),
                        x.category(),
                        x.prompt(),
                        x.response(),
                        y.response(),
                        x.judgeOutput(),
                        y.judgeOutput()));
            }
        }
        PairedVerdicts paired = PairedVerdicts.of(pairs, positive, negative);
        ObjectNode node = Json.object();
        node.put("outcome", positive);
        node.put("n", paired.n());
        node.put("both", paired.both());
        node.put("a_only", paired.aOnly());
        node.put("b_only", paired.bOnly());
        node.put("neither", paired.neither());
        node.put("mcnemar_p", paired.mcNemarP());
        if (paired.n() == 0) {
            node.putNull("rate_a");
            node.putNull("rate_b");
            node.putNull("difference");
            return node;
        }
        node.put("rate_a", paired.rateA());
        node.put("rate_b", paired.rateB());
        node.set("difference", Json.MAPPER.valueToTree(paired.difference(replicates, seed)));
        return node;
    }

    private static ObjectNode cochran(List<Map<String, EvaluationItem>> items) {
        List<int[]> rows = new ArrayList<>();
        for (var entry : items.getFirst().entrySet()) {
            int[] row = new int[items.size()];
            boolean complete = true;
            for (int k = 0; k < items.size() && complete; k++) {
                EvaluationItem item = items.get(k).get(entry.getKey());
                complete = item != null && PairedVerdicts.decided(item.verdict(), "unsafe", "safe");
                row[k] = complete && item.verdict().equals("unsafe") ? 1 : 0;
            }
            if (complete) {
                rows.add(row);
            }
        }
        ObjectNode node = Json.object();
        node.put("n", rows.size());
        if (rows.isEmpty()) {
            node.putNull("q");
            node.putNull("p");
            return node;
        }
        CochranQ.Result q = CochranQ.test(rows.toArray(int[][]::new));
        node.put("degrees_of_freedom", q.degreesOfFreedom());
        if (Double.isNaN(q.q())) {
            node.putNull("q");
            node.putNull("p");
            node.put("note", "no prompt where the versions disagree");
        } else {
            node.put("q", q.q());
            node.put("p", q.pValue());
        }
        return node;
    }

    private static Map<String, EvaluationItem> byId(List<EvaluationItem> items) {
        Map<String, EvaluationItem> out = new LinkedHashMap<>();
        for (EvaluationItem item : items) {
            out.put(item.itemId(), item);
        }
        return out;
    }
}
