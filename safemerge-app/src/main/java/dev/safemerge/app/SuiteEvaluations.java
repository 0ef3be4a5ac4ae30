package dev.safemerge.app;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.safemerge.eval.Json;
import dev.safemerge.eval.data.PromptItem;
import dev.safemerge.eval.data.SafetyPrompts;
import dev.safemerge.eval.gen.CachedGenerator;
import dev.safemerge.eval.gen.GenerationCache;
import dev.safemerge.eval.gen.LocalModels;
import dev.safemerge.eval.judge.RefusalJudge;
import dev.safemerge.eval.run.AnswerSource;
import dev.safemerge.eval.run.Protocol;
import dev.safemerge.eval.run.SafetyEvaluation;
import dev.safemerge.eval.run.TaskEvaluation;
import dev.safemerge.eval.sandbox.PythonSandbox;
import dev.safemerge.eval.task.TaskItem;
import dev.safemerge.eval.task.TaskMetric;
import dev.safemerge.eval.task.TaskMetrics;
import dev.safemerge.eval.task.TaskOptions;
import dev.safemerge.registry.Evaluation;
import dev.safemerge.registry.ModelKind;
import dev.safemerge.registry.ModelVersion;
import dev.safemerge.registry.Registry;
import dev.safemerge.registry.VersionRef;
import dev.safemerge.tensor.BadInputException;
import dev.safemerge.tensor.Progress;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;

/**
 * A version's evaluations on a suite's prompt sets: the registered one when there is a current (not superseded)
 * evaluation of the set judged by the suite's judge, otherwise one run now — answers from the in-process engine on
 * the registered model directory (its files checked against their recorded hashes first), judged by the refusal judge
 * — written under {@code work} and registered. Model judges are not run here: register their evaluations with
 * {@code eval safety --register NAME:N --register-suite SUITE@VERSION/harmful}.
 */
final class SuiteEvaluations {
    private final Registry registry;
    private final GateSuite suite;
    private final Path work;

    SuiteEvaluations(Registry registry, GateSuite suite, Path work) {
        this.registry = registry;
        this.suite = suite;
        this.work = work;
    }

    Evaluation harmful(VersionRef model) {
        return safety(model, "harmful", suite.harmful(), false);
    }

    Evaluation benign(VersionRef model) {
        return safety(model, "benign", suite.benign(), true);
    }

    Evaluation task(VersionRef model, GateSuite.TaskSet task) {
        String set = "task-" + task.name();
        Optional<Evaluation> registered = registry.latestEvaluation(model, suite.setName(set), "task");
        if (registered.isPresent()) {
            return registered.get();
        }
        TaskMetric metric = TaskMetrics.byName(task.metric());
        TaskOptions options = new TaskOptions(
                null,
                null,
                suite.protocol().systemPrompt(),
                List.of(1),
                null,
                new PythonSandbox.Limits(Duration.ofSeconds(10), 512L << 20, 16));
        List<TaskItem> items = metric.load(task.path(), options);
        Path out = outDir(model, set);
        ObjectNode summary;
        try (GenerationCache cache = GenerationCache.open(out.resolve("generation-cache.jsonl"))) {
            AnswerSource source = source(model, cache);
            Protocol protocol = suite.protocol().forMetric(task.metric(), metric, true);
            summary = TaskEvaluation.run(metric, items, source, protocol, 1, config(set), out, Progress.SILENT)
                    .summary();
        }
        return EvalRegistration.recordTask(
                registry,
                model,
                suite.setName(set),
                summary,
                out,
                task.metric(),
                suite.protocol().sampling().seed());
    }

    private Evaluation safety(VersionRef model, String set, Path prompts, boolean benign) {
        String kind = benign ? "over-refusal" : "safety";
        Optional<Evaluation> registered = registry.latestEvaluation(model, suite.setName(set), kind);
        if (registered.isPresent() && registered.get().judge().equals(suite.judge())) {
            return registered.get();
        }
        if (!suite.judge().equals("refusal")) {
            throw new BadInputException(model + " has no " + suite.judge() + " evaluation of " + suite.setName(set)
                    + ": register one with 'safemerge eval safety ... --register " + model + " --register-suite "
                    + suite.setName(set) + "'");
        }
        List<PromptItem> items = SafetyPrompts.load(prompts, null, null);
        Path out = outDir(model, set);
        ObjectNode summary;
        try (GenerationCache cache = GenerationCache.open(out.resolve("generation-cache.jsonl"))) {
            AnswerSource source = source(model, cache);
            summary = SafetyEvaluation.run(
                            items,
                            source,
                            suite.protocol(),
                            new RefusalJudge(),
                            benign,
                            SafetyEvaluation.DEFAULT_MAX_MISS_RATE,
                            config(set),
                            out,
                            Progress.SILENT)
                    .summary();
        }
        return EvalRegistration.recordSafety(
                registry,
                model,
                suite.setName(set),
                summary,
                out,
                benign,
                suite.protocol().sampling().seed());
    }

    private AnswerSource source(VersionRef model, GenerationCache cache) {
        ModelVersion version = registry.model(model);
        if (version.kind() == ModelKind.ADAPTER) {
            throw new BadInputException(model + " is an adapter: register the merged model, or register its"
                    + " evaluations with 'safemerge eval ... --register " + model + "'");
        }
        registry.checkFiles(model);
        return new AnswerSource.Generated(
                new CachedGenerator(LocalModels.open(Path.of(version.location()), null, 8, 0), cache));
    }

    private Path outDir(VersionRef model, String set) {
        return work.resolve(model.name().replace('/', '_') + "-" + model.version())
                .resolve(suite.name() + "-" + suite.version() + "-" + set);
    }

    private ObjectNode config(String set) {
        ObjectNode config = Json.object();
        config.put("suite", suite.name());
        config.put("suite_version", suite.version());
        config.put("suite_hash", suite.hash());
        config.put("set", set);
        return config;
    }
}
