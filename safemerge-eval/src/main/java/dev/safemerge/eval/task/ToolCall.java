package dev.safemerge.eval.task;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.safemerge.eval.Json;
import dev.safemerge.eval.data.Records;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * {@code tool-call}: OpenFunctions-style function calls compared by their syntax trees, not their text. Reference and
 * response are parsed as one Python call ({@link PythonCall}); the call matches when the function names are equal
 * and every argument matches, with BFCL's value rules: strings compared after lower-casing and deleting spaces and
 * {@code ,./-_*^} (and {@code '} read as {@code "}), an int equal to a float is equal, tuples are lists, lists and
 * dicts element by element. Reported: call accuracy, function-name accuracy, argument precision/recall/F1 (an
 * argument counts when its key and value match), and how many responses were not a parseable call.
 *
 * <p>Records: the study's {@code {instruction, output}} files, Gorilla OpenFunctions v1 {@code {question, function,
 * model_answer}}, BFCL ({@link Bfcl}: {@code {id, question: [[messages]], function: [docs]}} with a possible-answer
 * file beside it), or any prompt/answer fields given by --prompt-field/--answer-field.
 */
public final class ToolCall implements TaskMetric {
    static final String INSTRUCTION =
            "Complete the following code and return only the completed code, without any explanations or additional text.";

    @Override
    public String name() {
        return "tool-call";
    }

    @Override
    public List<TaskItem> load(Path path, TaskOptions options) {
        List<Records.Row> rows = Records.read(path);
        if (options.promptField() == null && !rows.isEmpty() && Bfcl.isBfcl(rows.getFirst())) {
            return Bfcl.load(path, rows, options.systemPrompt());
        }
        List<TaskItem> items = new ArrayList<>();
        for (Records.Row row : rows) {
            String prompt;
            String reference;
            if (options.promptField() == null
                    && row.node().has("function")
                    && row.node().has("question")) {
                prompt = gorillaPrompt(row);
                reference = row.text(options.answerField() != null ? options.answerField() : "model_answer");
            } else {
                prompt = row.string(Fields.pick(
                        row, options.promptField(), List.of("instruction", "prompt", "question"), "--prompt-field"));
                reference = row.text(Fields.pick(
                        row, options.answerField(), List.of("output", "answer", "reference"), "--answer-field"));
            }
            ObjectNode data = Json.object();
            data.put("reference", reference);
            items.add(new TaskItem(
                    row.where(),
                    prompt,
                    row.textOr("group", ""),
                    Prompts.chatWithInstruction(options.systemPrompt(), INSTRUCTION, " ", prompt),
                    data));
        }
        return items;
    }

    private static String gorillaPrompt(Records.Row row) {
        JsonNode function = row.node().get("function");
        return "Construct a single function call with keyword arguments that answers the question, using the"
                + " function below.\n\nQuestion: " + row.string("question") + "\n\nFunction: "
                + Json.line(function) + "\n\nReturn the call as one line, such as name(key=value).";
    }

    static String normalizeString(String s) {
        return s.replaceAll("[ ,./\\-_*^]", "").toLowerCase(Locale.ROOT).replace('\'', '"');
    }

    static boolean valuesMatch(Object expected, Object got) {
        if (expected instanceof String e && got instanceof String g) {
            return normalizeString(e).equals(normalizeString(g));
        }
        if (expected instanceof Number e && got instanceof Number g) {
            return e.doubleValue() == g.doubleValue();
        }
        if (expected instanceof List<?> e && got instanceof List<?> g) {
            if (e.size() != g.size()) {
                return false;
            }
            for (int i = 0; i < e.size(); i++) {
                if (!valuesMatch(e.get(i), g.get(i))) {
                    return false;
                }
            }
            return true;
        }
        if (expected instanceof Map<?, ?> e && got instanceof Map<?, ?> g) {
            if (!e.keySet().equals(g.keySet())) {
                return false;
            }
            for (Object key : e.keySet()) {
                if (!valuesMatch(e.get(key), g.get(key))) {
                    return false;
                }
            }
            return true;
        }
        return expected.equals(got);
    }

    @Override
    public ObjectNode score(TaskItem item, List<String> responses) {
        if (item.data().has(Bfcl.GROUND_TRUTH)) {
            return Bfcl.score(item, responses.getFirst());
        }
        ObjectNode score = Json.object();
        PythonCall reference;
        try {
            reference = PythonCall.parse(item.data().get("reference").asText());
        } catch (PythonCall.ParseException e) {
            throw new dev.safemerge.tensor.BadInputException(
                    item.id() + ": the reference is not a function call: " + e.getMessage());
        }
        PythonCall got;
        try {
            got = PythonCall.parse(responses.getFirst());
        } catch (PythonCall.ParseException e) {
            score.put("parse_error", e.getMessage());
            score.put("name_match", 0.0);
            score.put("arg_precision", 0.0);
            score.put("arg_recall", 0.0);
            score.put("arg_f1", 0.0);
            score.put("score", 0.0);
            return score;
        }
        int matched = 0;
        for (var entry : got.arguments().entrySet()) {
            Object expected = reference.arguments().get(entry.getKey());
            if (expected != null && valuesMatch(expected, entry.getValue())) {
                matched++;
            }
        }
        boolean nameMatch = reference.name().equals(got.name());
        double precision = got.arguments().isEmpty()
                ? (reference.arguments().isEmpty() ? 1.0 : 0.0)
                : (double) matched / got.arguments().size();
        double recall = reference.arguments().isEmpty()
                ? 1.0
                : (double) matched / reference.arguments().size();
        boolean all = nameMatch
                && matched == reference.arguments().size()
                && got.arguments().size() == reference.arguments().size();
        score.put("name_match", nameMatch ? 1.0 : 0.0);
        score.put("arg_precision", precision);
        score.put("arg_recall", recall);
        score.put("arg_f1", precision + recall == 0 ? 0.0 : 2 * precision * recall / (precision + recall));
        score.put("score", all ? 1.0 : 0.0);
        return score;
    }

    @Override
    public ObjectNode summarize(List<TaskItem> items, List<ObjectNode> scores) {
        ObjectNode summary = Means.base(items);
        Means.addMeans(summary, items, scores, "score");
        boolean bfcl = !items.isEmpty() && items.getFirst().data().has(Bfcl.GROUND_TRUTH);
        if (!bfcl) {
            for (String field : List.of("name_match", "arg_precision", "arg_recall", "arg_f1")) {
                summary.put(field, Means.mean(scores, field));
            }
        }
        summary.put(
                "parse_errors",
                scores.stream().filter(s -> s.has("parse_error")).count());
        summary.put(
                "metric",
                bfcl
                        ? "score = BFCL AST check (every expected call made, in any order, with accepted values;"
                                + " irrelevance: no call)"
                        : "score = whole-call AST match (name and every argument, BFCL value rules)");
        return summary;
    }
}
