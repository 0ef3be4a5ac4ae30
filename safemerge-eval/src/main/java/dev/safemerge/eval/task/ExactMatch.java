package dev.safemerge.eval.task;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.safemerge.eval.Json;
import dev.safemerge.eval.data.Records;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/** {@code exact}: the stripped response equals the stripped reference (also reported ignoring case). */
public final class ExactMatch implements TaskMetric {
    static final List<String> PROMPT_FIELDS = List.of("prompt", "question", "input", "instruction");
    static final List<String> ANSWER_FIELDS = List.of("answer", "target", "reference", "output");

    @Override
    public String name() {
        return "exact";
    }

    @Override
    public List<TaskItem> load(Path path, TaskOptions options) {
        return loadPromptAnswer(path, options);
    }

    static List<TaskItem> loadPromptAnswer(Path path, TaskOptions options) {
        List<TaskItem> items = new ArrayList<>();
        for (Records.Row row : Records.read(path)) {
            String promptField = Fields.pick(row, options.promptField(), PROMPT_FIELDS, "--prompt-field");
            String answerField = Fields.pick(row, options.answerField(), ANSWER_FIELDS, "--answer-field");
            String prompt = row.string(promptField);
            ObjectNode data = Json.object();
            data.put("reference", row.text(answerField));
            items.add(new TaskItem(
                    row.where(), prompt, row.textOr("group", ""), Prompts.chat(options.systemPrompt(), prompt), data));
        }
        return items;
    }

    @Override
    public ObjectNode score(TaskItem item, List<String> responses) {
        String reference = item.data().get("reference").asText().strip();
        String response = responses.getFirst().strip();
        ObjectNode score = Json.object();
        score.put("reference", reference);
        score.put("score", response.equals(reference) ? 1.0 : 0.0);
        score.put("exact_match_ignore_case", response.equalsIgnoreCase(reference) ? 1.0 : 0.0);
        return score;
    }

    @Override
    public ObjectNode summarize(List<TaskItem> items, List<ObjectNode> scores) {
        ObjectNode summary = Means.base(items);
        Means.addMeans(summary, items, scores, "score");
        summary.put("exact_match_ignore_case", Means.mean(scores, "exact_match_ignore_case"));
        summary.put("metric", "exact match of the stripped response and reference");
        return summary;
    }

    static String lower(String s) {
        return s.toLowerCase(Locale.ROOT);
    }
}
