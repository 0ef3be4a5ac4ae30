package dev.safemerge.eval.task;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.safemerge.eval.Json;
import dev.safemerge.eval.data.Records;
import dev.safemerge.eval.encoder.BertScore;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * {@code similarity}: reference-based text overlap, for free-text tasks such as doctor answers. ROUGE-L F1 over
 * tokens as Google's rouge_score tokenises (lower-case, runs of [a-z0-9], no stemming) and unigram token F1 with SQuAD
 * normalisation (lower-case, punctuation and the articles a/an/the removed). Records: a prompt field (prompt, input,
 * question, instruction) and a reference field (reference, answer, output, answer_icliniq). Given an encoder, also
 * BERTScore precision, recall and F1 (no idf, no baseline rescaling).
 */
public final class Similarity implements TaskMetric {
    private static final List<String> REFERENCE_FIELDS = List.of("reference", "answer", "output", "answer_icliniq");
    private static final Set<String> ARTICLES = Set.of("a", "an", "the");

    private final BertScore bertScore;

    public Similarity() {
        this(null);
    }

    /** With BERTScore computed by {@code bertScore} (null: ROUGE-L and token F1 only); the caller closes it. */
    public Similarity(BertScore bertScore) {
        this.bertScore = bertScore;
    }

    @Override
    public String name() {
        return "similarity";
    }

    @Override
    public List<TaskItem> load(Path path, TaskOptions options) {
        List<TaskItem> items = new ArrayList<>();
        for (Records.Row row : Records.read(path)) {
            String prompt =
                    row.string(Fields.pick(row, options.promptField(), ExactMatch.PROMPT_FIELDS, "--prompt-field"));
            ObjectNode data = Json.object();
            data.put(
                    "reference", row.text(Fields.pick(row, options.answerField(), REFERENCE_FIELDS, "--answer-field")));
            items.add(new TaskItem(
                    row.where(), prompt, row.textOr("group", ""), Prompts.chat(options.systemPrompt(), prompt), data));
        }
        return items;
    }

    static List<String> rougeTokens(String text) {
        String cleaned =
                text.toLowerCase(Locale.ROOT).replaceAll("[^a-z0-9]+", " ").strip();
        return cleaned.isEmpty() ? List.of() : Arrays.asList(cleaned.split(" "));
    }

    static double rougeL(String candidate, String reference) {
        List<String> c = rougeTokens(candidate);
        List<String> r = rougeTokens(reference);
        if (c.isEmpty() || r.isEmpty()) {
            return 0.0;
        }
        int[] previous = new int[r.size() + 1];
        int[] current = new int[r.size() + 1];
        for (String token : c) {
            for (int j = 1; j <= r.size(); j++) {
                current[j] = token.equals(r.get(j - 1)) ? previous[j - 1] + 1 : Math.max(previous[j], current[j - 1]);
            }
            int[] swap = previous;
            previous = current;
            current = swap;
        }
        double lcs = previous[r.size()];
        double precision = lcs / c.size();
        double recall = lcs / r.size();
        return precision + recall == 0 ? 0.0 : 2 * precision * recall / (precision + recall);
    }

    static List<String> squadTokens(String text) {
        StringBuilder kept = new StringBuilder();
        for (char ch : text.toLowerCase(Locale.ROOT).toCharArray()) {
            if (!isAsciiPunctuation(ch)) {
                kept.append(ch);
            }
        }
        List<String> tokens = new ArrayList<>();
        for (String token : kept.toString().split("\\s+")) {
            if (!token.isEmpty() && !ARTICLES.contains(token)) {
                tokens.add(token);
            }
        }
        return tokens;
    }

    private static boolean isAsciiPunctuation(char c) {
        return c < 128 && "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~".indexOf(c) >= 0;
    }

    static double tokenF1(String candidate, String reference) {
        List<String> c = squadTokens(candidate);
        List<String> r = squadTokens(reference);
        if (c.isEmpty() || r.isEmpty()) {
            return c.equals(r) ? 1.0 : 0.0;
        }
        Map<String, Integer> counts = new HashMap<>();
        r.forEach(t -> counts.merge(t, 1, Integer::sum));
        int common = 0;
        for (String t : c) {
            Integer left = counts.get(t);
            if (left != null && left > 0) {
                common++;
                counts.put(t, left - 1);
            }
        }
        if (common == 0) {
            return 0.0;
        }
        double precision = (double) common / c.size();
        double recall = (double) common / r.size();
        return 2 * precision * recall / (precision + recall);
    }

    @Override
    public ObjectNode score(TaskItem item, List<String> responses) {
        String reference = item.data().get("reference").asText();
        String response = responses.getFirst();
        ObjectNode score = Json.object();
        score.put("rouge_l", rougeL(response, reference));
        score.put("token_f1", tokenF1(response, reference));
        score.put("score", score.get("rouge_l").asDouble());
        if (bertScore != null) {
            BertScore.Score bert = bertScore.score(response, reference);
            score.put("bertscore_precision", bert.precision());
            score.put("bertscore_recall", bert.recall());
            score.put("bertscore_f1", bert.f1());
        }
        return score;
    }

    @Override
    public ObjectNode summarize(List<TaskItem> items, List<ObjectNode> scores) {
        ObjectNode summary = Means.base(items);
        Means.addMeans(summary, items, scores, "score");
        summary.put("rouge_l", Means.mean(scores, "rouge_l"));
        summary.put("token_f1", Means.mean(scores, "token_f1"));
        if (bertScore == null) {
            summary.put("metric", "score = mean ROUGE-L F1; token_f1 = mean SQuAD token F1; BERTScore is not computed");
            return summary;
        }
        summary.put("bertscore_precision", Means.mean(scores, "bertscore_precision"));
        summary.put("bertscore_recall", Means.mean(scores, "bertscore_recall"));
        summary.put("bertscore_f1", Means.mean(scores, "bertscore_f1"));
        summary.put("bertscore_model", bertScore.modelDir().toString());
        summary.put("bertscore_layer", bertScore.layer());
        summary.put(
                "metric",
                "score = mean ROUGE-L F1; token_f1 = mean SQuAD token F1; bertscore_* = mean per-pair BERTScore of"
                        + " layer " + bertScore.layer() + " of " + bertScore.modelDir() + " (no idf, no rescale)");
        return summary;
    }
}
