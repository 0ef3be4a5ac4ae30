package dev.safemerge.eval.task;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.TextNode;
import dev.safemerge.eval.Json;
import dev.safemerge.eval.sandbox.PythonSandbox;
import dev.safemerge.tensor.BadInputException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * BFCL files as published (JSON Lines under .json, nested question turns, a possible-answer file beside them) load and
 * are scored by BFCL's AST rules; malformed fields are refused naming file, line and field.
 */
class BfclTest {
    private static final Path DATASETS = Path.of("../../shared/datasets/bfcl");
    private static final TaskOptions OPTIONS = new TaskOptions(
            null, null, null, List.of(1), PythonSandbox.defaultPython(), PythonSandbox.Limits.HUMAN_EVAL);
    private static final String DOC = "{\"name\": \"spotify.play\", \"description\": \"Play.\", \"parameters\":"
            + " {\"type\": \"dict\", \"properties\": {\"artist\": {\"type\": \"string\"}, \"duration\": {\"type\":"
            + " \"integer\"}, \"shuffle\": {\"type\": \"boolean\"}}, \"required\": [\"artist\"]}}";

    @TempDir
    Path dir;

    private final ToolCall metric = new ToolCall();

    private Path write(String name, String text) throws Exception {
        return Files.writeString(dir.resolve(name), text);
    }

    private Path parallelSet() throws Exception {
        write(
                "answer_BFCL_v4_parallel.json",
                "{\"id\": \"parallel_0\", \"ground_truth\": [{\"spotify.play\": {\"artist\": [\"Taylor Swift\"],"
                        + " \"duration\": [20], \"shuffle\": [\"\", false]}}, {\"spotify.play\": {\"artist\":"
                        + " [\"Maroon 5\"], \"duration\": [15]}}]}\n");
        return write(
                "BFCL_v4_parallel.json",
                "{\"id\": \"parallel_0\", \"question\": [[{\"role\": \"user\", \"content\": \"Play Taylor Swift for 20"
                        + " minutes and Maroon 5 for 15.\"}]], \"function\": [" + DOC + "]}\n");
    }

    private double score(TaskItem item, String response) {
        return metric.score(item, List.of(response)).get("score").asDouble();
    }

    @Test
    void handMadeParallelFileIsScoredByTheAstRules() throws Exception {
        List<TaskItem> items = metric.load(parallelSet(), OPTIONS);
        assertThat(items).hasSize(1);
        TaskItem item = items.getFirst();
        assertThat(item.key()).isEqualTo("Play Taylor Swift for 20 minutes and Maroon 5 for 15.");
        // any order, normalised strings, an optional parameter omitted
        assertThat(score(
                        item,
                        "[spotify.play(artist='maroon 5', duration=15),"
                                + " spotify.play(artist='Taylor Swift', duration=20, shuffle=False)]"))
                .isEqualTo(1.0);
        // one call short, a wrong value, a float for an integer, a parameter the answer does not have
        assertThat(score(item, "[spotify.play(artist='Maroon 5', duration=15)]"))
                .isZero();
        assertThat(score(
                        item,
                        "[spotify.play(artist='Maroon 5', duration=16), spotify.play(artist='Taylor Swift',"
                                + " duration=20)]"))
                .isZero();
        assertThat(score(
                        item,
                        "[spotify.play(artist='Maroon 5', duration=15.0), spotify.play(artist='Taylor Swift',"
                                + " duration=20)]"))
                .isZero();
        assertThat(score(
                        item,
                        "[spotify.play(artist='Maroon 5', duration=15, shuffle=True),"
                                + " spotify.play(artist='Taylor Swift', duration=20)]"))
                .isZero();
        assertThat(metric.score(item, List.of("I would play some music.")).has("parse_error"))
                .isTrue();
    }

    @Test
    void irrelevanceIsRightWhenNoCallIsMade() throws Exception {
        Path file = write(
                "BFCL_v4_irrelevance.json",
                "{\"id\": \"irrelevance_0\", \"question\": [[{\"role\": \"user\", \"content\": \"Area of a"
                        + " triangle?\"}]], \"function\": [" + DOC + "]}\n");
        TaskItem item = metric.load(file, OPTIONS).getFirst();
        assertThat(score(item, "None of the functions can compute an area.")).isEqualTo(1.0);
        assertThat(score(item, "[]")).isEqualTo(1.0);
        assertThat(score(item, "[spotify.play(artist='x')]")).isZero();
    }

    @Test
    void nonStringFieldsAndInvalidUtf8AreRefusedNamingFileLineAndField() throws Exception {
        parallelSet();
        Path file = write(
                "BFCL_v4_parallel.json",
                "{\"id\": \"parallel_0\", \"question\": [[{\"role\": \"user\", \"content\": \"ok\"}]], \"function\": ["
                        + DOC + "]}\n{\"id\": \"parallel_0\", \"question\": [[{\"role\": \"user\", \"content\": 5}]],"
                        + " \"function\": [" + DOC + "]}\n");
        assertThatThrownBy(() -> metric.load(file, OPTIONS))
                .isInstanceOf(BadInputException.class)
                .hasMessage(file + ":2: field 'question[0][0].content' must be a string, got number");
        write(
                "answer_BFCL_v4_parallel.json",
                "{\"id\": \"parallel_0\", \"ground_truth\": [{\"spotify.play\":" + " {\"artist\": \"Maroon 5\"}}]}\n");
        assertThatThrownBy(() -> metric.load(file, OPTIONS))
                .isInstanceOf(BadInputException.class)
                .hasMessage(dir.resolve("answer_BFCL_v4_parallel.json").toAbsolutePath()
                        + ":1: field 'ground_truth[0].artist' must be a list of accepted values");
        Path bad = Files.write(
                dir.resolve("BFCL_v4_simple.json"),
                "{\"id\": \"simple_0\", \"question\": [[{\"role\": \"user\", \"content\": \"\u00ff\"}]]}\n"
                        .getBytes(StandardCharsets.ISO_8859_1));
        assertThatThrownBy(() -> metric.load(bad, OPTIONS))
                .isInstanceOf(BadInputException.class)
                .hasMessageStartingWith(bad.toString())
                .hasMessageContaining("UTF-8");
    }

    @Test
    void theRealV4FilesLoadAndTheirOwnAnswersScoreFull() {
        for (String name : List.of(
                "BFCL_v4_simple_python.json",
                "BFCL_v4_multiple.json",
                "BFCL_v4_parallel.json",
                "BFCL_v4_irrelevance.json")) {
            Path file = DATASETS.resolve(name);
            assumeTrue(Files.isRegularFile(file), () -> name + " is not in ../shared/datasets: skipping");
            List<TaskItem> items = metric.load(file, OPTIONS);
            assertThat(items).as(name).hasSizeGreaterThan(100);
            for (TaskItem item : items) {
                String first = firstAcceptedCalls(item);
                assertThat(score(item, first)).as(item.id() + ": " + first).isEqualTo(1.0);
                if (!item.data().get(Bfcl.GROUND_TRUTH).isEmpty()) {
                    assertThat(score(item, first.replaceFirst("\\(", "_renamed(")))
                            .isZero();
                }
            }
        }
    }

    /** The expected calls written with each parameter's first accepted value other than "" (the optional mark). */
    private static String firstAcceptedCalls(TaskItem item) {
        StringBuilder text = new StringBuilder("[");
        for (var call : item.data().get(Bfcl.GROUND_TRUTH)) {
            String name = call.fieldNames().next();
            text.append(text.length() > 1 ? ", " : "").append(name).append('(');
            boolean firstArg = true;
            for (var param : call.get(name).properties()) {
                JsonNode value = null;
                for (JsonNode accepted : param.getValue()) {
                    if (value == null
                            && !(accepted.isTextual() && accepted.asText().isEmpty())) {
                        value = accepted;
                    }
                }
                if (value == null) {
                    continue;
                }
                text.append(firstArg ? "" : ", ")
                        .append(param.getKey())
                        .append('=')
                        .append(python(value));
                firstArg = false;
            }
            text.append(')');
        }
        return text.append(']').toString();
    }

    private static String python(JsonNode value) {
        if (value.isBoolean()) {
            return value.asBoolean() ? "True" : "False";
        }
        if (value.isNull()) {
            return "None";
        }
        if (value.isObject()) {
            StringBuilder dict = new StringBuilder("{");
            value.properties()
                    .forEach(p -> dict.append(dict.length() > 1 ? ", " : "")
                            .append(Json.line(TextNode.valueOf(p.getKey())))
                            .append(": ")
                            .append(python(p.getValue().get(0))));
            return dict.append('}').toString();
        }
        if (value.isArray()) {
            StringBuilder list = new StringBuilder("[");
            value.forEach(e -> list.append(list.length() > 1 ? ", " : "").append(python(e)));
            return list.append(']').toString();
        }
        return value.toString();
    }
}
