package dev.safemerge.eval.run;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.safemerge.eval.Json;
import dev.safemerge.eval.gen.GenerationRequest;
import dev.safemerge.eval.gen.SamplingParams;
import dev.safemerge.eval.task.TaskItem;
import dev.safemerge.eval.task.TaskMetric;
import dev.safemerge.tensor.Progress;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/** Runs a task evaluation: answers every item, scores it with the metric, writes summary.json and items.jsonl. */
public final class TaskEvaluation {
    private TaskEvaluation() {}

    public static ObjectNode run(
            TaskMetric metric,
            List<TaskItem> items,
            AnswerSource source,
            SamplingParams params,
            int samples,
            ObjectNode config,
            Path outDir,
            Progress.Factory progress) {
        List<String> keys = new ArrayList<>();
        List<GenerationRequest> requests = new ArrayList<>();
        for (TaskItem item : items) {
            keys.add(item.key());
            requests.add(item.request());
        }
        List<List<String>> responses;
        try (Progress bar = progress.start("generate", (long) items.size() * samples, "resp")) {
            responses = source.answers(keys, requests, params, samples, bar);
        }
        List<ObjectNode> scores = score(metric, items, responses, progress);
        StringBuilder lines = new StringBuilder();
        for (int i = 0; i < items.size(); i++) {
            ObjectNode line = Json.object();
            line.put("id", items.get(i).id());
            line.put("group", items.get(i).group());
            line.put("prompt", items.get(i).key());
            line.set("responses", Json.MAPPER.valueToTree(responses.get(i)));
            line.setAll(scores.get(i));
            lines.append(Json.line(line)).append('\n');
        }
        ObjectNode summary = Json.object();
        summary.put("kind", "task");
        summary.put("metric_name", metric.name());
        summary.setAll(metric.summarize(items, scores));
        summary.put("responses_from", source.describe());
        summary.set("sampling", params.toJson());
        summary.put("samples_requested", samples);
        summary.set("config", config);
        Json.writeAtomically(outDir.resolve("items.jsonl"), lines.toString());
        Json.writeAtomically(outDir.resolve("summary.json"), Json.pretty(summary));
        return summary;
    }

    /** Scores items on one thread per core: HumanEval spends its time waiting for sandboxed programs. */
    private static List<ObjectNode> score(
            TaskMetric metric, List<TaskItem> items, List<List<String>> responses, Progress.Factory progress) {
        int threads = Math.max(1, Math.min(items.size(), Runtime.getRuntime().availableProcessors()));
        List<Future<ObjectNode>> futures = new ArrayList<>();
        List<ObjectNode> scores = new ArrayList<>();
        try (Progress bar = progress.start("score", items.size(), "item");
                ExecutorService pool = Executors.newFixedThreadPool(threads)) {
            for (int i = 0; i < items.size(); i++) {
                int index = i;
                futures.add(pool.submit(() -> {
                    ObjectNode score = metric.score(items.get(index), responses.get(index));
                    bar.step(1);
                    return score;
                }));
            }
            for (Future<ObjectNode> future : futures) {
                scores.add(future.get());
            }
        } catch (ExecutionException e) {
            futures.forEach(f -> f.cancel(true));
            if (e.getCause() instanceof RuntimeException runtime) {
                throw runtime;
            }
            throw new IllegalStateException(e.getCause());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while scoring", e);
        }
        return scores;
    }
}
