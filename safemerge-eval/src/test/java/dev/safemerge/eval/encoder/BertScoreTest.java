package dev.safemerge.eval.encoder;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.safemerge.eval.encoder.BertScore.Score;
import dev.safemerge.tensor.BadInputException;
import dev.safemerge.tensor.JsonMappers;
import java.io.IOException;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Golden values from src/test/python/bertscore_fixture.py (float64 numpy, written independently). */
class BertScoreTest {
    private static final ObjectMapper JSON = JsonMappers.plain();

    static Path fixture(String name) {
        try {
            return Path.of(BertScoreTest.class
                    .getResource("/dev/safemerge/eval/bertscore/" + name)
                    .toURI());
        } catch (URISyntaxException e) {
            throw new IllegalStateException(e);
        }
    }

    private static JsonNode golden() throws IOException {
        return JSON.readTree(fixture("golden.json").toFile());
    }

    @Test
    void hiddenStatesMatchNumpyForBertAndRoberta() throws IOException {
        int checked = 0;
        for (String name : new String[] {"bert", "roberta"}) {
            Map<Integer, EncoderModel> byLayer = new HashMap<>();
            for (JsonNode c : golden().get(name).get("hidden")) {
                int layer = c.get("layer").asInt();
                EncoderModel model = byLayer.computeIfAbsent(layer, l -> EncoderModel.load(fixture(name), l));
                int[] ids = JSON.convertValue(c.get("ids"), int[].class);
                float[] states = model.encode(ids);
                JsonNode expected = c.get("states");
                assertThat(states).hasSize(ids.length * model.hiddenSize());
                for (int t = 0; t < ids.length; t++) {
                    for (int d = 0; d < model.hiddenSize(); d++) {
                        assertThat((double) states[t * model.hiddenSize() + d])
                                .as("%s layer %d token %d dim %d", name, layer, t, d)
                                .isCloseTo(expected.get(t).get(d).asDouble(), within(1e-4));
                    }
                }
                checked++;
            }
        }
        assertThat(checked).isEqualTo(12);
    }

    @Test
    void scoresMatchNumpyForBertAndRoberta() throws IOException {
        int checked = 0;
        for (String name : new String[] {"bert", "roberta"}) {
            Map<Integer, BertScore> byLayer = new HashMap<>();
            try {
                for (JsonNode c : golden().get(name).get("bertscore")) {
                    int layer = c.get("layer").asInt();
                    BertScore scorer = byLayer.computeIfAbsent(layer, l -> BertScore.load(fixture(name), l));
                    Score score = scorer.score(
                            c.get("candidate").asText(), c.get("reference").asText());
                    String what = name + " L" + layer + " " + c.get("candidate") + " vs " + c.get("reference");
                    assertThat(score.precision()).as(what).isCloseTo(c.get("p").asDouble(), within(1e-5));
                    assertThat(score.recall()).as(what).isCloseTo(c.get("r").asDouble(), within(1e-5));
                    assertThat(score.f1()).as(what).isCloseTo(c.get("f").asDouble(), within(1e-5));
                    checked++;
                }
            } finally {
                byLayer.values().forEach(BertScore::close);
            }
        }
        assertThat(checked).isEqualTo(28);
    }

    @Test
    void tokenisationWrapsAndTruncatesLikeBertScore() {
        try (BertScore bert = BertScore.load(fixture("bert"), null)) {
            assertThat(bert.layer()).as("default layer = num_hidden_layers").isEqualTo(3);
            // [CLS]=2 [SEP]=3 [UNK]=1; words start at 4 ("the"), lower-cased by the tokenizer
            assertThat(bert.tokenize("  The patient zzz ")).containsExactly(2, 4, 5, 1, 3);
            int[] long_ = bert.tokenize("the ".repeat(40));
            assertThat(long_).hasSize(16);
            assertThat(long_[0]).isEqualTo(2);
            assertThat(long_[15]).isEqualTo(3);
        }
        try (BertScore roberta = BertScore.load(fixture("roberta"), 1)) {
            // <s>=0 </s>=2; max_position_embeddings 14 minus the offset padding_idx + 1 = 2 leaves 12 tokens
            assertThat(roberta.tokenize("the ".repeat(40))).hasSize(12);
            assertThat(roberta.tokenize("the patient")).containsExactly(0, 4, 5, 2);
        }
    }

    @Test
    void badCheckpointsAreOneLineUserErrors(@TempDir Path tmp) throws IOException {
        assertThatThrownBy(() -> BertScore.load(tmp.resolve("missing"), null))
                .isInstanceOf(BadInputException.class)
                .hasMessageContaining("missing: no such directory");
        assertThatThrownBy(() -> BertScore.load(fixture("bert"), 4))
                .isInstanceOf(BadInputException.class)
                .hasMessageContaining("layer 4 is out of range 0..3");
        assertThatThrownBy(() -> BertScore.load(fixture("bert"), -1))
                .isInstanceOf(BadInputException.class)
                .hasMessageContaining("layer -1 is out of range");
        assertThatThrownBy(() -> BertScore.load(withModelType(tmp, "gpt2"), null))
                .isInstanceOf(BadInputException.class)
                .hasMessageContaining("config.json: model_type gpt2 is not a supported encoder; one of [bert, roberta");
        assertThatThrownBy(() -> BertScore.load(withModelType(tmp, "deberta-v2"), null))
                .isInstanceOf(BadInputException.class)
                .hasMessageContaining("model_type deberta-v2 (disentangled attention) is not supported");
        Path noTokenizer = withModelType(tmp, "bert");
        Files.delete(noTokenizer.resolve("tokenizer.json"));
        assertThatThrownBy(() -> BertScore.load(noTokenizer, null))
                .isInstanceOf(BadInputException.class)
                .hasMessageContaining("no tokenizer.json");
    }

    /** A copy of the tiny BERT with another model_type in config.json. */
    static Path withModelType(Path tmp, String type) throws IOException {
        Path dir = Files.createTempDirectory(tmp, type);
        for (String file : new String[] {"model.safetensors", "tokenizer.json"}) {
            Files.copy(fixture("bert").resolve(file), dir.resolve(file));
        }
        ObjectNode config = (ObjectNode)
                JSON.readTree(fixture("bert").resolve("config.json").toFile());
        config.put("model_type", type);
        Files.writeString(dir.resolve("config.json"), config.toString());
        return dir;
    }
}
