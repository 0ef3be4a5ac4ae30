package dev.safemerge.eval.task;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.safemerge.eval.Json;
import dev.safemerge.eval.data.Records;
import dev.safemerge.tensor.BadInputException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * {@code multiple-choice}, scored from generated text: the question and lettered options are shown, the model is
 * asked for the letter, and the first letter it commits to ("answer is (B)", "Answer: B", a reply starting with "B." or "B)" or being just "B",
 * or a bare "(B)") must be the correct one. Records: {@code question}, {@code choices} (array), {@code answer} (index
 * or letter).
 */
public final class MultipleChoice implements TaskMetric {
    static final String INSTRUCTION = "Answer with the letter of the correct option.";

    @Override
    public String name() {
        return "multiple-choice";
    }

    @Override
    public List<TaskItem> load(Path path, TaskOptions options) {
        List<TaskItem> items = new ArrayList<>();
        for (Records.Row row : Records.read(path)) {
            String question =
                    row.string(Fields.pick(row, options.promptField(), ExactMatch.PROMPT_FIELDS, "--prompt-field"));
            JsonNode choices = row.node().get("choices");
            if (choices == null || !choices.isArray() || choices.size() < 2 || choices.size() > 26) {
                throw new BadInputException(row.where() + ": 'choices' must be an array of 2 to 26 options");
            }
            JsonNode answer = row.node().get(options.answerField() != null ? options.answerField() : "answer");
            int correct = answerIndex(row, answer, choices.size());
            StringBuilder prompt = new StringBuilder(question.strip()).append('\n');
            for (int c = 0; c < choices.size(); c++) {
                prompt.append('\n')
                        .append((char) ('A' + c))
                        .append(". ")
                        .append(choices.get(c).asText());
            }
            prompt.append("\n\n").append(INSTRUCTION);
            ObjectNode data = Json.object();
            data.put("answer", String.valueOf((char) ('A' + correct)));
            data.put("options", choices.size());
            String text = prompt.toString();
            items.add(new TaskItem(
                    row.where(), question, row.textOr("group", ""), Prompts.chat(options.systemPrompt(), text), data));
        }
        return items;
    }

    private static int answerIndex(Records.Row row, JsonNode answer, int options) {
        if (answer != null && answer.isInt() && answer.asInt() >= 0 && answer.asInt() < options) {
            return answer.asInt();
        }
        if (answer != null && answer.isTextual()) {
            String text = answer.asText().strip();
            if (text.length() == 1 && text.charAt(0) >= 'A' && text.charAt(0) < 'A' + options) {
                return text.charAt(0) - 'A';
            }
        }
        throw new BadInputException(row.where() + ": 'answer' must be an option index or letter");
    }

    /** The letter the response commits to, or null. */
    static String extract(String response, int options) {
        String letters = "[A-" + (char) ('A' + options - 1) + "]";
        List<Pattern> patterns = List.of(
                Pattern.compile("(?i:answer is|answer:)\\s*\\(?(" + letters + ")\\b"),
                Pattern.compile("^\\s*\\(?(" + letters + ")(?:[).:,]|$)"),
                Pattern.compile("\\((" + letters + ")\\)"));
        for (Pattern p : patterns) {
            Matcher m = p.matcher(response);
            if (m.find()) {
                return m.group(1);
            }
        }
        return null;
    }

    @Override
    public ObjectNode score(TaskItem item, List<String> responses) {
        String expected = item.data().get("answer").asText();
        String got = extract(responses.getFirst(), item.data().get("options").asInt());
        ObjectNode score = Json.object();
        score.put("answer", expected);
        score.put("extracted", got);
        score.put("score", expected.equals(got) ? 1.0 : 0.0);
        return score;
    }

    @Override
    public ObjectNode summarize(List<TaskItem> items, List<ObjectNode> scores) {
        ObjectNode summary = Means.base(items);
        Means.addMeans(summary, items, scores, "score");
        long unanswered =
                scores.stream().filter(s -> s.get("extracted").isNull()).count();
        summary.put("no_letter", unanswered);
        summary.put("metric", "accuracy of the extracted option letter");
        return summary;
    }
}
