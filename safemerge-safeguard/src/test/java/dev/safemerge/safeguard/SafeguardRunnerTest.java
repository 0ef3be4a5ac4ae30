package dev.safemerge.safeguard;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import com.fasterxml.jackson.databind.JsonNode;
import dev.safemerge.eval.Json;
import dev.safemerge.eval.gen.ModelFingerprint;
import dev.safemerge.tensor.AtomicFile;
import dev.safemerge.tensor.Progress;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.Writer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SafeguardRunnerTest {
    static final PrintWriter QUIET = new PrintWriter(Writer.nullWriter());

    @TempDir
    Path tmp;

    @Test
    void sweepsEvaluatesSelectsExportsAndReports() throws IOException {
        Path base = Fixture.base(tmp);
        Path adapter = Fixture.adapter(tmp, "adapter", 7);
        SafeguardPlan plan = Fixture.plan(base, List.of(adapter), List.of("linear", "slerp"), List.of(0.5), "pareto");
        Path out = tmp.resolve("run");
        SafeguardRunner.Result result =
                SafeguardRunner.run(plan, out, SafeguardRunner.Events.NONE, Progress.SILENT, QUIET);

        JsonNode summary = Json.MAPPER.readTree(out.resolve("summary.json").toFile());
        List<String> names = new ArrayList<>();
        summary.path("variants").forEach(v -> names.add(v.path("name").asText()));
        assertThat(names).containsExactly("base", "finetuned", "linear-0.50", "slerp-0.50");
        for (JsonNode v : summary.path("variants")) {
            assertThat(v.path("asr").isNumber()).isTrue();
            assertThat(v.path("asr_ci")).hasSize(2);
            assertThat(v.path("asr_by_set").path("harmful").path("N").asInt()).isEqualTo(6);
            assertThat(v.path("over_refusal").isNumber()).isTrue();
            assertThat(v.path("over_refusal_n").asInt()).isEqualTo(Math.min(6, lines(Fixture.BENIGN)));
            assertThat(v.path("task_by_set").path("numeric").path("n").asInt())
                    .isEqualTo(Math.min(6, lines(Fixture.NUMERIC)));
            // The numeric metric scores each item 0 or 1: the score is correct ÷ n with its Wilson interval.
            JsonNode numeric = v.path("task_by_set").path("numeric");
            assertThat(numeric.path("score").asDouble())
                    .isEqualTo(numeric.path("correct").asDouble()
                            / numeric.path("n").asInt());
            assertThat(numeric.path("score_ci")).hasSize(2);
            assertThat(v.path("miss_rate").asDouble()).isZero();
            assertThat(v.path("N").asInt()).isEqualTo(6);
        }
        assertThat(summary.path("variants").get(0).path("method").isNull()).isTrue();
        assertThat(summary.path("variants").get(2).path("lambda").asDouble()).isEqualTo(0.5);
        assertThat(summary.path("rule").asText()).isEqualTo("pareto");
        assertThat(summary.path("selected").asText())
                .isEqualTo(result.selected().selected().name());
        // the pooled ASR in the summary is unsafe ÷ (N − missing) of the set's own counts
        JsonNode first = summary.path("variants").get(0).path("asr_by_set").path("harmful");
        assertThat(summary.path("variants").get(0).path("asr").asDouble())
                .isEqualTo(first.path("unsafe").asDouble()
                        / (6 - first.path("missing").asInt()));

        // everything needed to rerun: the protocol, a content hash of every input, versions, timings
        assertThat(summary.path("variants").get(2).path("task_score").isNumber())
                .isTrue();
        assertThat(summary.at("/protocol/preset").asText()).isEqualTo("study");
        assertThat(summary.at("/plan/protocol").asText()).isEqualTo("study");
        List<String> inputs = new ArrayList<>();
        summary.path("inputs").fieldNames().forEachRemaining(inputs::add);
        assertThat(inputs)
                .containsExactly(
                        "base " + base,
                        "adapter " + adapter,
                        "safety " + Fixture.HARMFUL.toAbsolutePath().normalize(),
                        "benign " + Fixture.BENIGN.toAbsolutePath().normalize(),
                        "task " + Fixture.NUMERIC.toAbsolutePath().normalize());
        summary.path("inputs").forEach(hash -> assertThat(hash.asText()).matches("(sha256:)?[0-9a-f]{64}"));
        assertThat(summary.at("/versions/java").asText()).isNotEmpty();
        for (String name : names) {
            assertThat(summary.path("timings_seconds").path(name).asDouble())
                    .as(name)
                    .isPositive();
        }

        assertThat(out.resolve("plan.yml")).exists();
        assertThat(out.resolve("selected/config.json")).exists();
        assertThat(Files.readString(out.resolve("selected/README.md"))).contains("Measured by safemerge safeguard");
        assertThat(out.resolve("models")).isEmptyDirectory(); // merged models are deleted after evaluation
        String html = Files.readString(out.resolve("report.html"));
        assertThat(html)
                .contains("<svg")
                .doesNotContain("<script")
                .doesNotContain("<link")
                .doesNotContain("src=");
        // self-contained: the only URLs are the SVG namespace names, which are never fetched
        assertThat(java.util.regex.Pattern.compile("https?://[^\"' )]*")
                        .matcher(html)
                        .results()
                        .map(java.util.regex.MatchResult::group)
                        .distinct())
                .allMatch(url -> url.startsWith("http://www.w3.org/"));
    }

    @Test
    void aKilledRunResumesWithoutMergingOrGeneratingAgain() throws IOException {
        Path base = Fixture.base(tmp);
        Path adapter = Fixture.adapter(tmp, "adapter", 7);
        SafeguardPlan plan = Fixture.plan(
                base, List.of(adapter), List.of("linear", "slerp"), List.of(0.3, 0.7), "safety-bound:0.05");

        // The reference: one uninterrupted run.
        Path reference = tmp.resolve("reference");
        SafeguardRunner.run(plan, reference, SafeguardRunner.Events.NONE, Progress.SILENT, QUIET);

        // Killed right after slerp-0.30 was merged and before it was evaluated.
        Path out = tmp.resolve("run");
        List<String> merges = new ArrayList<>();
        SafeguardRunner.Events killer = new SafeguardRunner.Events() {
            @Override
            public void merged(String variant) {
                merges.add(variant);
                if (variant.equals("slerp-0.30")) {
                    throw new Killed();
                }
            }
        };
        assertThatThrownBy(() -> SafeguardRunner.run(plan, out, killer, Progress.SILENT, QUIET))
                .isInstanceOf(Killed.class);
        assertThat(out.resolve("eval/linear-0.70/result.json")).exists();
        assertThat(out.resolve("eval/slerp-0.30/result.json")).doesNotExist();
        long cachedBefore =
                Files.readAllLines(out.resolve("generation-cache.jsonl")).size();

        List<String> resumedMerges = new ArrayList<>();
        SafeguardRunner.Result resumed = SafeguardRunner.run(
                plan,
                out,
                new SafeguardRunner.Events() {
                    @Override
                    public void merged(String variant) {
                        resumedMerges.add(variant);
                    }
                },
                Progress.SILENT,
                QUIET);
        // every merge happened once over both invocations (linear runs as scaled adapters, unmerged); slerp-0.30's
        // finished merge was reused
        assertThat(merges).containsExactly("slerp-0.30");
        assertThat(resumedMerges).containsExactly("slerp-0.70");
        // every answer generated once: the cache holds exactly as many records as the uninterrupted run's
        List<String> cache = Files.readAllLines(out.resolve("generation-cache.jsonl"));
        assertThat(cache)
                .hasSize(Files.readAllLines(reference.resolve("generation-cache.jsonl"))
                        .size());
        assertThat(cache.size()).isGreaterThan((int) cachedBefore);
        // and the results are the uninterrupted run's
        JsonNode a = Json.MAPPER.readTree(out.resolve("summary.json").toFile());
        JsonNode b = Json.MAPPER.readTree(reference.resolve("summary.json").toFile());
        assertThat(a.path("selected")).isEqualTo(b.path("selected"));
        for (int i = 0; i < a.path("variants").size(); i++) {
            JsonNode va = a.path("variants").get(i);
            JsonNode vb = b.path("variants").get(i);
            assertThat(va.path("asr_by_set")).isEqualTo(vb.path("asr_by_set"));
            assertThat(va.path("task_by_set")).isEqualTo(vb.path("task_by_set"));
        }
        assertThat(resumed.selected().selected()).isNotNull();
    }

    static int lines(Path file) throws IOException {
        return (int) Files.readAllLines(file).stream().filter(l -> !l.isBlank()).count();
    }

    static final class Killed extends RuntimeException {
        private static final long serialVersionUID = 1L;
    }

    /**
     * The linear and task-arithmetic variants of a LoRA fine-tune run as base + λ·adapter over one loaded base, with
     * nothing merged; the same study over the fine-tune materialized as a full checkpoint merges each variant to
     * disk. Both are float32 evaluations of the same weights (the tiny base is float32): their answers, hence every
     * verdict, count and score, agree.
     */
    @Test
    void loraVariantsRunAsScaledAdaptersOverOneBaseAndMatchTheirMaterializedMerges() throws IOException {
        Path base = Fixture.base(tmp);
        Path adapter = Fixture.adapter(tmp, "adapter", 7);
        List<Double> lambdas = List.of(0.3, 0.7);
        List<String> methods = List.of("linear", "task_arithmetic");
        List<String> merged = new ArrayList<>();
        SafeguardRunner.Events recordMerges = new SafeguardRunner.Events() {
            @Override
            public void merged(String variant) {
                merged.add(variant);
            }
        };
        Path swept = tmp.resolve("swept");
        SafeguardRunner.Result viaAdapter = SafeguardRunner.run(
                Fixture.plan(base, List.of(adapter), methods, lambdas, "pareto"),
                swept,
                recordMerges,
                Progress.SILENT,
                QUIET);
        assertThat(merged).isEmpty();
        assertThat(swept.resolve("models")).doesNotExist();

        // the fine-tune as a full checkpoint: every variant is merged to disk, evaluated and deleted
        Path finetuned = materialized(base, adapter, tmp.resolve("finetuned"));
        SafeguardPlan full = asCheckpoints(Fixture.plan(base, List.of(), methods, lambdas, "pareto"), finetuned);
        SafeguardRunner.Result viaMerge =
                SafeguardRunner.run(full, tmp.resolve("merged"), recordMerges, Progress.SILENT, QUIET);
        assertThat(merged)
                .containsExactly("linear-0.30", "linear-0.70", "task_arithmetic-0.30", "task_arithmetic-0.70");
        assertThat(tmp.resolve("merged").resolve("models")).isEmptyDirectory();

        assertThat(viaAdapter.variants()).hasSize(6);
        assertSameMeasurements(viaAdapter, viaMerge);
        // the answers themselves agree, not only the counts
        for (String variant : List.of("linear-0.30", "task_arithmetic-0.70")) {
            Path answers = Path.of("eval", variant, "safety", "harmful");
            try (var files = Files.list(swept.resolve(answers))) {
                for (Path file :
                        files.filter(f -> f.toString().endsWith(".jsonl")).toList()) {
                    assertThat(file)
                            .hasSameTextualContentAs(
                                    tmp.resolve("merged").resolve(answers).resolve(file.getFileName()));
                }
            }
        }
        // the scales change the answers, so the agreement is not that of identical models
        Path low = swept.resolve("eval/linear-0.30/safety/harmful");
        Path high = swept.resolve("eval/linear-0.70/safety/harmful");
        try (var files = Files.list(low)) {
            Path file = files.filter(f -> f.toString().endsWith(".jsonl"))
                    .findFirst()
                    .orElseThrow();
            assertThat(Files.readString(file)).isNotEqualTo(Files.readString(high.resolve(file.getFileName())));
        }
    }

    /**
     * With one LoRA fine-tune in-process, the base (no adapter), the fine-tune (scale 1) and the linear variants (scale
     * λ) are all sequences over the one loaded base: the answers in the cache come from exactly these three models,
     * none from a separately loaded fine-tune.
     */
    @Test
    void baseAndFineTuneRunOverTheSweepsOneBase() throws IOException {
        Path base = Fixture.base(tmp);
        Path adapter = Fixture.adapter(tmp, "adapter", 7);
        Path out = tmp.resolve("run");
        java.io.StringWriter log = new java.io.StringWriter();
        SafeguardRunner.run(
                Fixture.plan(base, List.of(adapter), List.of("linear"), List.of(0.5), "pareto"),
                out,
                SafeguardRunner.Events.NONE,
                Progress.SILENT,
                new PrintWriter(log));

        Set<String> models = cachedModels(out);
        String withAdapter = "in-process " + ModelFingerprint.of(base, adapter);
        assertThat(models)
                .containsExactlyInAnyOrder(
                        "in-process " + ModelFingerprint.of(base, null),
                        withAdapter + " scaled 1.0",
                        withAdapter + " scaled 0.5");
        assertThat(log.toString()).contains("evaluating base, finetuned together as base + scale·adapter");
        assertThat(out.resolve("models")).doesNotExist();
    }

    /**
     * {@code --lambdas auto} over one LoRA fine-tune evaluates its probes as scaled adapters over the one base: nothing
     * is merged or written but the export of the selection; its pick is the pick of the whole grid evaluated the same way (the grid is its oracle),
     * every probe's measurements are the grid's at that λ; a rerun evaluates nothing again.
     */
    @Test
    void autoLambdasOverAnAdapterMergeNothingAgreeWithTheGridAndResume() throws IOException {
        Path base = Fixture.base(tmp);
        Path adapter = Fixture.adapter(tmp, "adapter", 7);
        String rule = "safety-bound:0.05";
        List<String> merged = new ArrayList<>();
        List<String> evaluated = new ArrayList<>();
        SafeguardRunner.Events record = new SafeguardRunner.Events() {
            @Override
            public void merged(String variant) {
                merged.add(variant);
            }

            @Override
            public void evaluated(VariantResult result) {
                evaluated.add(result.name());
            }
        };
        SafeguardPlan autoPlan = Fixture.plan(base, List.of(adapter), List.of("linear"), List.of(), rule);
        Path out = tmp.resolve("auto");
        SafeguardRunner.Result auto = SafeguardRunner.run(autoPlan, out, record, Progress.SILENT, QUIET);
        assertThat(merged).isEmpty();
        assertThat(out.resolve("models")).doesNotExist();
        assertThat(out.resolve("adapters")).doesNotExist();
        assertThat(auto.variants().size()).isGreaterThan(2);

        SafeguardRunner.Result grid = SafeguardRunner.run(
                Fixture.plan(base, List.of(adapter), List.of("linear"), AutoLambda.GRID, rule),
                tmp.resolve("grid"),
                SafeguardRunner.Events.NONE,
                Progress.SILENT,
                QUIET);
        assertThat(auto.selected().selected()).isNotNull();
        assertThat(auto.selected().selected().name())
                .isEqualTo(grid.selected().selected().name());
        for (VariantResult a : auto.variants()) {
            VariantResult g = grid.variants().stream()
                    .filter(r -> r.name().equals(a.name()))
                    .findFirst()
                    .orElseThrow();
            assertThat(a.safetyBySet()).as(a.name()).isEqualTo(g.safetyBySet());
            assertThat(a.taskBySet()).as(a.name()).isEqualTo(g.taskBySet());
        }

        merged.clear();
        evaluated.clear();
        SafeguardRunner.Result again = SafeguardRunner.run(autoPlan, out, record, Progress.SILENT, QUIET);
        assertThat(evaluated).isEmpty();
        assertThat(merged).isEmpty();
        assertThat(again.variants().stream().map(VariantResult::name))
                .containsExactlyElementsOf(
                        auto.variants().stream().map(VariantResult::name).toList());
    }

    /**
     * A selected linear variant of a LoRA fine-tune is exported as a model (base + λ·ΔW, with its numbers in the model
     * card) and as the λ-scaled adapter, which applied to the base gives that model. The measurements are written
     * beforehand as finished evaluations, so the selection is known: only linear-0.50 is within the bound and better
     * than the base at the task.
     */
    @Test
    void aSelectedLinearVariantIsExportedAsAModelAndAsItsLambdaScaledAdapter() throws IOException {
        Path base = Fixture.base(tmp);
        Path adapter = Fixture.adapter(tmp, "adapter", 7);
        Path out = tmp.resolve("run");
        finished(out, "base", null, null, 1, 0.2);
        finished(out, "finetuned", null, null, 5, 0.9);
        finished(out, "linear-0.50", "linear", 0.5, 1, 0.6);
        SafeguardRunner.Result result = SafeguardRunner.run(
                Fixture.plan(base, List.of(adapter), List.of("linear"), List.of(0.5), "safety-bound:0.05"),
                out,
                SafeguardRunner.Events.NONE,
                Progress.SILENT,
                QUIET);
        assertThat(result.selected().selected().name()).isEqualTo("linear-0.50");
        assertThat(Files.readString(out.resolve("selected/README.md")))
                .contains("Selected variant `linear-0.50`")
                .contains("| ASR (pooled) | 0.1667 |");
        try (dev.safemerge.tensor.ModelDirectory selected =
                        dev.safemerge.tensor.ModelDirectory.open(out.resolve("selected"));
                dev.safemerge.tensor.ModelDirectory baseDir = dev.safemerge.tensor.ModelDirectory.open(base);
                dev.safemerge.tensor.LoraAdapter scaled =
                        dev.safemerge.tensor.LoraAdapter.open(out.resolve("selected-adapter"));
                dev.safemerge.tensor.LoraAdapter tuned = dev.safemerge.tensor.LoraAdapter.open(adapter);
                dev.safemerge.tensor.TensorSource viaScaled = scaled.applied(baseDir);
                dev.safemerge.tensor.TensorSource viaTuned = tuned.applied(baseDir)) {
            assertThat(selected.tensorNames()).isEqualTo(baseDir.tensorNames());
            int adapted = 0;
            for (String name : baseDir.tensorNames()) {
                float[] b = baseDir.readFloats(name);
                float[] t = viaTuned.readFloats(name);
                float[] m = selected.readFloats(name);
                float[] a = viaScaled.readFloats(name);
                boolean changed = false;
                for (int i = 0; i < b.length; i++) {
                    double delta = (double) t[i] - b[i];
                    changed |= delta != 0;
                    // Both sides are float32 sums of a few roundings of terms no larger than |w| + |ΔW| (the rank-4
                    // product, the scale, the sum with the base): 16 units in the last place of that bound.
                    double tolerance = 16 * Math.ulp((float) (Math.abs(b[i]) + Math.abs(delta)));
                    assertThat((double) m[i]).as(name).isCloseTo(b[i] + 0.5 * delta, within(tolerance));
                    assertThat((double) a[i]).as(name).isCloseTo(m[i], within(tolerance));
                }
                adapted += changed ? 1 : 0;
            }
            assertThat(adapted).isEqualTo(4); // q_proj and v_proj of both layers
        }
    }

    /** The fine-tune base + adapter written as a full float32 checkpoint, as a full fine-tune would be given. */
    static Path materialized(Path base, Path adapter, Path target) throws IOException {
        Path config = Files.writeString(
                target.resolveSibling(target.getFileName() + ".yml"),
                "merge_method: linear\ndtype: float32\nmodels:\n  - model: '" + base + "+" + adapter
                        + "'\n    parameters: {weight: 1.0}\n");
        dev.safemerge.merge.Merger.run(
                config,
                dev.safemerge.merge.Merger.Options.into(target)
                        .seed(42)
                        .log(QUIET)
                        .build());
        return target;
    }

    /** The same plan with full fine-tuned checkpoints instead of its adapters. */
    private static SafeguardPlan asCheckpoints(SafeguardPlan plan, Path... finetuned) {
        return new SafeguardPlan(
                plan.base(),
                List.of(),
                List.of(finetuned),
                plan.methods(),
                plan.lambdas(),
                plan.safety(),
                plan.benign(),
                plan.tasks(),
                plan.judge(),
                plan.judgeModel(),
                plan.select(),
                plan.limit(),
                plan.protocolSettings(),
                plan.validationFraction(),
                plan.density(),
                plan.batch(),
                plan.threads(),
                plan.keepModels());
    }

    /** Each variant measured the same in both runs: the same names in order, counts, over-refusal and task scores. */
    private static void assertSameMeasurements(SafeguardRunner.Result actual, SafeguardRunner.Result expected) {
        assertThat(actual.variants())
                .extracting(VariantResult::name)
                .containsExactlyElementsOf(
                        expected.variants().stream().map(VariantResult::name).toList());
        for (int i = 0; i < actual.variants().size(); i++) {
            VariantResult a = actual.variants().get(i);
            VariantResult e = expected.variants().get(i);
            assertThat(a.safetyBySet()).as(a.name()).isEqualTo(e.safetyBySet());
            assertThat(a.overRefusal()).as(a.name()).isEqualTo(e.overRefusal());
            assertThat(a.taskBySet()).as(a.name()).isEqualTo(e.taskBySet());
        }
    }

    /**
     * With several LoRA fine-tunes (model_stock's seeds), the base, the fine-tune and its linear variants still run
     * as sequences over the one loaded base; only model_stock is merged. Each measures what the same study measures
     * with the fine-tunes given as full checkpoints, where base and fine-tune are engines of their own and every
     * variant a merged checkpoint.
     */
    @Test
    void severalLoraFineTunesRunOverOneBaseAndMeasureAsSeparateEngines() throws IOException {
        Path base = Fixture.base(tmp);
        Path first = Fixture.adapter(tmp, "adapter-42", 42);
        Path second = Fixture.adapter(tmp, "adapter-1024", 1024);
        List<String> methods = List.of("linear", "model_stock");
        List<String> merged = new ArrayList<>();
        SafeguardRunner.Events recordMerges = new SafeguardRunner.Events() {
            @Override
            public void merged(String variant) {
                merged.add(variant);
            }
        };
        Path swept = tmp.resolve("swept");
        java.io.StringWriter log = new java.io.StringWriter();
        SafeguardPlan adapters = Fixture.plan(base, List.of(first, second), methods, List.of(0.5), "pareto");
        SafeguardRunner.Result overOneBase =
                SafeguardRunner.run(adapters, swept, recordMerges, Progress.SILENT, new PrintWriter(log));
        assertThat(merged).containsExactly("model_stock");
        assertThat(log.toString()).contains("evaluating base, finetuned together as base + scale·adapter");
        Set<String> models = cachedModels(swept);
        String withAdapter = "in-process " + ModelFingerprint.of(base, first);
        assertThat(models)
                .contains(
                        "in-process " + ModelFingerprint.of(base, null),
                        withAdapter + " scaled 1.0",
                        withAdapter + " scaled 0.5")
                .hasSize(4); // and the model_stock merge

        merged.clear();
        SafeguardPlan checkpoints = asCheckpoints(
                adapters,
                materialized(base, first, tmp.resolve("finetuned-42")),
                materialized(base, second, tmp.resolve("finetuned-1024")));
        SafeguardRunner.Result separate =
                SafeguardRunner.run(checkpoints, tmp.resolve("separate"), recordMerges, Progress.SILENT, QUIET);
        assertThat(merged).containsExactly("linear-0.50", "model_stock");
        assertSameMeasurements(overOneBase, separate);
        // the answers themselves agree, and the fine-tune changes them, so this is not the agreement of identical
        // models
        Path items = Path.of("safety", "harmful", "items.jsonl");
        for (String variant : List.of("base", "finetuned", "linear-0.50")) {
            Path answers = Path.of("eval", variant).resolve(items);
            assertThat(swept.resolve(answers))
                    .hasSameTextualContentAs(tmp.resolve("separate").resolve(answers));
        }
        assertThat(Files.readString(swept.resolve("eval/finetuned").resolve(items)))
                .isNotEqualTo(Files.readString(swept.resolve("eval/base").resolve(items)));
    }

    /** A finished evaluation in a run's folder, as a killed run leaves it. */
    private static void finished(Path out, String name, String method, Double lambda, int unsafe, double task) {
        VariantResult r = new VariantResult(
                name,
                method,
                lambda,
                java.util.Map.of("harmful", new VariantResult.SafetyCounts(6, unsafe, 0)),
                new Rate(1, 6),
                java.util.Map.of("numeric", new VariantResult.TaskScore(task, 5, null, 0, null)),
                1.0);
        AtomicFile.write(out.resolve("eval").resolve(name).resolve("result.json"), Json.pretty(r.toJson()));
    }

    /** The models whose answers a run's generation cache holds. */
    private static Set<String> cachedModels(Path out) throws IOException {
        Set<String> models = new TreeSet<>();
        for (String line : Files.readAllLines(out.resolve("generation-cache.jsonl"))) {
            models.add(Json.MAPPER.readTree(line).path("model").asText());
        }
        return models;
    }
}
