package dev.safemerge.safeguard;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.safemerge.eval.Json;
import dev.safemerge.eval.data.PromptItem;
import dev.safemerge.eval.gen.AdapterSweep;
import dev.safemerge.eval.gen.CachedGenerator;
import dev.safemerge.eval.gen.GenerationCache;
import dev.safemerge.eval.gen.LocalModels;
import dev.safemerge.eval.gen.ModelFingerprint;
import dev.safemerge.eval.gen.ResponseGenerator;
import dev.safemerge.eval.judge.Judge;
import dev.safemerge.eval.judge.LlamaGuard;
import dev.safemerge.eval.judge.RefusalJudge;
import dev.safemerge.eval.judge.WildGuard;
import dev.safemerge.eval.run.AnswerSource;
import dev.safemerge.eval.run.Protocol;
import dev.safemerge.eval.run.SafetyEvaluation;
import dev.safemerge.eval.run.TaskEvaluation;
import dev.safemerge.eval.task.TaskItem;
import dev.safemerge.eval.task.TaskMetric;
import dev.safemerge.eval.task.TaskMetrics;
import dev.safemerge.merge.Merger;
import dev.safemerge.tensor.AtomicDirectory;
import dev.safemerge.tensor.AtomicFile;
import dev.safemerge.tensor.BadInputException;
import dev.safemerge.tensor.CheckpointConfig;
import dev.safemerge.tensor.ModelDirectory;
import dev.safemerge.tensor.Progress;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.stream.Stream;

/**
 * Runs a {@link SafeguardPlan} into a folder: evaluates the base, the fine-tuned model and every (method, λ) merge,
 * selects a variant, exports it and writes {@code summary.json} and {@code report.html}.
 *
 * <p>Every finished step is on disk before the next starts, so a killed run continues where it stopped: a variant's
 * {@code eval/NAME/result.json} (written atomically) marks it done and it is neither merged nor evaluated again; a
 * merge appears in {@code models/NAME} only when complete and is not merged again; every generated answer and judge
 * verdict is in {@code generation-cache.jsonl}, keyed by the model's content hash, so no answer is generated twice.
 * Merged models are deleted after their evaluation unless the plan keeps them.
 */
public final class SafeguardRunner {
    /** Steps as they happen; tests interrupt a run through them. */
    public interface Events {
        Events NONE = new Events() {};

        default void merged(String variant) {}

        default void evaluated(VariantResult result) {}
    }

    /**
     * @param selected the selected variant and why, or none
     * @param exported DIR/selected, or null without a selection
     */
    public record Result(List<VariantResult> variants, Selection.Outcome selected, Path exported) {}

    /** A point of the sweep. */
    record Variant(String name, String method, Double lambda) {}

    private final SafeguardPlan plan;
    private final Path out;
    private final Events events;
    private final Progress.Factory progress;
    private final PrintWriter log;
    private final SafeguardEndpoints endpoints;
    private final RemoteVariants remote;

    private SafeguardRunner(
            SafeguardPlan plan,
            SafeguardEndpoints endpoints,
            RemoteVariants remote,
            Path out,
            Events events,
            Progress.Factory progress,
            PrintWriter log) {
        this.plan = plan;
        this.endpoints = endpoints;
        this.remote = remote;
        this.out = out;
        this.events = events;
        this.progress = progress;
        this.log = log;
    }

    /** Validates the plan, then runs it (or continues a run of the same plan) in {@code out}, in-process. */
    public static Result run(SafeguardPlan plan, Path out, Events events, Progress.Factory progress, PrintWriter log) {
        return run(plan, SafeguardEndpoints.NONE, out, events, progress, log);
    }

    /**
     * Validates the plan and contacts every server, then runs the plan (or continues a run of the same plan) in
     * {@code out}, generating on the servers where an adapter expresses the variant and in-process where not.
     */
    public static Result run(
            SafeguardPlan plan,
            SafeguardEndpoints endpoints,
            Path out,
            Events events,
            Progress.Factory progress,
            PrintWriter log) {
        SafeguardPlan absolute = plan.absolute();
        absolute.validate();
        endpoints.check(absolute);
        Path dir = out.toAbsolutePath().normalize();
        if (dir.toString().contains("+")) {
            throw new BadInputException(out + ": --out must not contain '+' (mergekit's base+adapter separator)");
        }
        RemoteVariants remote =
                endpoints.generation().isEmpty() ? null : RemoteVariants.connect(endpoints, absolute.base());
        if (endpoints.judge() != null) {
            RemoteVariants.judge(endpoints);
        }
        writePlan(absolute, dir);
        return new SafeguardRunner(absolute, endpoints, remote, dir, events, progress, log).run();
    }

    private static void writePlan(SafeguardPlan plan, Path dir) {
        Path file = dir.resolve("plan.yml");
        String yaml = plan.toYaml();
        try {
            if (Files.exists(file)) {
                if (!Files.readString(file).equals(yaml)) {
                    throw new BadInputException(dir + " holds a run of a different plan (" + file
                            + "); continue it with --plan " + file + " or use a new --out");
                }
                return;
            }
            Files.createDirectories(dir);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        AtomicFile.write(file, yaml);
    }

    private Result run() {
        long started = System.nanoTime();
        List<VariantResult> results = new ArrayList<>();
        try (GenerationCache cache = GenerationCache.open(out.resolve("generation-cache.jsonl"));
                JudgeBackend judgeBackend = JudgeBackend.open(plan, endpoints);
                OneBase oneBase = new OneBase()) {
            Judge judge = judgeBackend.judge(cache);
            Variant base = new Variant(VariantResult.BASE, null, null);
            Variant finetuned = new Variant(VariantResult.FINETUNED, null, null);
            if (overOneBase()) {
                results.addAll(together(List.of(base, finetuned), oneBase, cache, judge));
            } else {
                results.add(variant(base, oneBase, cache, judge));
                results.add(variant(finetuned, oneBase, cache, judge));
            }
            for (String method : plan.methods()) {
                if (!SafeguardPlan.hasLambda(method)) {
                    results.add(variant(new Variant(method, method, null), oneBase, cache, judge));
                } else if (plan.autoLambdas()) {
                    double delta = ((SelectionRule.SafetyBound) plan.select()).delta();
                    VariantResult baseResult = results.getFirst();
                    if (!baseResult.asr().known()) {
                        // Without the base's ASR there is no bound to search for; the selection reports it.
                        log.println("--lambdas auto: the base's ASR is undefined, so " + method + " is not searched");
                        continue;
                    }
                    boolean scaled = asScaledAdapter(method);
                    AutoLambda.Probe probe = lambda -> {
                        Variant v = new Variant(name(method, lambda), method, lambda);
                        return scaled
                                ? together(List.of(v), oneBase, cache, judge).getFirst()
                                : variant(v, oneBase, cache, judge);
                    };
                    results.addAll(AutoLambda.search(AutoLambda.GRID, baseResult, delta, probe)
                            .evaluated());
                } else if (asScaledAdapter(method)) {
                    results.addAll(together(
                            plan.lambdas().stream()
                                    .map(lambda -> new Variant(name(method, lambda), method, lambda))
                                    .toList(),
                            oneBase,
                            cache,
                            judge));
                } else {
                    for (double lambda : plan.lambdas()) {
                        results.add(variant(new Variant(name(method, lambda), method, lambda), oneBase, cache, judge));
                    }
                }
            }
        }
        Selection.Outcome outcome = Selection.select(results, plan.select());
        Path exported = outcome.selected() == null ? null : export(outcome.selected());
        double seconds = (System.nanoTime() - started) / 1e9;
        ObjectNode summary = summary(results, outcome, seconds);
        AtomicFile.write(out.resolve("summary.json"), Json.pretty(summary));
        AtomicFile.write(out.resolve("report.html"), Report.html(summary, out));
        return new Result(results, outcome, exported);
    }

    static String name(String method, double lambda) {
        return String.format(Locale.ROOT, "%s-%.2f", method, lambda);
    }

    /**
     * Whether the variants a LoRA fine-tune expresses as base + scale·adapter (the base at no adapter, the fine-tune
     * at scale 1, linear and task-arithmetic merges at λ) run in-process over one loaded base. With several LoRA
     * fine-tunes (model_stock's seeds) those variants are of the first, as their merges are, and run over the one
     * base just the same; model_stock itself is a full merge.
     */
    private boolean overOneBase() {
        return remote == null && !plan.adapters().isEmpty();
    }

    /**
     * A linear or task-arithmetic merge of the base and a LoRA fine-tune at λ is exactly base + λ·adapter, so those
     * variants run as scaled adapters over one loaded base instead of merged checkpoints.
     */
    private boolean asScaledAdapter(String method) {
        return overOneBase() && (method.equals("linear") || method.equals("task_arithmetic"));
    }

    /** The scale of the fine-tune's adapter in a variant over the one base: none for the base, 1 for the fine-tune. */
    private static Double adapterScale(Variant variant) {
        return switch (variant.name()) {
            case VariantResult.BASE -> null;
            case VariantResult.FINETUNED -> 1.0;
            default -> variant.lambda();
        };
    }

    /**
     * The one loaded base of the variants run as base + scale·adapter, loaded on first use and released before a
     * merged model is loaded, so that one run holds at most one model's weights for generation at a time.
     */
    private final class OneBase implements AutoCloseable {
        private AdapterSweep sweep;

        AdapterSweep sweep() {
            if (sweep == null) {
                sweep = AdapterSweep.open(plan.base(), plan.adapters().getFirst(), plan.batch(), plan.threads());
            }
            return sweep;
        }

        @Override
        public void close() {
            if (sweep != null) {
                sweep.close();
                sweep = null;
            }
        }
    }

    /**
     * Evaluates variants together, each in its own thread, over ONE copy of the base: their generation calls meet in
     * one continuous batch ({@link AdapterSweep}), each sequence with its variant's adapter scale. No checkpoint is
     * written; finished variants are read back as in {@link #variant}.
     */
    private List<VariantResult> together(List<Variant> variants, OneBase oneBase, GenerationCache cache, Judge judge) {
        VariantResult[] results = new VariantResult[variants.size()];
        List<Integer> pending = new ArrayList<>();
        for (int i = 0; i < variants.size(); i++) {
            results[i] = finished(variants.get(i));
            if (results[i] == null) {
                pending.add(i);
            }
        }
        if (pending.isEmpty()) {
            return kept(variants, results);
        }
        log.println("evaluating "
                + String.join(
                        ", ", pending.stream().map(i -> variants.get(i).name()).toList())
                + (pending.size() > 1 ? " together" : "")
                + " as base + scale·adapter over one loaded base");
        log.flush();
        AdapterSweep sweep = oneBase.sweep();
        try (ExecutorService threads = Executors.newThreadPerTaskExecutor(
                Thread.ofPlatform().name("variant-", 0).factory())) {
            List<Future<?>> running = new ArrayList<>();
            // every variant is open before any generates, so the first batch already holds them all
            List<ResponseGenerator> generators = pending.stream()
                    .map(i -> {
                        Double scale = adapterScale(variants.get(i));
                        return scale == null ? sweep.base() : sweep.variant(scale);
                    })
                    .toList();
            for (int k = 0; k < pending.size(); k++) {
                int i = pending.get(k);
                ResponseGenerator generator = generators.get(k);
                running.add(threads.submit(() -> {
                    long started = System.nanoTime();
                    try (generator) {
                        results[i] = evaluate(variants.get(i), new CachedGenerator(generator, cache), judge, started);
                    }
                    record(results[i]);
                    events.evaluated(results[i]);
                }));
            }
            for (Future<?> future : running) {
                future.get();
            }
        } catch (ExecutionException e) {
            if (e.getCause() instanceof RuntimeException runtime) {
                throw runtime;
            }
            throw new IllegalStateException(e.getCause());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(
                    "interrupted while evaluating " + variants.getFirst().name(), e);
        }
        return kept(variants, results);
    }

    /** With --keep-models, what is kept of merges that were never merged: their λ-scaled adapters, written in turn. */
    private List<VariantResult> kept(List<Variant> variants, VariantResult[] results) {
        if (plan.keepModels()) {
            variants.stream().filter(v -> v.method() != null).forEach(this::writeScaledAdapter);
        }
        return List.of(results);
    }

    /** A variant's result from an earlier run, or null when it is still to evaluate. */
    private VariantResult finished(Variant variant) {
        Path done = out.resolve("eval").resolve(variant.name()).resolve("result.json");
        if (!Files.isRegularFile(done)) {
            return null;
        }
        try {
            return VariantResult.fromJson(Json.MAPPER.readTree(done.toFile()));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + done, e);
        }
    }

    /** Marks a variant done: its result, written atomically. */
    private void record(VariantResult result) {
        AtomicFile.write(
                out.resolve("eval").resolve(result.name()).resolve("result.json"), Json.pretty(result.toJson()));
    }

    /** Evaluates a variant on its own: on the servers, or in-process from its merged model (after releasing the base). */
    private VariantResult variant(Variant variant, OneBase oneBase, GenerationCache cache, Judge judge) {
        VariantResult earlier = finished(variant);
        if (earlier != null) {
            return earlier;
        }
        oneBase.close();
        long started = System.nanoTime();
        Path model = plan.base();
        Path adapter = null;
        boolean merged = false;
        ResponseGenerator served = remote == null ? null : served(variant);
        if (served == null && variant.method() != null) {
            model = merge(variant, out.resolve("models").resolve(variant.name()));
            merged = true;
        } else if (variant.name().equals(VariantResult.FINETUNED)) {
            if (plan.adapters().isEmpty()) {
                model = plan.finetuned().getFirst();
            } else {
                adapter = plan.adapters().getFirst();
            }
        }
        log.println("evaluating " + variant.name());
        log.flush();
        VariantResult result;
        try (ResponseGenerator generator =
                served != null ? served : LocalModels.open(model, adapter, plan.batch(), plan.threads())) {
            result = evaluate(variant, new CachedGenerator(generator, cache), judge, started);
        }
        record(result);
        if (merged && !plan.keepModels()) {
            deleteTree(model);
        }
        Path scaled = scaledAdapterDir(variant);
        if (Files.isDirectory(scaled) && !plan.keepModels()) {
            deleteTree(scaled);
        }
        events.evaluated(result);
        return result;
    }

    /**
     * The variant on the servers, its adapter (the fine-tune's, or the λ-scaled one written here unless an earlier run
     * did) loaded on each; null for a variant that only a full merge expresses, which is evaluated in-process.
     */
    private ResponseGenerator served(Variant variant) {
        return switch (RemoteVariants.form(plan, variant)) {
            case BASE -> remote.open(variant.name(), null);
            case ADAPTER -> remote.open(variant.name(), plan.adapters().getFirst());
            case SCALED_ADAPTER -> remote.open(variant.name(), writeScaledAdapter(variant));
            case FULL -> {
                log.println(variant.name() + ": a full merge, which no adapter expresses: evaluated in-process");
                yield null;
            }
        };
    }

    private Path scaledAdapterDir(Variant variant) {
        return out.resolve("adapters").resolve(variant.name());
    }

    /** Writes the variant's λ-scaled adapter to {@code adapters/NAME} unless an earlier run did; returns that folder. */
    private Path writeScaledAdapter(Variant variant) {
        Path target = scaledAdapterDir(variant);
        if (!Files.isDirectory(target)) {
            Path config = out.resolve("merges").resolve(variant.name() + ".yml");
            AtomicFile.write(config, mergeYaml(variant.method(), variant.lambda()));
            log.println("writing the λ-scaled adapter " + variant.name());
            runMerge(config, target, true);
            events.merged(variant.name());
        }
        return target;
    }

    private VariantResult evaluate(Variant variant, ResponseGenerator generator, Judge judge, long started) {
        AnswerSource source = new AnswerSource.Generated(generator);
        Path dir = out.resolve("eval").resolve(variant.name());
        ObjectNode config = Json.object();
        config.put("variant", variant.name());
        Map<String, VariantResult.SafetyCounts> safety = new LinkedHashMap<>();
        for (SafeguardPlan.SafetySet set : plan.safety()) {
            ObjectNode summary = SafetyEvaluation.run(
                            plan.prompts(set.path()),
                            source,
                            plan.protocol(),
                            judge,
                            false,
                            SafetyEvaluation.DEFAULT_MAX_MISS_RATE,
                            config,
                            dir.resolve("safety").resolve(set.name()),
                            progress)
                    .summary();
            safety.put(
                    set.name(),
                    new VariantResult.SafetyCounts(
                            summary.get("total").asInt(),
                            summary.get("unsafe").asInt(),
                            summary.get("missing").asInt()));
        }
        Rate overRefusal = null;
        if (plan.benign() != null) {
            List<PromptItem> benign = plan.prompts(plan.benign());
            ObjectNode summary = SafetyEvaluation.run(
                            benign,
                            source,
                            plan.protocol(),
                            judge,
                            true,
                            SafetyEvaluation.DEFAULT_MAX_MISS_RATE,
                            config,
                            dir.resolve("benign"),
                            progress)
                    .summary();
            int total = summary.get("total").asInt();
            overRefusal = new Rate((int) Math.round(summary.get("refusal_rate").asDouble() * total), total);
        }
        Map<String, VariantResult.TaskScore> tasks = new LinkedHashMap<>();
        boolean split = plan.select() instanceof SelectionRule.Validation;
        for (SafeguardPlan.TaskSet set : plan.tasks()) {
            TaskMetric metric = TaskMetrics.byName(set.metric());
            Protocol protocol = plan.protocol()
                    .forMetric(set.metric(), metric, plan.protocolSettings().maxNewTokens() != null);
            Path taskDir = dir.resolve("task").resolve(set.name());
            if (split) {
                List<List<TaskItem>> parts = plan.split(set);
                ObjectNode validation = TaskEvaluation.run(
                                metric,
                                parts.get(0),
                                source,
                                protocol,
                                1,
                                config,
                                taskDir.resolve("validation"),
                                progress)
                        .summary();
                ObjectNode reported = TaskEvaluation.run(
                                metric,
                                parts.get(1),
                                source,
                                protocol,
                                1,
                                config,
                                taskDir.resolve("reported"),
                                progress)
                        .summary();
                tasks.put(
                        set.name(),
                        new VariantResult.TaskScore(
                                score(reported),
                                parts.get(1).size(),
                                score(validation),
                                parts.get(0).size(),
                                correct(reported)));
            } else {
                List<TaskItem> items = plan.taskItems(set);
                ObjectNode summary = TaskEvaluation.run(metric, items, source, protocol, 1, config, taskDir, progress)
                        .summary();
                tasks.put(
                        set.name(),
                        new VariantResult.TaskScore(score(summary), items.size(), null, 0, correct(summary)));
            }
        }
        double seconds = (System.nanoTime() - started) / 1e9;
        return new VariantResult(
                variant.name(), variant.method(), variant.lambda(), safety, overRefusal, tasks, seconds);
    }

    /** Items scored 1 when the metric scores each item 0 or 1 (the evaluation then gives the score an interval). */
    private static Integer correct(ObjectNode summary) {
        Double score = score(summary);
        return score == null || !summary.has("score_ci95")
                ? null
                : (int) Math.round(score * summary.path("score_n").asLong());
    }

    private static Double score(ObjectNode summary) {
        JsonNode score = summary.path("score");
        return score.isNumber() && !Double.isNaN(score.asDouble()) ? score.asDouble() : null;
    }

    /** Merges a variant into {@code target} unless an earlier run already did. */
    private Path merge(Variant variant, Path target) {
        if (Files.isDirectory(target)) {
            return target;
        }
        Path config = out.resolve("merges").resolve(variant.name() + ".yml");
        AtomicFile.write(config, mergeYaml(variant.method(), variant.lambda()));
        log.println("merging " + variant.name());
        log.flush();
        long started = System.nanoTime();
        runMerge(config, target, false);
        events.merged(variant.name());
        return target;
    }

    private void runMerge(Path config, Path target, boolean emitAdapter) {
        Merger.run(
                config,
                Merger.Options.into(target)
                        .seed(plan.seed())
                        .threads(plan.threads() == 0 ? Runtime.getRuntime().availableProcessors() : plan.threads())
                        .emitAdapter(emitAdapter)
                        .build());
    }

    /** The fine-tuned model {@code i} as a mergekit reference: a directory, or {@code base+adapter}. */
    private String tuned(int i) {
        return quoted(
                plan.adapters().isEmpty()
                        ? plan.finetuned().get(i).toString()
                        : plan.base() + "+" + plan.adapters().get(i));
    }

    private int tunedCount() {
        return Math.max(plan.adapters().size(), plan.finetuned().size());
    }

    /**
     * The mergekit config of one variant. λ is the fine-tune's share: the linear weight, SLERP's t, or the weight of
     * the task vector for task arithmetic, TIES and DARE (not renormalised, so λ scales it). Merges work in float32
     * and are written in the base's dtype.
     */
    String mergeYaml(String method, Double lambda) {
        String base = quoted(plan.base().toString());
        String header = "# safemerge safeguard: " + method + (lambda == null ? "" : " at λ = " + lambda) + "\n"
                + "merge_method: " + method + "\ndtype: float32\n" + outDtype();
        String l = lambda == null ? null : String.format(Locale.ROOT, "%s", lambda);
        return header
                + switch (method) {
                    case "linear" ->
                        "models:\n  - model: " + base + "\n    parameters: {weight: "
                                + String.format(Locale.ROOT, "%s", 1 - lambda) + "}\n  - model: " + tuned(0)
                                + "\n    parameters: {weight: " + l + "}\n";
                    case "slerp" ->
                        "base_model: " + base + "\nmodels:\n  - model: " + base + "\n  - model: " + tuned(0)
                                + "\nparameters: {t: " + l + "}\n";
                    case "task_arithmetic" ->
                        "base_model: " + base + "\nparameters: {normalize: false}\nmodels:\n  - model: " + tuned(0)
                                + "\n    parameters: {weight: " + l + "}\n";
                    case "ties", "dare_linear", "dare_ties" ->
                        "base_model: " + base + "\nparameters: {normalize: false}\nmodels:\n  - model: " + tuned(0)
                                + "\n    parameters: {weight: " + l + ", density: " + plan.density() + "}\n";
                    case "model_stock" -> {
                        StringBuilder models = new StringBuilder("base_model: " + base + "\nmodels:\n");
                        for (int i = 0; i < tunedCount(); i++) {
                            models.append("  - model: ").append(tuned(i)).append('\n');
                        }
                        yield models.toString();
                    }
                    default -> throw new IllegalArgumentException(method);
                };
    }

    private String outDtype() {
        String dtype = CheckpointConfig.read(plan.base().resolve(ModelDirectory.CONFIG))
                .torchDtype();
        return dtype == null ? "" : "out_dtype: " + dtype + "\n";
    }

    private static String quoted(String path) {
        return "'" + path.replace("'", "''") + "'";
    }

    /**
     * Exports the selected variant to DIR/selected as an HF model directory with a model card that carries its
     * measured numbers; a linear merge of a LoRA fine-tune is also written as the λ-scaled adapter
     * (DIR/selected-adapter). Done once: an existing DIR/selected is the finished export.
     */
    private Path export(VariantResult selected) {
        Path target = out.resolve("selected");
        if (Files.isDirectory(target)) {
            return target;
        }
        log.println("exporting " + selected.name() + " → " + target);
        log.flush();
        Path config = out.resolve("merges").resolve(selected.name() + ".yml");
        try (AtomicDirectory dir = AtomicDirectory.begin(target)) {
            Path model = dir.path().resolve("model");
            if (selected.name().equals(VariantResult.BASE)) {
                copyFiles(plan.base(), model);
            } else if (selected.name().equals(VariantResult.FINETUNED)
                    && plan.adapters().isEmpty()) {
                copyFiles(plan.finetuned().getFirst(), model);
            } else {
                // a variant evaluated as base + λ·adapter has no merge config yet
                AtomicFile.write(
                        config,
                        selected.method() == null
                                ? mergeYaml("linear", 1.0)
                                : mergeYaml(selected.method(), selected.lambda()));
                Path kept = out.resolve("models").resolve(selected.name());
                if (Files.isDirectory(kept)) {
                    copyFiles(kept, model);
                } else {
                    runMerge(config, model, false);
                }
            }
            Path card = model.resolve("README.md");
            String existing = Files.isRegularFile(card) ? Files.readString(card) : "";
            Files.writeString(card, existing + modelCard(selected));
            // the directory is the model: move the files up one level
            try (Stream<Path> files = Files.list(model)) {
                for (Path file : files.toList()) {
                    Files.move(file, dir.path().resolve(file.getFileName()));
                }
            }
            Files.delete(model);
            dir.commit();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot export to " + target, e);
        }
        boolean scaledAdapter = !plan.adapters().isEmpty()
                && ("linear".equals(selected.method()) || "task_arithmetic".equals(selected.method()));
        Path adapterTarget = out.resolve("selected-adapter");
        if (scaledAdapter && !Files.isDirectory(adapterTarget)) {
            runMerge(config, adapterTarget, true);
        }
        return target;
    }

    private String modelCard(VariantResult r) {
        StringBuilder card = new StringBuilder("\n## Measured by safemerge safeguard\n\n");
        card.append("Selected variant `")
                .append(r.name())
                .append("` under the rule `")
                .append(plan.select().text())
                .append("`; judge `")
                .append(plan.judge())
                .append("`. Rates with their 95% Wilson interval and N.\n\n");
        card.append("| measure | value | 95% CI | N |\n|---|---|---|---|\n");
        card.append(Report.rateRow("ASR (pooled)", r.asr()));
        for (var entry : r.safetyBySet().entrySet()) {
            card.append(Report.rateRow("ASR " + entry.getKey(), entry.getValue().asr()));
        }
        if (r.overRefusal() != null) {
            card.append(Report.rateRow("over-refusal", r.overRefusal()));
        }
        for (var entry : r.taskBySet().entrySet()) {
            if (entry.getValue().proportion() != null) {
                card.append(Report.rateRow(
                        "task " + entry.getKey(), entry.getValue().proportion()));
                continue;
            }
            card.append("| task ")
                    .append(entry.getKey())
                    .append(" | ")
                    .append(Report.number(entry.getValue().score()))
                    .append(" | | ")
                    .append(entry.getValue().n())
                    .append(" |\n");
        }
        return card.toString();
    }

    private static void copyFiles(Path from, Path to) throws IOException {
        Files.createDirectories(to);
        try (Stream<Path> files = Files.list(from)) {
            for (Path file : files.filter(Files::isRegularFile).toList()) {
                Files.copy(file, to.resolve(file.getFileName()));
            }
        }
    }

    private static void deleteTree(Path dir) {
        try (Stream<Path> walk = Files.walk(dir)) {
            for (Path p : walk.sorted(Comparator.reverseOrder()).toList()) {
                Files.delete(p);
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot delete " + dir, e);
        }
    }

    private ObjectNode summary(List<VariantResult> results, Selection.Outcome outcome, double seconds) {
        ObjectNode summary = Json.object();
        ArrayNode variants = summary.putArray("variants");
        results.forEach(r -> variants.add(r.toJson()));
        summary.put(
                "selected",
                outcome.selected() == null ? null : outcome.selected().name());
        summary.put("rule", plan.select().text());
        summary.put("rule_detail", outcome.reason());
        ArrayNode front = summary.putArray("pareto_front");
        Selection.paretoFront(results).forEach(r -> front.add(r.name()));
        summary.put("judge", plan.judge());
        summary.set("plan", plan.toJson());
        ObjectNode servers = summary.putObject("endpoints");
        endpoints.generation().forEach(servers.putArray("generation")::add);
        servers.put("judge", endpoints.judge());
        summary.set("protocol", plan.protocol().toJson());
        summary.set("inputs", inputHashes());
        ObjectNode versions = summary.putObject("versions");
        String version = SafeguardRunner.class.getPackage().getImplementationVersion();
        versions.put("safemerge", version == null ? "development build" : version);
        versions.put("java", System.getProperty("java.version"));
        ObjectNode timings = summary.putObject("timings_seconds");
        timings.put("this_invocation", seconds);
        results.forEach(r -> timings.put(r.name(), r.seconds()));
        return summary;
    }

    /** A content hash of every input: models by {@link ModelFingerprint}, prompt and task files by SHA-256. */
    private ObjectNode inputHashes() {
        ObjectNode node = Json.object();
        node.put("base " + plan.base(), ModelFingerprint.of(plan.base(), null));
        plan.adapters().forEach(a -> node.put("adapter " + a, ModelFingerprint.of(a, null)));
        plan.finetuned().forEach(f -> node.put("finetuned " + f, ModelFingerprint.of(f, null)));
        plan.safety().forEach(s -> node.put("safety " + s.path(), sha256(s.path())));
        if (plan.benign() != null) {
            node.put("benign " + plan.benign(), sha256(plan.benign()));
        }
        plan.tasks().forEach(t -> node.put("task " + t.path(), sha256(t.path())));
        return node;
    }

    static String sha256(Path path) {
        try {
            MessageDigest digest = MessageDigest.getInstance("SHA-256");
            List<Path> files;
            try (Stream<Path> walk = Files.walk(path)) {
                files = walk.filter(Files::isRegularFile).sorted().toList();
            }
            byte[] buffer = new byte[1 << 16];
            for (Path file : files) {
                digest.update(path.relativize(file).toString().getBytes(java.nio.charset.StandardCharsets.UTF_8));
                try (InputStream in = Files.newInputStream(file)) {
                    int n;
                    while ((n = in.read(buffer)) > 0) {
                        digest.update(buffer, 0, n);
                    }
                }
            }
            return "sha256:" + HexFormat.of().formatHex(digest.digest());
        } catch (IOException e) {
            throw new UncheckedIOException("cannot hash " + path, e);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /** The judge's model, when the judge is one; its answers go through the run's cache. */
    private record JudgeBackend(String name, ResponseGenerator generator) implements AutoCloseable {
        static JudgeBackend open(SafeguardPlan plan, SafeguardEndpoints endpoints) {
            ResponseGenerator generator = null;
            if (plan.judgeModel() != null) {
                generator = LocalModels.open(plan.judgeModel(), null, plan.batch(), plan.threads());
            } else if (endpoints.judge() != null) {
                generator = RemoteVariants.judge(endpoints);
            }
            return new JudgeBackend(plan.judge(), generator);
        }

        Judge judge(GenerationCache cache) {
            return switch (name) {
                case "refusal" -> new RefusalJudge();
                case "wildguard" -> new WildGuard(new CachedGenerator(generator, cache));
                case "llama-guard" -> new LlamaGuard(new CachedGenerator(generator, cache), false);
                default -> throw new BadInputException("--judge " + name + ": unknown judge");
            };
        }

        @Override
        public void close() {
            if (generator != null) {
                generator.close();
            }
        }
    }
}
