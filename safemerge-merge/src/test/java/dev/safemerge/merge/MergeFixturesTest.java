package dev.safemerge.merge;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import dev.safemerge.tensor.DType;
import dev.safemerge.tensor.JsonMappers;
import dev.safemerge.tensor.ModelDirectory;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;
import org.junit.jupiter.api.io.TempDir;

/**
 * Whole merges of sharded tiny Llama-layout checkpoints against src/test/python/merge_fixtures.py, which plans them
 * independently: gradients with filters, slices, parameter precedence, model_stock with three models, vocabulary
 * mismatches, tied lm_head.
 */
class MergeFixturesTest {
    @TempDir
    Path dir;

    @TestFactory
    Stream<DynamicTest> mergesMatchTheIndependentPlanner() throws IOException {
        JsonNode fixtures;
        try (InputStream in = getClass().getResourceAsStream("merge-fixtures.json")) {
            fixtures = JsonMappers.plain().readTree(in);
        }
        List<DynamicTest> tests = new ArrayList<>();
        int index = 0;
        for (JsonNode fixture : fixtures.get("cases")) {
            Path caseDir = dir.resolve("case" + index++);
            tests.add(DynamicTest.dynamicTest(fixture.get("name").asText(), () -> check(fixture, caseDir)));
        }
        assertThat(tests).hasSize(10);
        return tests.stream();
    }

    private static void check(JsonNode fixture, Path caseDir) throws IOException {
        DType stored = DType.fromTorchName(fixture.get("stored_dtype").asText());
        for (var model : fixture.get("models").properties()) {
            Map<String, TinyModels.Tensor> tensors = new LinkedHashMap<>();
            int vocab = 0;
            int layers = 0;
            for (var tensor : model.getValue().properties()) {
                long[] shape = longs(tensor.getValue().get("shape"));
                tensors.put(
                        tensor.getKey(),
                        new TinyModels.Tensor(shape, floats(tensor.getValue().get("values"))));
                if (tensor.getKey().equals("model.embed_tokens.weight")) {
                    vocab = (int) shape[0];
                }
                TensorNames.LayerName layer = TensorNames.parseLayer(tensor.getKey());
                layers = layer == null ? layers : Math.max(layers, layer.index() + 1);
            }
            // Small shards so that every input is a sharded checkpoint with an index.
            TinyModels.write(caseDir.resolve(model.getKey()), tensors, stored, 1500, layers, vocab);
        }
        Path config = caseDir.resolve("merge.yml");
        Files.writeString(config, JsonMappers.over(new YAMLFactory()).writeValueAsString(fixture.get("config")));
        Path out = caseDir.resolve("out");
        StringWriter log = new StringWriter();
        Merger.Summary summary = Merger.run(
                config,
                Merger.Options.into(out)
                        .seed(1)
                        .maxShardBytes(4000)
                        .threads(2)
                        .log(new PrintWriter(log, true))
                        .build());
        assertThat(summary.outputLayers())
                .isEqualTo(fixture.get("output_layers").asInt());
        boolean approximate = List.of("slerp", "model_stock")
                .contains(fixture.get("config").get("merge_method").asText());
        try (ModelDirectory merged = ModelDirectory.open(out)) {
            assertThat(merged.sharded()).isTrue();
            assertThat(merged.tensorNames()).hasSize(fixture.get("expected").size());
            assertThat(merged.config().numHiddenLayers())
                    .isEqualTo(fixture.get("output_layers").asInt());
            for (JsonNode expected : fixture.get("expected")) {
                String name = expected.get("name").asText();
                assertThat(merged.info(name).shape()).as(name).containsExactly(longs(expected.get("shape")));
                float[] actual = merged.readFloats(name);
                float[] want = floats(expected.get("values"));
                for (int i = 0; i < want.length; i++) {
                    float tolerance = approximate ? Math.ulp(Math.max(Math.abs(want[i]), 1e-3f)) * 65536 : 0;
                    assertThat(Math.abs(actual[i] - want[i]))
                            .as("%s[%d]: %s vs %s", name, i, actual[i], want[i])
                            .isLessThanOrEqualTo(tolerance);
                }
            }
        }
    }

    static long[] longs(JsonNode array) {
        long[] values = new long[array.size()];
        for (int i = 0; i < values.length; i++) {
            values[i] = array.get(i).asLong();
        }
        return values;
    }

    static float[] floats(JsonNode array) {
        float[] values = new float[array.size()];
        for (int i = 0; i < values.length; i++) {
            values[i] = (float) array.get(i).asDouble();
        }
        return values;
    }
}
