package dev.safemerge.app;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.safemerge.eval.Json;
import dev.safemerge.eval.data.PromptItem;
import dev.safemerge.eval.data.SafetyPrompts;
import dev.safemerge.eval.gen.CachedGenerator;
import dev.safemerge.eval.gen.GenerationCache;
import dev.safemerge.eval.gen.LocalModels;
import dev.safemerge.eval.gen.OpenAiGenerator;
import dev.safemerge.eval.gen.ResponseGenerator;
import dev.safemerge.eval.judge.Judge;
import dev.safemerge.eval.judge.LlamaGuard;
import dev.safemerge.eval.judge.RefusalJudge;
import dev.safemerge.eval.judge.WildGuard;
import dev.safemerge.eval.run.AnswerSource;
import dev.safemerge.eval.run.SafetyEvaluation;
import dev.safemerge.tensor.BadInputException;
import dev.safemerge.tensor.Progress;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

@Command(
        name = "safety",
        mixinStandardHelpOptions = true,
        description = {
            // %% because picocli formats descriptions with String.format
            "Answer harmful prompts and judge the answers: attack success rate (ASR = unsafe / (total - missing)),"
                    + " 95%% Wilson interval, miss rate, refusal rate, per-category counts.",
            "Prompt sets by path: AdvBench CSV (goal,target), HEx-PHI (a folder of category_N.csv, one such file, or"
                    + " all.json), HarmBench behaviors CSV, or any JSONL/JSON/CSV (--prompt-field, --category-field).",
            "Judges: refusal (string matching, a smoke test), wildguard, llama-guard (through --judge-endpoint,"
                    + " an OpenAI-compatible server, on /v1/completions, or in-process with --judge-model DIR)."
        },
        footer = {
            "",
            "Writes OUT/summary.json, OUT/items.jsonl and OUT/generation-cache.jsonl (rerunning resumes).",
            "",
            "Examples:",
            "  safemerge eval safety --prompts data/advbench/harmful_behaviors.csv \\",
            "      --endpoint http://127.0.0.1:8000 --model-name llama3-merged \\",
            "      --judge wildguard --judge-endpoint http://127.0.0.1:8001 \\",
            "      --judge-model-name allenai/wildguard --out results/merged-advbench",
            "  safemerge eval safety --prompts benign.jsonl --benign \\",
            "      --responses answers.jsonl --out results/over-refusal"
        })
final class EvalSafetyCommand implements Callable<Integer> {
    @Option(names = "--prompts", required = true, paramLabel = "PATH", description = "Prompt set (file or folder).")
    Path prompts;

    @Option(names = "--prompt-field", paramLabel = "NAME", description = "Field with the prompt in generic files.")
    String promptField;

    @Option(names = "--category-field", paramLabel = "NAME", description = "Field with the category in generic files.")
    String categoryField;

    @Option(
            names = "--judge",
            defaultValue = "refusal",
            paramLabel = "NAME",
            description = "refusal (default), wildguard or llama-guard.")
    String judgeName;

    @Option(names = "--judge-endpoint", paramLabel = "URL", description = "OpenAI-compatible server of the judge.")
    String judgeEndpoint;

    @Option(names = "--judge-model-name", paramLabel = "NAME", description = "Judge model name on that server.")
    String judgeModelName;

    @Option(
            names = "--judge-model",
            paramLabel = "DIR",
            description = "Run the judge in-process from this HF model directory instead of an endpoint.")
    Path judgeModel;

    @Option(names = "--judge-api-key-env", paramLabel = "VAR", description = "Variable with the judge server's key.")
    String judgeApiKeyEnv;

    @Option(
            names = "--benign",
            description = "The prompts are benign look-alikes: the refusal rate is the over-refusal rate.")
    boolean benign;

    @Option(names = "--limit", paramLabel = "N", description = "Only the first N prompts.")
    Integer limit;

    @Option(names = "--out", required = true, paramLabel = "DIR", description = "Output folder.")
    Path out;

    @Mixin
    GenerationOptions generation;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() {
        List<PromptItem> items = SafetyPrompts.load(prompts, promptField, categoryField);
        if (limit != null) {
            if (limit < 1) {
                throw new BadInputException("--limit must be at least 1");
            }
            items = items.subList(0, Math.min(limit, items.size()));
        }
        ObjectNode summary;
        try (GenerationCache cache = GenerationCache.open(generation.cacheFile(out));
                GenerationOptions.Opened opened = generation.open(cache);
                JudgeBackend judgeBackend = judgeBackend()) {
            AnswerSource source = opened.source();
            Judge judge = judge(cache, judgeBackend);
            ObjectNode config = Json.object();
            config.put("prompts", prompts.toString());
            config.put("prompt_count", items.size());
            config.put("judge", judgeName);
            if (judgeEndpoint != null) {
                config.put("judge_endpoint", judgeEndpoint);
                config.put("judge_model_name", judgeModelName);
            }
            if (judgeModel != null) {
                config.put("judge_model", judgeModel.toString());
            }
            config.put("benign", benign);
            config.set("generation", generation.toJson());
            summary = SafetyEvaluation.run(
                    items, source, generation.protocol(), judge, benign, config, out, Progress.CONSOLE);
        }
        PrintWriter w = spec.commandLine().getOut();
        String smoke = summary.get("smoke_test").asBoolean() ? " (refusal matching: smoke test only)" : "";
        if (benign) {
            w.printf(
                    Locale.ROOT,
                    "over-refusal total=%d refusal_rate=%.4f%s%n",
                    summary.get("total").asInt(),
                    summary.get("refusal_rate").asDouble(),
                    summary.has("judge_refusal_rate")
                            ? String.format(
                                    Locale.ROOT,
                                    " judge_refusal_rate=%.4f",
                                    summary.get("judge_refusal_rate").asDouble())
                            : "");
        } else {
            w.printf(
                    Locale.ROOT,
                    "safety judge=%s total=%d unsafe=%d missing=%d ASR=%.4f (95%% CI %.4f-%.4f) refusal_rate=%.4f%s%n",
                    judgeName,
                    summary.get("total").asInt(),
                    summary.get("unsafe").asInt(),
                    summary.get("missing").asInt(),
                    summary.get("asr").asDouble(),
                    summary.get("asr_ci95").get("low").asDouble(Double.NaN),
                    summary.get("asr_ci95").get("high").asDouble(Double.NaN),
                    summary.get("refusal_rate").asDouble(),
                    smoke);
        }
        w.println("wrote " + out.resolve("summary.json") + " and " + out.resolve("items.jsonl"));
        return Main.EXIT_OK;
    }

    /** The judge's generation backend, when the judge is a model; closed with the command. */
    record JudgeBackend(ResponseGenerator generator) implements AutoCloseable {
        @Override
        public void close() {
            if (generator != null) {
                generator.close();
            }
        }
    }

    private JudgeBackend judgeBackend() {
        boolean modelJudge = judgeName.equals("wildguard") || judgeName.equals("llama-guard");
        if (!modelJudge) {
            if (judgeEndpoint != null || judgeModel != null) {
                throw new BadInputException("--judge " + judgeName + " takes no --judge-endpoint or --judge-model");
            }
            return new JudgeBackend(null);
        }
        if ((judgeEndpoint == null) == (judgeModel == null)) {
            throw new BadInputException("--judge " + judgeName
                    + " needs either --judge-endpoint (with --judge-model-name) or --judge-model DIR");
        }
        if (judgeModel != null) {
            return new JudgeBackend(
                    LocalModels.open(judgeModel, null, generation.batch, ThreadCount.resolve(generation.threads)));
        }
        return new JudgeBackend(new OpenAiGenerator(
                generation.remote(judgeEndpoint, judgeModelName, judgeApiKeyEnv, "--judge-model-name")));
    }

    private Judge judge(GenerationCache cache, JudgeBackend backend) {
        switch (judgeName) {
            case "refusal" -> {
                return new RefusalJudge();
            }
            case "wildguard" -> {
                return new WildGuard(new CachedGenerator(backend.generator(), cache));
            }
            case "llama-guard" -> {
                return new LlamaGuard(new CachedGenerator(backend.generator(), cache), false);
            }
            default ->
                throw new BadInputException(
                        "--judge " + judgeName + ": unknown judge; one of refusal, wildguard, llama-guard");
        }
    }
}
