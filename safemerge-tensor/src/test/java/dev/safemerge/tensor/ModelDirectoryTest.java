package dev.safemerge.tensor;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ModelDirectoryTest {
    private static final ObjectMapper JSON = JsonMappers.plain();

    @TempDir
    Path dir;

    Path model;

    @BeforeEach
    void writeShardedModel() {
        model = dir.resolve("m");
        TestModels.writeLlama(model, DType.F16, 2000, 3);
    }

    private ObjectNode index() throws Exception {
        return (ObjectNode) JSON.readTree(model.resolve(ModelDirectory.INDEX).toFile());
    }

    private void writeIndex(ObjectNode index) throws Exception {
        Files.writeString(model.resolve(ModelDirectory.INDEX), JSON.writeValueAsString(index));
    }

    private void assertRejected(String... messageParts) {
        assertThatThrownBy(() -> ModelDirectory.open(model))
                .isInstanceOf(BadInputException.class)
                .hasMessageContaining(messageParts[0])
                .satisfies(e -> {
                    for (String part : messageParts) {
                        assertThat(e.getMessage()).contains(part);
                    }
                    assertThat(e.getMessage()).doesNotContain("\n");
                });
    }

    @Test
    void indexPointingAtAShardWithoutTheTensorIsRejected() throws Exception {
        ObjectNode index = index();
        ObjectNode map = (ObjectNode) index.get("weight_map");
        String own = map.get("lm_head.weight").asText();
        String other = map.get("model.embed_tokens.weight").asText();
        assertThat(other).isNotEqualTo(own);
        map.put("lm_head.weight", other);
        writeIndex(index);
        assertRejected(ModelDirectory.INDEX, "lm_head.weight", "does not contain it");
    }

    @Test
    void shardTensorMissingFromTheMapIsRejected() throws Exception {
        ObjectNode index = index();
        ((ObjectNode) index.get("weight_map")).remove("model.norm.weight");
        writeIndex(index);
        assertRejected("model.norm.weight", "missing from weight_map");
    }

    @Test
    void missingShardAndPathEscapesAndBadShapesAreRejected() throws Exception {
        ObjectNode index = index();
        ((ObjectNode) index.get("weight_map")).put("model.norm.weight", "model-00009-of-00009.safetensors");
        writeIndex(index);
        assertRejected("model-00009-of-00009.safetensors", "does not exist");
        ((ObjectNode) index.get("weight_map")).put("model.norm.weight", "../m/model-00001-of-00004.safetensors");
        writeIndex(index);
        assertRejected("not a file name inside");
        Files.writeString(model.resolve(ModelDirectory.INDEX), "{\"weight_map\": []}");
        assertRejected("weight_map");
        Files.writeString(model.resolve(ModelDirectory.INDEX), "{\"weight_map\": {\"a\": 1}}");
        assertRejected("'a'");
        Files.writeString(model.resolve(ModelDirectory.INDEX), "[1");
        assertRejected("not valid JSON");
    }

    @Test
    void tensorInTwoShardsIsRejected() throws Exception {
        // Two single-tensor shards that both hold "x".
        Path twin = dir.resolve("twin");
        Files.createDirectories(twin);
        for (String shard : new String[] {"s1.safetensors", "s2.safetensors"}) {
            try (SafetensorsWriter writer = SafetensorsWriter.create(
                    twin.resolve(shard),
                    java.util.List.of(new TensorSpec("x", DType.F32, new long[] {1})),
                    java.util.Map.of())) {
                writer.writeFloats("x", new float[] {1});
                writer.finish();
            }
        }
        Files.writeString(twin.resolve("config.json"), TestModels.CONFIG);
        Files.writeString(twin.resolve(ModelDirectory.INDEX), "{\"weight_map\": {\"x\": \"s1.safetensors\"}}");
        // s2 is not referenced, so it is ignored like transformers ignores it.
        try (ModelDirectory opened = ModelDirectory.open(twin)) {
            assertThat(opened.tensorNames()).containsExactly("x");
        }
        Files.writeString(
                twin.resolve(ModelDirectory.INDEX),
                "{\"weight_map\": {\"x\": \"s1.safetensors\", \"y\": \"s2.safetensors\"}}");
        assertThatThrownBy(() -> ModelDirectory.open(twin))
                .isInstanceOf(BadInputException.class)
                .hasMessageContaining("'y'");
    }

    @Test
    void missingConfigIsAClearError() throws Exception {
        Files.delete(model.resolve("config.json"));
        assertRejected("config.json", "no such file");
    }

    @Test
    void pickledCheckpointsAreRefusedWithAConversionHint() throws Exception {
        Path pickled = dir.resolve("pickled");
        Files.createDirectories(pickled);
        Files.writeString(pickled.resolve("config.json"), TestModels.CONFIG);
        Files.write(pickled.resolve("pytorch_model.bin"), new byte[] {(byte) 0x80, 2});
        assertThatThrownBy(() -> ModelDirectory.open(pickled))
                .isInstanceOf(BadInputException.class)
                .hasMessageContaining("pytorch_model.bin")
                .hasMessageContaining("pickle")
                .hasMessageContaining("safe_serialization=True");
        Path empty = dir.resolve("empty");
        Files.createDirectories(empty);
        assertThatThrownBy(() -> ModelDirectory.open(empty))
                .isInstanceOf(BadInputException.class)
                .hasMessageContaining("model.safetensors");
    }
}
