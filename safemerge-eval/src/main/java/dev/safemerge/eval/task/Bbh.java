package dev.safemerge.eval.task;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.safemerge.eval.Json;
import dev.safemerge.eval.data.Records;
import dev.safemerge.eval.gen.GenerationRequest;
import dev.safemerge.model.generate.Sampling;
import dev.safemerge.tensor.BadInputException;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * {@code bbh}: BIG-Bench Hard with 3-shot chain-of-thought prompts as lm-evaluation-harness builds them (task version
 * 4.0): the task description, then each exemplar as {@code "Q: <input>\nA: Let's think step by step.\n<target>"}
 * separated by blank lines, then the test question in the same form. The prompt is a raw completion; generation stops
 * at {@code </s>}, {@code Q} or a blank line, greedy with up to 1024 new tokens. The answer is the first match of
 * {@code (?<=the answer is )(.*)(?=.)}, stripped ({@code [invalid]} when none), compared exactly with the target.
 * Scores are averaged over all examples (micro, the harness's group score) and per subtask (macro).
 *
 * <p>File layout: one JSON object per subtask {@code {"name", "description", "fewshot": [{input, target}] (3),
 * "examples": [{input, target}]}}, or the original BBH layout ({@code bbh/<task>.json} with {@code examples} and
 * {@code cot-prompts/<task>.txt}); a folder of such JSON files is read as all its subtasks.
 */
public final class Bbh implements TaskMetric {
    static final List<String> STOP = List.of("</s>", "Q", "\n\n");
    static final int MAX_NEW_TOKENS = 1024;
    private static final Pattern ANSWER = Pattern.compile("(?d)(?<=the answer is )(.*)(?=.)");
    private static final String COT = "A: Let's think step by step.\n";

    @Override
    public String name() {
        return "bbh";
    }

    @Override
    public List<TaskItem> load(Path path, TaskOptions options) {
        List<Path> files;
        if (Files.isDirectory(path)) {
            try (Stream<Path> list = Files.list(path)) {
                files = list.filter(p -> p.toString().endsWith(".json"))
                        .sorted()
                        .toList();
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
            if (files.isEmpty()) {
                throw new BadInputException(path + ": no BBH .json files in this folder");
            }
        } else {
            files = List.of(path);
        }
        List<TaskItem> items = new ArrayList<>();
        for (Path file : files) {
            items.addAll(loadSubtask(file));
        }
        return items;
    }

    private static List<TaskItem> loadSubtask(Path file) {
        JsonNode root = Records.parseJson(file, Records.readText(file));
        if (!root.isObject() || !root.path("examples").isArray()) {
            throw new BadInputException(file + ": expected {\"examples\": [{\"input\", \"target\"}, ...]}");
        }
        String name = root.path("name").asText(file.getFileName().toString().replaceFirst("\\.json$", ""));
        String prefix = root.has("fewshot") ? fewshotPrefix(file, root) : cotPromptPrefix(file, name);
        List<TaskItem> items = new ArrayList<>();
        JsonNode examples = root.get("examples");
        for (int i = 0; i < examples.size(); i++) {
            JsonNode example = examples.get(i);
            ObjectNode data = Json.object();
            String where = "examples[" + i + "]";
            data.put("target", text(file, where, example, "target"));
            String input = text(file, where, example, "input");
            items.add(new TaskItem(
                    name + "/" + i, input, name, new GenerationRequest.Raw(prefix + question(input)), data));
        }
        return items;
    }

    /** Description and exemplars given in the task file itself. */
    private static String fewshotPrefix(Path file, JsonNode root) {
        if (!root.get("fewshot").isArray()) {
            throw new BadInputException(file + ": 'fewshot' must be an array of {input, target}");
        }
        StringBuilder prefix = new StringBuilder(root.path("description").asText(""));
        JsonNode shots = root.get("fewshot");
        for (int i = 0; i < shots.size(); i++) {
            String where = "fewshot[" + i + "]";
            prefix.append(question(text(file, where, shots.get(i), "input")))
                    .append(text(file, where, shots.get(i), "target"))
                    .append("\n\n");
        }
        return prefix.toString();
    }

    /**
     * The original BBH layout: {@code bbh/<task>.json} holds only examples, and {@code cot-prompts/<task>.txt} (beside
     * it or in the parent folder) a canary line, a {@code -----} line, then the description and the three exemplars
     * already in the Q:/A: form, separated by blank lines.
     */
    private static String cotPromptPrefix(Path file, String name) {
        Path dir = file.toAbsolutePath().getParent();
        for (Path candidate : List.of(
                dir.resolve("cot-prompts").resolve(name + ".txt"),
                dir.resolveSibling("cot-prompts").resolve(name + ".txt"))) {
            if (Files.isRegularFile(candidate)) {
                String text = Records.readText(candidate).replace("\r\n", "\n");
                int rule = text.indexOf("-----\n");
                String body = rule >= 0 ? text.substring(rule + "-----\n".length()) : text;
                return body.strip() + "\n\n";
            }
        }
        throw new BadInputException(file + ": no 'fewshot' in the file and no cot-prompts/" + name
                + ".txt beside it or in its parent folder");
    }

    private static String question(String input) {
        return "Q: " + input + "\n" + COT;
    }

    /** A field that must be a JSON string; the error names the file, the example ({@code where}) and the field. */
    private static String text(Path file, String where, JsonNode node, String field) {
        JsonNode value = node.get(field);
        if (value == null || value.isNull()) {
            throw new BadInputException(file + ": " + where + ": missing field '" + field + "'");
        }
        if (!value.isTextual()) {
            throw new BadInputException(file + ": " + where + ": field '" + field + "' must be a string, got "
                    + value.getNodeType().toString().toLowerCase(Locale.ROOT));
        }
        return value.asText();
    }

    @Override
    public Sampling sampling(Sampling protocol, boolean maxNewTokensGiven) {
        Sampling params = protocol.withStop(STOP);
        return maxNewTokensGiven ? params : params.withMaxNewTokens(MAX_NEW_TOKENS);
    }

    /** The harness's get-answer filter: first regex match, stripped; "[invalid]" without one. */
    static String extract(String response) {
        Matcher m = ANSWER.matcher(response);
        return m.find() ? m.group(1).strip() : "[invalid]";
    }

    @Override
    public ObjectNode score(TaskItem item, List<String> responses) {
        String target = item.data().get("target").asText();
        String extracted = extract(responses.getFirst());
        ObjectNode score = Json.object();
        score.put("target", target);
        score.put("extracted", extracted);
        score.put("score", extracted.equals(target) ? 1.0 : 0.0);
        return score;
    }

    @Override
    public ObjectNode summarize(List<TaskItem> items, List<ObjectNode> scores) {
        ObjectNode summary = Means.base(items);
        Means.addMeans(summary, items, scores, "score");
        summary.put(
                "metric",
                "exact_match after the get-answer regex; score = micro average over examples,"
                        + " score_macro = mean over subtasks");
        return summary;
    }
}
