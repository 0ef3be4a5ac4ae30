package dev.safemerge.eval.task;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.safemerge.eval.Json;
import dev.safemerge.eval.data.RecordedResponses;
import dev.safemerge.eval.data.Records;
import dev.safemerge.eval.sandbox.PythonSandbox;
import dev.safemerge.eval.sandbox.SandboxAssumptions;
import dev.safemerge.tensor.BadInputException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The public sets as published load, and the same records with a prompt that is not a JSON string ({@code 5}) are
 * refused with one line naming the file, the record and the field, instead of being sent to the model as "5".
 */
class PublicSetPromptFieldsTest {
    private static final Path DATASETS = Path.of("../../shared/datasets");
    private static final TaskOptions OPTIONS = new TaskOptions(
            null, null, null, List.of(1), PythonSandbox.defaultPython(), PythonSandbox.Limits.HUMAN_EVAL);

    @TempDir
    Path dir;

    private static Path dataset(String relative) {
        Path file = DATASETS.resolve(relative);
        assumeTrue(Files.isRegularFile(file), () -> relative + " is not in ../shared/datasets: skipping");
        return file;
    }

    /** The first two records of a JSON Lines or JSON array file, the second with {@code field} set to 5. */
    private static List<ObjectNode> twoRecordsSecondWithNumber(Path file, String field) {
        List<Records.Row> rows = Records.read(file);
        ObjectNode first = (ObjectNode) rows.get(0).node();
        ObjectNode second = ((ObjectNode) rows.get(1).node()).deepCopy();
        second.put(field, 5);
        return List.of(first, second);
    }

    private Path jsonLines(String name, List<ObjectNode> records) throws Exception {
        StringBuilder text = new StringBuilder();
        records.forEach(r -> text.append(Json.line(r)).append('\n'));
        return Files.writeString(dir.resolve(name), text);
    }

    private static void assertRefused(TaskMetric metric, Path file, String where, String field) {
        assertThatThrownBy(() -> metric.load(file, OPTIONS))
                .isInstanceOf(BadInputException.class)
                .hasMessage(file + where + ": field '" + field + "' must be a string, got number");
    }

    @Test
    void gsm8k() throws Exception {
        Path real = dataset("gsm8k/test.jsonl");
        assertThat(new NumericAnswer().load(real, OPTIONS)).hasSize(1319);
        Path bad = jsonLines("gsm8k.jsonl", twoRecordsSecondWithNumber(real, "question"));
        assertRefused(new NumericAnswer(), bad, ":2", "question");
    }

    @Test
    void chatDoctorUnderTheSimilarityMetric() throws Exception {
        Path real = dataset("chatdoctor/chatdoctor5k.json");
        assertThat(new Similarity().load(real, OPTIONS)).hasSize(5452);
        ArrayNode array = Json.MAPPER.createArrayNode();
        twoRecordsSecondWithNumber(real, "input").forEach(array::add);
        Path bad = Files.writeString(dir.resolve("chatdoctor.json"), array.toString());
        assertRefused(new Similarity(), bad, ":2", "input");
    }

    @Test
    void humanEvalPromptTestAndEntryPoint() throws Exception {
        SandboxAssumptions.assumeSandboxRuns();
        Path real = dataset("humaneval/HumanEval.jsonl.gz");
        assertThat(new HumanEval().load(real, OPTIONS)).hasSize(164);
        for (String field : List.of("prompt", "test", "entry_point")) {
            Path bad = jsonLines("humaneval-" + field + ".jsonl", twoRecordsSecondWithNumber(real, field));
            assertRefused(new HumanEval(), bad, ":2", field);
        }
    }

    /** BBH task files are one JSON object, so the error names the example by its index. */
    @Test
    void bbhExamplesAndExemplars() throws Exception {
        JsonNode real =
                Json.MAPPER.readTree(dataset("bbh/boolean_expressions.json").toFile());
        ObjectNode task = Json.object();
        ArrayNode examples = task.putArray("examples");
        examples.add(real.get("examples").get(0));
        examples.add(((ObjectNode) real.get("examples").get(1).deepCopy()).put("input", 5));
        // the published files rely on cot-prompts/, which is not in the data set: exemplars given in the file
        task.putArray("fewshot").add(real.get("examples").get(2));
        Path bad = Files.writeString(dir.resolve("boolean_expressions.json"), task.toString());
        assertThatThrownBy(() -> new Bbh().load(bad, OPTIONS))
                .isInstanceOf(BadInputException.class)
                .hasMessage(bad + ": examples[1]: field 'input' must be a string, got number");
        examples.remove(1);
        ((ObjectNode) task.get("fewshot").get(0)).put("target", true);
        Files.writeString(bad, task.toString());
        assertThatThrownBy(() -> new Bbh().load(bad, OPTIONS))
                .hasMessage(bad + ": fewshot[0]: field 'target' must be a string, got boolean");
    }

    /** A HumanEval samples file ({@code task_id} + {@code completion}) is held to the same rule as responses. */
    @Test
    void completionOfARecordedSamplesFile() throws Exception {
        Path samples = Files.writeString(
                dir.resolve("samples.jsonl"),
                "{\"task_id\": \"HumanEval/0\", \"completion\": \"    return True\\n\"}\n"
                        + "{\"task_id\": \"HumanEval/0\", \"completion\": 5}\n");
        assertThatThrownBy(() -> RecordedResponses.load(samples))
                .isInstanceOf(BadInputException.class)
                .hasMessage(samples + ":2: field 'completion' must be a string, got number");
    }
}
