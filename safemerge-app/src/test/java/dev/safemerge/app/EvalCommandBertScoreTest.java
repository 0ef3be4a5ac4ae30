package dev.safemerge.app;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.safemerge.eval.encoder.BertScore;
import dev.safemerge.tensor.JsonMappers;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code eval task --metric similarity --bertscore-model}: the tiny BERT checkpoint of the eval module's fixtures. */
class EvalCommandBertScoreTest {
    private static final ObjectMapper JSON = JsonMappers.plain();
    private static final Path TINY_BERT =
            Path.of("../safemerge-eval/src/test/resources/dev/safemerge/eval/bertscore/bert");
    private static final String OTHER_ANSWER = "see your doctor if the pain gets worse";

    private static Path responses(Path dir) throws Exception {
        StringBuilder lines = new StringBuilder();
        boolean first = true;
        for (String line : Files.readAllLines(Path.of("../data/tasks/similarity.jsonl"))) {
            JsonNode item = JSON.readTree(line);
            String response = first ? item.get("reference").asText() : OTHER_ANSWER;
            lines.append(JSON.writeValueAsString(
                            Map.of("prompt", item.get("prompt").asText(), "response", response)))
                    .append('\n');
            first = false;
        }
        Path file = dir.resolve("responses.jsonl");
        Files.writeString(file, lines);
        return file;
    }

    private static MainTest.Result run(Path dir, String... extra) throws Exception {
        Files.createDirectories(dir);
        List<String> args = new ArrayList<>(List.of(
                "eval",
                "task",
                "--task",
                "../data/tasks/similarity.jsonl",
                "--metric",
                "similarity",
                "--responses",
                responses(dir).toString(),
                "--out",
                dir.resolve("out").toString()));
        args.addAll(List.of(extra));
        return MainTest.run(args.toArray(String[]::new));
    }

    @Test
    void writesPerItemAndMeanBertScoreNextToRouge(@TempDir Path dir) throws Exception {
        MainTest.Result result = run(dir, "--bertscore-model", TINY_BERT.toString(), "--bertscore-layer", "2");
        assertThat(result.code()).as(result.err()).isZero();
        assertThat(result.out())
                .contains(" bertscore_f1 0.")
                .contains(" rouge_l 0.")
                .contains(" token_f1 ");
        JsonNode summary = JSON.readTree(dir.resolve("out/summary.json").toFile());
        List<JsonNode> items = new ArrayList<>();
        for (String line : Files.readAllLines(dir.resolve("out/items.jsonl"))) {
            items.add(JSON.readTree(line));
        }
        List<String> references = new ArrayList<>();
        for (String line : Files.readAllLines(Path.of("../data/tasks/similarity.jsonl"))) {
            references.add(JSON.readTree(line).get("reference").asText());
        }
        assertThat(items).hasSize(references.size()).hasSizeGreaterThan(1);
        double sumP = 0;
        double sumR = 0;
        double sumF = 0;
        try (BertScore scorer = BertScore.load(TINY_BERT, 2)) {
            for (int i = 0; i < items.size(); i++) {
                JsonNode item = items.get(i);
                BertScore.Score expected = scorer.score(i == 0 ? references.get(0) : OTHER_ANSWER, references.get(i));
                assertThat(item.get("bertscore_precision").asDouble()).isEqualTo(expected.precision());
                assertThat(item.get("bertscore_recall").asDouble()).isEqualTo(expected.recall());
                assertThat(item.get("bertscore_f1").asDouble()).isEqualTo(expected.f1());
                assertThat(item.has("rouge_l")).isTrue();
                sumP += expected.precision();
                sumR += expected.recall();
                sumF += expected.f1();
            }
        }
        assertThat(items.get(0).get("bertscore_f1").asDouble()).isCloseTo(1.0, within(1e-6));
        assertThat(items.get(1).get("bertscore_f1").asDouble()).isLessThan(0.999);
        int n = items.size();
        assertThat(summary.get("bertscore_precision").asDouble()).isCloseTo(sumP / n, within(1e-12));
        assertThat(summary.get("bertscore_recall").asDouble()).isCloseTo(sumR / n, within(1e-12));
        assertThat(summary.get("bertscore_f1").asDouble()).isCloseTo(sumF / n, within(1e-12));
        assertThat(summary.has("rouge_l")).isTrue();
        assertThat(summary.at("/config/bertscore/model").asText()).isEqualTo(TINY_BERT.toString());
        assertThat(summary.at("/config/bertscore/layer").asInt()).isEqualTo(2);
        assertThat(summary.at("/config/bertscore/weighting").asText()).isEqualTo("no idf, no baseline rescaling");
    }

    @Test
    void withoutAnEncoderNoBertScoreFieldsAreWritten(@TempDir Path dir) throws Exception {
        MainTest.Result result = run(dir);
        assertThat(result.code()).as(result.err()).isZero();
        JsonNode summary = JSON.readTree(dir.resolve("out/summary.json").toFile());
        assertThat(summary.has("bertscore_f1")).isFalse();
        assertThat(summary.get("metric").asText()).contains("BERTScore is not computed");
    }

    @Test
    void badEncoderInputsExitWithTwoAndOneLine(@TempDir Path dir) throws Exception {
        Path unknownType = dir.resolve("gpt2");
        Files.createDirectories(unknownType);
        for (String file : new String[] {"model.safetensors", "tokenizer.json"}) {
            Files.copy(TINY_BERT.resolve(file), unknownType.resolve(file));
        }
        ObjectNode config =
                (ObjectNode) JSON.readTree(TINY_BERT.resolve("config.json").toFile());
        config.put("model_type", "gpt2");
        Files.writeString(unknownType.resolve("config.json"), config.toString());

        String[][] cases = {
            {"--bertscore-model", dir.resolve("missing").toString()},
            {"--bertscore-model", unknownType.toString()},
            {"--bertscore-model", TINY_BERT.toString(), "--bertscore-layer", "9"},
            {"--bertscore-layer", "1"},
        };
        String[] expected = {"missing: no such directory", "model_type gpt2", "layer 9 is out of range 0..3", "needs"};
        for (int i = 0; i < cases.length; i++) {
            MainTest.Result result = run(dir.resolve("case" + i), cases[i]);
            assertThat(result.code()).as(String.join(" ", cases[i])).isEqualTo(2);
            assertThat(result.err().strip().lines()).hasSize(1);
            assertThat(result.err()).contains(expected[i]);
        }
    }
}
