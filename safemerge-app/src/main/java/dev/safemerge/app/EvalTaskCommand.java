package dev.safemerge.app;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.safemerge.eval.Json;
import dev.safemerge.eval.encoder.BertScore;
import dev.safemerge.eval.gen.GenerationCache;
import dev.safemerge.eval.run.AnswerSource;
import dev.safemerge.eval.run.Protocol;
import dev.safemerge.eval.run.TaskEvaluation;
import dev.safemerge.eval.sandbox.PythonSandbox;
import dev.safemerge.eval.task.Similarity;
import dev.safemerge.eval.task.TaskItem;
import dev.safemerge.eval.task.TaskMetric;
import dev.safemerge.eval.task.TaskMetrics;
import dev.safemerge.eval.task.TaskOptions;
import dev.safemerge.registry.Evaluation;
import dev.safemerge.tensor.BadInputException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

@Command(
        name = "task",
        mixinStandardHelpOptions = true,
        description = {
            "Answer a task set and score it.",
            "Metrics: exact, numeric (GSM8K final number), multiple-choice, bbh (3-shot chain of thought), humaneval"
                    + " (pass@k, programs run in a sandbox), tool-call (AST match of the function call), similarity"
                    + " (ROUGE-L and token F1; BERTScore when --bertscore-model names a BERT or RoBERTa encoder"
                    + " checkpoint).",
            "bbh answers get 1024 new tokens and stop at the next question unless --max-new-tokens is given; the"
                    + " change is recorded as an override of the protocol."
        },
        footer = {
            "",
            "Writes OUT/summary.json, OUT/items.jsonl and OUT/generation-cache.jsonl (rerunning resumes).",
            "",
            GenerationOptions.DEFAULTS_NOTE,
            "",
            "Examples:",
            "  safemerge eval task --task data/tasks/numeric.jsonl --metric numeric \\",
            "      --endpoint http://127.0.0.1:8000 --model-name merged \\",
            "      --out results/merged-gsm8k",
            "  safemerge eval task --task data/tasks/similarity.jsonl --metric similarity \\",
            "      --responses RESPONSES.jsonl --bertscore-model ROBERTA_DIR \\",
            "      --bertscore-layer 17 --out results/chatdoctor"
        })
final class EvalTaskCommand extends EvalSubcommand {
    @Option(names = "--task", required = true, paramLabel = "PATH", description = "Task data file (or BBH folder).")
    Path task;

    @Option(
            names = "--metric",
            required = true,
            paramLabel = "NAME",
            description = "exact, numeric, multiple-choice, bbh, humaneval, tool-call or similarity.")
    String metricName;

    @Option(names = "--prompt-field", paramLabel = "NAME", description = "Field with the prompt.")
    String promptField;

    @Option(names = "--answer-field", paramLabel = "NAME", description = "Field with the reference answer.")
    String answerField;

    @Option(names = "--samples", defaultValue = "1", paramLabel = "N", description = "Samples per item (pass@k).")
    int samples;

    @Option(
            names = "--k",
            split = ",",
            defaultValue = "1,10",
            paramLabel = "K",
            description = "k of pass@k (default 1,10).")
    List<Integer> ks;

    @Option(names = "--python", paramLabel = "PATH", description = "Python interpreter for humaneval.")
    Path python;

    @Option(names = "--exec-timeout", defaultValue = "3", paramLabel = "SECONDS", description = "Per program.")
    double execTimeout;

    @Option(names = "--exec-memory-mb", defaultValue = "1024", paramLabel = "MB", description = "Per program.")
    long execMemoryMb;

    @Option(
            names = "--bertscore-model",
            paramLabel = "DIR",
            description = "similarity: also BERTScore (no idf, no rescaling) with this BERT/RoBERTa/XLM-R checkpoint"
                    + " (safetensors, config.json, tokenizer.json).")
    Path bertscoreModel;

    @Option(
            names = "--bertscore-layer",
            paramLabel = "N",
            description = "Encoder layer whose states are matched (default: the last; bert_score uses e.g. 17 for"
                    + " roberta-large, 9 for bert-base-uncased).")
    Integer bertscoreLayer;

    @Option(names = "--limit", paramLabel = "N", description = "Only the first N items.")
    Integer limit;

    @Override
    public Integer call() {
        TaskMetric metric = TaskMetrics.byName(metricName);
        if ((bertscoreModel != null || bertscoreLayer != null) && !metricName.equals("similarity")) {
            throw new BadInputException("--bertscore-model and --bertscore-layer apply to --metric similarity only");
        }
        if (bertscoreLayer != null && bertscoreModel == null) {
            throw new BadInputException("--bertscore-layer needs --bertscore-model");
        }
        if (samples < 1 || execTimeout <= 0 || execMemoryMb < 64) {
            throw new BadInputException("--samples must be >= 1, --exec-timeout > 0, --exec-memory-mb >= 64");
        }
        for (int k : ks) {
            if (k < 1) {
                throw new BadInputException("--k values must be at least 1");
            }
        }
        PythonSandbox.Limits limits =
                new PythonSandbox.Limits(Duration.ofMillis((long) (execTimeout * 1000)), execMemoryMb << 20, 16);
        Protocol protocol = protocol();
        TaskOptions options = new TaskOptions(
                promptField,
                answerField,
                protocol.systemPrompt(),
                ks,
                python != null ? python : metricName.equals("humaneval") ? PythonSandbox.defaultPython() : null,
                limits);
        List<TaskItem> items = metric.load(task, options);
        if (items.isEmpty()) {
            throw new BadInputException(task + ": no items");
        }
        items = limited(items, limit);
        protocol = protocol.forMetric(metricName, metric, generation.protocolOptions.maxNewTokens != null);
        TaskEvaluation.Result result;
        try (BertScore bertScore = bertscoreModel == null ? null : BertScore.load(bertscoreModel, bertscoreLayer);
                GenerationCache cache = GenerationCache.open(generation.cacheFile(out));
                GenerationOptions.Opened opened = generation.open(cache, registration.chatTemplate())) {
            if (bertScore != null) {
                metric = new Similarity(bertScore);
            }
            AnswerSource source = opened.source();
            ObjectNode config = Json.object();
            config.put("task", task.toString());
            config.put("metric", metricName);
            config.set("generation", generation.toJson());
            if (bertScore != null) {
                ObjectNode bert = config.putObject("bertscore");
                bert.put("model", bertscoreModel.toString());
                bert.put("layer", bertScore.layer());
                bert.put("weighting", "no idf, no baseline rescaling");
            }
            result =
                    TaskEvaluation.run(metric, items, source, protocol, samples, config, out, ConsoleProgress.of(spec));
        }
        Evaluation recorded = registration.enabled()
                ? registration.recordTask(
                        result.summary(),
                        out,
                        task,
                        metricName,
                        protocol.sampling().seed())
                : null;
        int exit = result.defined() ? Main.EXIT_OK : Main.EXIT_CHECK_FAILED;
        PrintWriter w = spec.commandLine().getOut();
        if (printedJson(w, result.summary(), recorded)) {
            return exit;
        }
        w.println("task " + metricName + " model=" + generation.modelLabel() + " n="
                + result.summary().get("n").asInt() + " " + result.describeScores() + " protocol="
                + protocol.describe());
        printWritten(w, recorded);
        return exit;
    }
}
