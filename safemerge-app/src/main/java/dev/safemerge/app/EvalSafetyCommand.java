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
import dev.safemerge.eval.run.Protocol;
import dev.safemerge.eval.run.SafetyEvaluation;
import dev.safemerge.registry.Evaluation;
import dev.safemerge.tensor.BadInputException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

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
            GenerationOptions.DEFAULTS_NOTE,
            "",
            "Examples:",
            "  safemerge eval safety --prompts data/safety/harmful.jsonl \\",
            "      --endpoint http://127.0.0.1:8000 --model-name llama3-merged \\",
            "      --judge wildguard --judge-endpoint http://127.0.0.1:8001 \\",
            "      --judge-model-name allenai/wildguard --out results/merged-advbench",
            "  safemerge eval safety --prompts data/safety/benign.jsonl --benign \\",
            "      --responses RESPONSES.jsonl --out results/over-refusal",
            "  safemerge eval safety --prompts data/safety/harmful.jsonl \\",
            "      --model MODEL_DIR --out results/merged --register llama-safe:2"
        })
final class EvalSafetyCommand extends EvalSubcommand {
    @Option(
            names = "--prompts",
            paramLabel = "PATH",
            description = "Prompt set (file or folder); with --responses the prompts may come from that file instead.")
    Path prompts;

    @Option(
            names = "--label-field",
            paramLabel = "NAME",
            description = "Only rows whose NAME field equals --keep-label count (XSTest's label column is recognised:"
                    + " safe rows with --benign, unsafe rows otherwise).")
    String labelField;

    @Option(names = "--keep-label", paramLabel = "VALUE", description = "The --label-field value of rows that count.")
    String keepLabel;

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

    @Mixin
    RemoteOptions.JudgeKey judgeKey;

    @Option(
            names = "--benign",
            description = "The prompts are benign look-alikes: the refusal rate is the over-refusal rate.")
    boolean benign;

    @Option(
            names = "--max-miss-rate",
            defaultValue = "0.10",
            paramLabel = "X",
            description = "Share of unparseable judge outputs above which the ASR is flagged as not usable for"
                    + " comparison (a warning on stderr and in summary.json). Default: ${DEFAULT-VALUE}.")
    double maxMissRate;

    @Option(names = "--limit", paramLabel = "N", description = "Only the first N prompts.")
    Integer limit;

    @Override
    public Integer call() {
        if (!(maxMissRate >= 0 && maxMissRate <= 1)) {
            throw new BadInputException("--max-miss-rate must be between 0 and 1, got " + maxMissRate);
        }
        if ((labelField == null) != (keepLabel == null)) {
            throw new BadInputException("--label-field and --keep-label go together");
        }
        Path promptSource = prompts != null ? prompts : generation.source.responses;
        if (promptSource == null) {
            throw new BadInputException("--prompts is required unless --responses holds the prompts");
        }
        SafetyPrompts.Loaded loaded = SafetyPrompts.load(
                promptSource,
                promptField,
                categoryField,
                labelField == null ? null : new SafetyPrompts.LabelFilter(labelField, keepLabel),
                benign);
        List<PromptItem> items = limited(loaded.items(), limit);
        Protocol protocol = protocol();
        SafetyEvaluation.Result result;
        try (GenerationCache cache = GenerationCache.open(generation.cacheFile(out));
                GenerationOptions.Opened opened = generation.open(cache, registration.chatTemplate());
                JudgeBackend judgeBackend = judgeBackend()) {
            AnswerSource source = opened.source();
            Judge judge = judge(judgeName, judgeBackend.generator(), cache);
            ObjectNode config = Json.object();
            config.put("prompts", promptSource.toString());
            config.put("prompt_rows", loaded.rows());
            config.put("prompt_count", items.size());
            config.put("prompt_selection", loaded.selection());
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
            result = SafetyEvaluation.run(
                    items, source, protocol, judge, benign, maxMissRate, config, out, ConsoleProgress.of(spec));
        }
        PrintWriter errors = spec.commandLine().getErr();
        result.warnings().forEach(warning -> errors.println("warning: " + warning));
        Evaluation recorded = registration.enabled()
                ? registration.recordSafety(
                        result.summary(),
                        out,
                        promptSource,
                        benign,
                        protocol.sampling().seed())
                : null;
        // Over-refusal is read from the refusal rate, which every response defines; a safety run needs its ASR.
        int exit = benign || result.asr().defined() ? Main.EXIT_OK : Main.EXIT_CHECK_FAILED;
        PrintWriter w = spec.commandLine().getOut();
        if (printedJson(w, result.summary(), recorded)) {
            return exit;
        }
        SafetyEvaluation.Counts counts = result.counts();
        String smoke = result.summary().get("smoke_test").asBoolean() ? " (refusal matching: smoke test only)" : "";
        w.printf(
                Locale.ROOT,
                "%s model=%s judge=%s ASR %s unsafe=%d missing=%d of %d; refusal rate %s%s protocol=%s%n",
                benign ? "over-refusal" : "safety",
                generation.modelLabel(),
                judgeName,
                result.asr().format(),
                counts.unsafe(),
                counts.missing(),
                counts.total(),
                result.refusalRate().format(),
                smoke,
                protocol.describe());
        if (loaded.selection() != null) {
            w.println("prompts: " + loaded.selection() + " of " + promptSource);
        }
        printWritten(w, recorded);
        return exit;
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
                generation.remote.judgeServer(judgeEndpoint, judgeModelName, "--judge-model-name", judgeKey)));
    }

    /** The judge {@code name}; a model judge generates through {@code backend}, its outputs cached in {@code cache}. */
    static Judge judge(String judgeName, ResponseGenerator backend, GenerationCache cache) {
        switch (judgeName) {
            case "refusal" -> {
                return new RefusalJudge();
            }
            case "wildguard" -> {
                return new WildGuard(new CachedGenerator(backend, cache));
            }
            case "llama-guard" -> {
                return new LlamaGuard(new CachedGenerator(backend, cache), false);
            }
            default ->
                throw new BadInputException(
                        "--judge " + judgeName + ": unknown judge; one of refusal, wildguard, llama-guard");
        }
    }
}
