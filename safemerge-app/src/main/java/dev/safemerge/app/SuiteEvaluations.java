package dev.safemerge.app;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.safemerge.eval.Json;
import dev.safemerge.eval.data.PromptItem;
import dev.safemerge.eval.data.SafetyPrompts;
import dev.safemerge.eval.gen.CachedGenerator;
import dev.safemerge.eval.gen.GenerationCache;
import dev.safemerge.eval.gen.LocalModels;
import dev.safemerge.eval.gen.ResponseGenerator;
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
import dev.safemerge.registry.PromptVersion;
import dev.safemerge.registry.Registry;
import dev.safemerge.registry.VersionRef;
import dev.safemerge.tensor.BadInputException;
import dev.safemerge.tensor.Progress;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;

/**
 * A version's evaluations on a suite's prompt sets, run with a prompt version (or none): the registered one when
 * there is a current (not superseded) evaluation of the set with that prompt version judged by the suite's judge,
 * otherwise one run now — answers from the in-process engine on the registered model directory (its files checked
 * against their recorded hashes first) under the suite's protocol with the prompt version applied, judged by the
 * suite's judge (refusal, or a model judge run in-process from the suite's {@code judge_model}) — written under
 * {@code work} and registered. A rerun after an interruption reuses the cached answers and judge outputs there.
 */
final class SuiteEvaluations {
    private final Registry registry;
    private final GateSuite suite;
    private final Path work;
    private final PromptVersion prompt;

    /** @param prompt the prompt version the evaluations run with, or null */
    SuiteEvaluations(Registry registry, GateSuite suite, Path work, PromptVersion prompt) {
        this.registry = registry;
        this.suite = suite;
        this.work = work;
        this.prompt = prompt;
    }

    private String promptKey() {
        return prompt == null ? null : prompt.ref().toString();
    }

    /** The suite's protocol with the prompt version applied. */
    private Protocol protocol() {
        return EvalRegistration.apply(prompt, suite.protocol());
    }

    Evaluation harmful(VersionRef model) {
        return safety(model, "harmful", suite.harmful(), false);
    }

    Evaluation benign(VersionRef model) {
        return safety(model, "benign", suite.benign(), true);
    }

    Evaluation task(VersionRef model, GateSuite.TaskSet task) {
        String set = "task-" + task.name();
        Optional<Evaluation> registered = registry.latestEvaluation(model, suite.setName(set), "task", promptKey());
        if (registered.isPresent()) {
            return registered.get();
        }
        TaskMetric metric = TaskMetrics.byName(task.metric());
        Protocol suiteProtocol = protocol();
        TaskOptions options = new TaskOptions(
                null,
                null,
                suiteProtocol.systemPrompt(),
                List.of(1),
                null,
                new PythonSandbox.Limits(Duration.ofSeconds(10), 512L << 20, 16));
        List<TaskItem> items = metric.load(task.path(), options);
        Path out = outDir(model, set);
        ObjectNode summary;
        try (GenerationCache cache = GenerationCache.open(out.resolve("generation-cache.jsonl"))) {
            AnswerSource source = source(model, cache);
            Protocol protocol = suiteProtocol.forMetric(task.metric(), metric, true);
            summary = TaskEvaluation.run(metric, items, source, protocol, 1, config(set), out, Progress.SILENT)
                    .summary();
        }
        return EvalRegistration.recordTask(
                registry,
                model,
                prompt == null ? null : prompt.ref(),
                suite.setName(set),
                summary,
                out,
                task.metric(),
                suite.protocol().sampling().seed());
    }

    private Evaluation safety(VersionRef model, String set, Path prompts, boolean benign) {
        String kind = benign ? "over-refusal" : "safety";
        Optional<Evaluation> registered = registry.latestEvaluation(model, suite.setName(set), kind, promptKey());
        if (registered.isPresent() && registered.get().judge().equals(suite.judge())) {
            return registered.get();
        }
        if (!suite.judge().equals("refusal") && suite.judgeModel() == null) {
            throw new BadInputException(model + " has no " + suite.judge() + " evaluation of " + suite.setName(set)
                    + ": name the judge's model directory as judge_model in " + suite.file()
                    + ", or register one with 'safemerge eval safety ... --register " + model + " --register-suite "
                    + suite.setName(set) + "'");
        }
        Protocol protocol = protocol();
        List<PromptItem> items = SafetyPrompts.load(prompts, null, null);
        Path out = outDir(model, set);
        ObjectNode summary;
        try (GenerationCache cache = GenerationCache.open(out.resolve("generation-cache.jsonl"));
                ResponseGenerator judgeBackend =
                        suite.judgeModel() == null ? null : LocalModels.open(suite.judgeModel(), null, 8, 0)) {
            AnswerSource source = source(model, cache);
            summary = SafetyEvaluation.run(
                            items,
                            source,
                            protocol,
                            EvalSafetyCommand.judge(suite.judge(), judgeBackend, cache),
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
                prompt == null ? null : prompt.ref(),
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
        return new AnswerSource.Generated(new CachedGenerator(
                LocalModels.open(Path.of(version.location()), null, 8, 0, EvalRegistration.chatTemplate(prompt)),
                cache));
    }

    private Path outDir(VersionRef model, String set) {
        return work.resolve(model.name().replace('/', '_') + "-" + model.version())
                .resolve(suite.name() + "-" + suite.version() + "-" + set
                        + (prompt == null
                                ? ""
                                : "-prompt-" + prompt.ref().name() + "-"
                                        + prompt.ref().version()));
    }

    private ObjectNode config(String set) {
        ObjectNode config = Json.object();
        config.put("suite", suite.name());
        config.put("suite_version", suite.version());
        config.put("suite_hash", suite.hash());
        config.put("set", set);
        config.put("judge", suite.judge());
        if (suite.judgeModel() != null) {
            config.put("judge_model", suite.judgeModel().toString());
        }
        if (prompt != null) {
            config.put("prompt_version", prompt.ref().toString());
        }
        return config;
    }
}
