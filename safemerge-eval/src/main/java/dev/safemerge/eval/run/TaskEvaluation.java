package dev.safemerge.eval.run;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.safemerge.eval.Json;
import dev.safemerge.eval.gen.GenerationRequest;
import dev.safemerge.eval.stats.Proportion;
import dev.safemerge.eval.task.TaskItem;
import dev.safemerge.eval.task.TaskMetric;
import dev.safemerge.tensor.AtomicFile;
import dev.safemerge.tensor.Progress;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * Runs a task evaluation: answers every item, scores it with the metric, writes summary.json and items.jsonl. A score
 * that is 0 or 1 per item (accuracy, exact match) is a proportion and carries its 95% Wilson interval and N; any score
 * over no items is undefined (null).
 */
public final class TaskEvaluation {
    private TaskEvaluation() {}

    /**
     * What an evaluation measured.
     *
     * @param scoreFields the summary's averaged scores, the metric's main {@code score} first
     */
    public record Result(ObjectNode summary, List<String> scoreFields) {
        /** The main score is defined (there were items to average over). */
        public boolean defined() {
            return !summary.get("score").isNull();
        }

        /** {@code score 0.500 (95% CI 0.150-0.850, n=4) flexible_match 0.750 ...}, "n/a" for undefined scores. */
        public String describeScores() {
            StringBuilder s = new StringBuilder();
            for (String field : scoreFields) {
                JsonNode value = summary.get(field);
                s.append(s.isEmpty() ? "" : " ").append(field).append(' ');
                if (value.isNull()) {
                    s.append("n/a");
                } else if (summary.has(field + "_ci95")) {
                    JsonNode ci = summary.get(field + "_ci95");
                    s.append(String.format(
                            Locale.ROOT,
                            "%.3f (95%% CI %.3f-%.3f, n=%d)",
                            value.asDouble(),
                            ci.get("low").asDouble(),
                            ci.get("high").asDouble(),
                            summary.get(field + "_n").asLong()));
                } else {
                    s.append(String.format(Locale.ROOT, "%.3f", value.asDouble()));
                }
            }
            return s.toString();
        }
    }

    public static Result run(
            TaskMetric metric,
            List<TaskItem> items,
            AnswerSource source,
            Protocol protocol,
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
            responses = source.answers(keys, requests, protocol.sampling(), samples, bar);
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
        List<String> scoreFields = scoreFields(summary, scores);
        summary.set("score_fields", Json.MAPPER.valueToTree(scoreFields));
        summary.put("responses_from", source.describe());
        summary.set("protocol", protocol.toJson());
        summary.put("samples_requested", samples);
        summary.set("config", config);
        AtomicFile.write(outDir.resolve("items.jsonl"), lines.toString());
        AtomicFile.write(outDir.resolve("summary.json"), Json.pretty(summary));
        return new Result(summary, scoreFields);
    }

    /**
     * The summary's averaged scores: fields that every item's score also has (plus pass@k), main score first. Those
     * that are 0 or 1 for every item become proportions with their interval and N.
     */
    static List<String> scoreFields(ObjectNode summary, List<ObjectNode> scores) {
        List<String> fields = new ArrayList<>();
        fields.add("score");
        for (var property : summary.properties()) {
            String field = property.getKey();
            boolean averaged = field.startsWith("pass@")
                    || (!field.equals("score")
                            && !field.equals("n")
                            && (summary.get(field).isNumber()
                                    || summary.get(field).isNull())
                            && !scores.isEmpty()
                            && scores.getFirst().path(field).isNumber());
            if (averaged) {
                fields.add(field);
            }
        }
        for (String field : fields) {
            long ones = 0;
            boolean binary = !field.startsWith("pass@");
            for (ObjectNode score : scores) {
                double value = score.path(field).asDouble(Double.NaN);
                binary &= value == 0 || value == 1;
                ones += value == 1 ? 1 : 0;
            }
            if (binary) {
                new Proportion(ones, scores.size()).putJson(summary, field);
            }
        }
        return List.copyOf(fields);
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
