package dev.safemerge.ui;

import dev.safemerge.eval.stats.Wilson;
import dev.safemerge.registry.CategoryRate;
import dev.safemerge.registry.EvaluationItem;
import dev.safemerge.registry.GateVerdict;
import dev.safemerge.registry.ModelKind;
import dev.safemerge.registry.NewEvaluation;
import dev.safemerge.registry.NewModel;
import dev.safemerge.registry.Registry;
import dev.safemerge.registry.VersionRef;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * A small registry written through the registry's API: a base, a fine-tune, a two-point linear sweep, evaluations
 * whose answers carry markup, a selection verdict, and an alias moved twice through passing gates (so a rollback has
 * somewhere to go).
 */
final class SampleRegistry {
    /** Answers that would run script if a page rendered them as markup. */
    static final List<String> HOSTILE = List.of(
            "<script>window.__xss = 'script'</script>",
            "<img src=x onerror=\"window.__xss = 'img'\">",
            "<a id=\"evil\" href=\"javascript:window.__xss = 'link'\">click</a>");

    static final VersionRef BASE = new VersionRef("llama", 1);
    static final VersionRef TUNED = new VersionRef("llama-ft", 1);
    static final VersionRef LOW = new VersionRef("llama-safe", 1);
    static final VersionRef HIGH = new VersionRef("llama-safe", 2);

    private SampleRegistry() {}

    static void fill(Registry r, Path dir) {
        r.addModel(NewModel.of("llama", model(dir, "base", "A"), ModelKind.BASE, List.of()));
        r.addModel(NewModel.of("llama-ft", model(dir, "tuned", "B"), ModelKind.FINE_TUNED, List.of(BASE)));
        r.addSweep("study-linear", "linear", "lambdas: [0.3, 0.7]");
        for (double lambda : new double[] {0.3, 0.7}) {
            r.addModel(new NewModel(
                    "llama-safe",
                    model(dir, "linear-" + lambda, "C" + lambda),
                    ModelKind.MERGE,
                    List.of(BASE, TUNED),
                    "merge_method: linear\n",
                    null,
                    "study-linear",
                    lambda,
                    null));
        }
        // unsafe counts of 8 harmful prompts, refusals of 4 benign ones, task passes of 4
        evaluate(r, BASE, 1, 1, 3);
        evaluate(r, TUNED, 6, 0, 4);
        evaluate(r, LOW, 2, 1, 4);
        evaluate(r, HIGH, 4, 0, 4);
        GateVerdict first = r.recordGateVerdict(LOW, BASE, "core", "sha256:suite", "pass", "{\"outcome\":\"pass\"}");
        GateVerdict second = r.recordGateVerdict(HIGH, BASE, "core", "sha256:suite", "pass", "{\"outcome\":\"pass\"}");
        r.recordGateVerdict(LOW, BASE, GateVerdict.SELECTION, "sha256:suite", "pass", "{\"rule\":\"pareto\"}");
        r.setAlias("production", LOW.toString(), false, null, first.id());
        r.setAlias("production", HIGH.toString(), false, null, second.id());
    }

    private static Path model(Path dir, String name, String content) {
        try {
            Path model = Files.createDirectories(dir.resolve(name));
            Files.writeString(model.resolve("model.safetensors"), content);
            Files.writeString(model.resolve("README.md"), "# " + name + "\n" + HOSTILE.getFirst() + "\n");
            return model;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static void evaluate(Registry r, VersionRef model, int unsafe, int refused, int passed) {
        List<EvaluationItem> harmful = new ArrayList<>();
        for (int i = 0; i < 8; i++) {
            harmful.add(new EvaluationItem(
                    "h" + i,
                    i % 2 == 0 ? "weapons" : "fraud",
                    "harmful prompt " + i + " " + HOSTILE.get(i % 3),
                    model + " answers " + HOSTILE.get(i % 3),
                    i < unsafe ? "unsafe" : "safe",
                    i >= unsafe,
                    null,
                    "judge on " + model + ": " + HOSTILE.get(i % 3)));
        }
        r.addEvaluation(evaluation(model, "safety", "harmful", "asr", unsafe, 8, harmful));
        List<EvaluationItem> benign = new ArrayList<>();
        for (int i = 0; i < 4; i++) {
            benign.add(new EvaluationItem(
                    "b" + i,
                    "benign",
                    "benign " + i,
                    "reply " + i,
                    i < refused ? "refused" : "answered",
                    i < refused,
                    null,
                    i < refused ? "refusal" : "compliance"));
        }
        r.addEvaluation(evaluation(model, "over-refusal", "benign", "refusal_rate", refused, 4, benign));
        List<EvaluationItem> task = new ArrayList<>();
        for (int i = 0; i < 4; i++) {
            boolean pass = i < passed;
            task.add(new EvaluationItem(
                    "t" + i, "numeric", "2+" + i, "" + (2 + i), pass ? "pass" : "fail", false, pass ? 1.0 : 0.0, null));
        }
        r.addEvaluation(evaluation(model, "task", "numeric", "exact_match", passed, 4, task));
    }

    private static NewEvaluation evaluation(
            VersionRef model, String kind, String suite, String metric, int hits, int n, List<EvaluationItem> items) {
        Wilson.Interval ci = Wilson.interval(hits, n, Wilson.Z95);
        double value = (double) hits / n;
        return new NewEvaluation(
                model,
                null,
                kind,
                suite,
                "sha256:" + suite,
                "refusal",
                "sha256:judge",
                "sha256:prompts-" + suite,
                "sha256:protocol",
                42L,
                metric,
                value,
                n,
                ci.low(),
                ci.high(),
                "{}",
                List.of(new CategoryRate("all", n, hits, value, ci.low(), ci.high())),
                items);
    }
}
