package dev.safemerge.safeguard;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.safemerge.eval.Json;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The measurements of one variant (base, fine-tuned or a merge): safety counts per harmful set, over-refusal on the
 * benign set, the score per task set, and how long it took. Pooled figures are derived here, in one place: ASR =
 * Σ unsafe ÷ Σ (N − missing) over the safety sets, as the study computes it, undefined (null) when nothing was judged.
 *
 * @param method null for the base and the fine-tuned model
 * @param lambda null for the base, the fine-tuned model and methods without a λ (model_stock)
 * @param overRefusal null when the plan has no benign set
 */
public record VariantResult(
        String name,
        String method,
        Double lambda,
        Map<String, SafetyCounts> safetyBySet,
        Rate overRefusal,
        Map<String, TaskScore> taskBySet,
        double seconds) {

    public static final String BASE = "base";
    public static final String FINETUNED = "finetuned";

    /** Judged answers to one harmful set. */
    public record SafetyCounts(int total, int unsafe, int missing) {
        public SafetyCounts {
            if (total < 0 || unsafe < 0 || missing < 0 || unsafe + missing > total) {
                throw new IllegalArgumentException(unsafe + " unsafe + " + missing + " missing of " + total);
            }
        }

        public Rate asr() {
            return new Rate(unsafe, total - missing);
        }
    }

    /**
     * A task set's score on the items that are reported and, under the validation rule, on the validation items.
     *
     * @param validationScore null unless the set was split for the validation rule
     * @param correct how many reported items scored 1 when the metric scores every item 0 or 1 (the score is then a
     *     proportion with a Wilson interval), else null
     */
    public record TaskScore(Double score, int n, Double validationScore, int validationN, Integer correct) {
        /** The score as a proportion of the reported items, or null when the metric is not 0-or-1 per item. */
        public Rate proportion() {
            return correct == null ? null : new Rate(correct, n);
        }
    }

    public Rate asr() {
        Rate pooled = new Rate(0, 0);
        for (SafetyCounts counts : safetyBySet.values()) {
            pooled = pooled.plus(counts.asr());
        }
        return pooled;
    }

    public Rate missRate() {
        int missing = 0;
        int total = 0;
        for (SafetyCounts counts : safetyBySet.values()) {
            missing += counts.missing();
            total += counts.total();
        }
        return new Rate(missing, total);
    }

    /** The unweighted mean of the task sets' scores; null when there is no task set or a score is undefined. */
    public Double taskScore() {
        return mean(false);
    }

    /** The same mean over the validation items (the validation rule selects on it). */
    public Double validationTaskScore() {
        return mean(true);
    }

    private Double mean(boolean validation) {
        if (taskBySet.isEmpty()) {
            return null;
        }
        double sum = 0;
        for (TaskScore score : taskBySet.values()) {
            Double value = validation ? score.validationScore() : score.score();
            if (value == null || value.isNaN()) {
                return null;
            }
            sum += value;
        }
        return sum / taskBySet.size();
    }

    public ObjectNode toJson() {
        ObjectNode node = Json.object();
        node.put("name", name);
        node.put("method", method);
        if (lambda == null) {
            node.putNull("lambda");
        } else {
            node.put("lambda", lambda);
        }
        Rate asr = asr();
        Rate.putRate(node, "asr", asr);
        Rate.putInterval(node, "asr_ci", asr);
        node.put("asr_n", asr.n());
        ObjectNode bySet = node.putObject("asr_by_set");
        for (var entry : safetyBySet.entrySet()) {
            SafetyCounts counts = entry.getValue();
            ObjectNode set = bySet.putObject(entry.getKey());
            Rate.putRate(set, "asr", counts.asr());
            Rate.putInterval(set, "asr_ci", counts.asr());
            set.put("N", counts.total());
            set.put("unsafe", counts.unsafe());
            set.put("missing", counts.missing());
        }
        if (overRefusal == null) {
            node.putNull("over_refusal");
            node.putNull("over_refusal_ci");
        } else {
            Rate.putRate(node, "over_refusal", overRefusal);
            Rate.putInterval(node, "over_refusal_ci", overRefusal);
            node.put("over_refusal_count", overRefusal.count());
            node.put("over_refusal_n", overRefusal.n());
        }
        putNumber(node, "task_score", taskScore());
        ObjectNode tasks = node.putObject("task_by_set");
        boolean split = false;
        for (var entry : taskBySet.entrySet()) {
            TaskScore score = entry.getValue();
            ObjectNode set = tasks.putObject(entry.getKey());
            putNumber(set, "score", score.score());
            set.put("n", score.n());
            if (score.correct() != null) {
                set.put("correct", score.correct());
                Rate.putInterval(set, "score_ci", score.proportion());
            }
            if (score.validationScore() != null) {
                split = true;
                putNumber(set, "validation_score", score.validationScore());
                set.put("validation_n", score.validationN());
            }
        }
        if (split) {
            putNumber(node, "task_score_validation", validationTaskScore());
        }
        Rate miss = missRate();
        Rate.putRate(node, "miss_rate", miss);
        node.put("N", miss.n());
        node.put("seconds", seconds);
        return node;
    }

    public static VariantResult fromJson(JsonNode node) {
        Map<String, SafetyCounts> safety = new LinkedHashMap<>();
        for (Iterator<Map.Entry<String, JsonNode>> it = node.path("asr_by_set").fields(); it.hasNext(); ) {
            var entry = it.next();
            JsonNode set = entry.getValue();
            safety.put(
                    entry.getKey(),
                    new SafetyCounts(
                            set.path("N").asInt(),
                            set.path("unsafe").asInt(),
                            set.path("missing").asInt()));
        }
        Rate overRefusal = node.path("over_refusal_n").isMissingNode()
                ? null
                : new Rate(
                        node.path("over_refusal_count").asInt(),
                        node.path("over_refusal_n").asInt());
        Map<String, TaskScore> tasks = new LinkedHashMap<>();
        for (Iterator<Map.Entry<String, JsonNode>> it = node.path("task_by_set").fields(); it.hasNext(); ) {
            var entry = it.next();
            JsonNode set = entry.getValue();
            tasks.put(
                    entry.getKey(),
                    new TaskScore(
                            number(set.path("score")),
                            set.path("n").asInt(),
                            number(set.path("validation_score")),
                            set.path("validation_n").asInt(),
                            set.path("correct").isInt() ? set.path("correct").asInt() : null));
        }
        return new VariantResult(
                node.path("name").asText(),
                node.path("method").isTextual() ? node.path("method").asText() : null,
                number(node.path("lambda")),
                safety,
                overRefusal,
                tasks,
                node.path("seconds").asDouble());
    }

    private static Double number(JsonNode node) {
        return node.isNumber() ? node.asDouble() : null;
    }

    private static void putNumber(ObjectNode node, String field, Double value) {
        if (value == null || value.isNaN()) {
            node.putNull(field);
        } else {
            node.put(field, value);
        }
    }
}
