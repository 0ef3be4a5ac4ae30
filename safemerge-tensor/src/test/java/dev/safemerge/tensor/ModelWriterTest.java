package dev.safemerge.tensor;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.IntStream;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ModelWriterTest {
    @TempDir
    Path dir;

    private static TensorSpec f32(String name, long elements) {
        return new TensorSpec(name, DType.F32, new long[] {elements});
    }

    @Test
    void shardsArePlannedInOrderLikeSavePretrained() {
        // Limit 40 bytes = 10 floats; sizes 6, 6, 2, 12 (too big: own shard), 2, 2, 6 floats.
        List<TensorSpec> specs =
                List.of(f32("a", 6), f32("b", 6), f32("c", 2), f32("d", 12), f32("e", 2), f32("f", 2), f32("g", 6));
        List<List<String>> plan = ModelWriter.planShards(specs, 40).stream()
                .map(shard -> shard.stream().map(TensorSpec::name).toList())
                .toList();
        assertThat(plan).containsExactly(List.of("a"), List.of("b", "c"), List.of("d"), List.of("e", "f", "g"));
    }

    @Test
    void shardedModelRoundTripsThroughModelDirectoryWithIndexAndChecksums() throws Exception {
        Path out = dir.resolve("model");
        Map<String, float[]> values = TestModels.writeLlama(out, DType.BF16, 2000, 1);
        try (Stream<Path> files = Files.list(dir)) {
            assertThat(files.map(p -> p.getFileName().toString())).containsExactly("model");
        }
        JsonNode index =
                JsonMappers.plain().readTree(out.resolve(ModelDirectory.INDEX).toFile());
        long total = TestModels.llamaSpecs(DType.BF16).stream()
                .mapToLong(TensorSpec::byteSize)
                .sum();
        assertThat(index.get("metadata").get("total_size").asLong()).isEqualTo(total);
        List<String> mapKeys = new ArrayList<>();
        index.get("weight_map").fieldNames().forEachRemaining(mapKeys::add);
        assertThat(mapKeys).isSorted().hasSize(values.size());
        int shardCount = (int)
                ModelWriter.planShards(TestModels.llamaSpecs(DType.BF16), 2000).size();
        assertThat(shardCount).isGreaterThan(2);
        for (int i = 1; i <= shardCount; i++) {
            assertThat(out.resolve(String.format("model-%05d-of-%05d.safetensors", i, shardCount)))
                    .isRegularFile();
        }
        try (ModelDirectory model = ModelDirectory.open(out)) {
            assertThat(model.sharded()).isTrue();
            assertThat(model.tensorNames())
                    .containsExactlyElementsOf(values.keySet().stream().sorted().toList());
            assertThat(model.config().raw().get("num_key_value_heads").asInt()).isEqualTo(2);
            assertThat(model.auxiliaryFiles()).containsExactly(out.resolve("tokenizer.json"));
            assertThat(model.metadata()).containsEntry("format", "pt");
            values.forEach((name, expected) ->
                    assertThat(model.readFloats(name)).as(name).containsExactly(expected));
        }
        Process check = new ProcessBuilder("sha256sum", "--check", "--strict", ModelWriter.CHECKSUMS)
                .directory(out.toFile())
                .redirectErrorStream(true)
                .start();
        String output = new String(check.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(check.waitFor()).as(output).isZero();
        assertThat(Files.readAllLines(out.resolve(ModelWriter.CHECKSUMS)))
                .hasSize(shardCount + 3)
                .allMatch(line -> line.matches("[0-9a-f]{64}  [^/]+"));
    }

    @Test
    void smallModelIsOneFileWithoutIndex() {
        Path out = dir.resolve("single");
        TestModels.writeLlama(out, DType.F32, Long.MAX_VALUE, 2);
        assertThat(out.resolve(ModelDirectory.SINGLE_FILE)).isRegularFile();
        assertThat(out.resolve(ModelDirectory.INDEX)).doesNotExist();
        try (ModelDirectory model = ModelDirectory.open(out)) {
            assertThat(model.sharded()).isFalse();
            assertThat(model.tensorNames())
                    .hasSize(TestModels.llamaSpecs(DType.F32).size());
        }
    }

    @Test
    void concurrentDisjointWritesLandInPlace() throws Exception {
        Path out = dir.resolve("parallel");
        int n = 1 << 16;
        float[] values = new float[n];
        for (int i = 0; i < n; i++) {
            values[i] = i * 0.5f;
        }
        try (ModelWriter writer =
                ModelWriter.create(out, List.of(new TensorSpec("w", DType.BF16, new long[] {n})), 1L << 30, Map.of())) {
            IntStream.range(0, 64).parallel().forEach(chunk -> {
                int from = chunk * (n / 64);
                writer.writeFloats("w", from, values, from, n / 64);
            });
            writer.commit();
        }
        try (SafetensorsFile file = SafetensorsFile.open(out.resolve(ModelDirectory.SINGLE_FILE))) {
            float[] back = file.readFloats("w");
            for (int i = 0; i < n; i++) {
                assertThat(back[i]).isEqualTo(FloatCodec.roundTo(DType.BF16, values[i]));
            }
        }
    }

    @Test
    void commitRefusesMissingBytesAndCloseLeavesNothing() {
        Path out = dir.resolve("incomplete");
        try (ModelWriter writer = ModelWriter.create(out, List.of(f32("a", 4), f32("b", 4)), 1000, Map.of())) {
            writer.writeFloats("a", new float[] {1, 2, 3, 4});
            writer.writeFloats("b", 0, new float[] {1, 2}, 0, 2);
            assertThatThrownBy(writer::commit).hasMessageContaining("'b'");
        }
        assertThat(out).doesNotExist();
        assertThat(dir).isEmptyDirectory();
    }

    @Test
    void existingOutputIsRefusedUnlessOverwriteIsAllowed() throws Exception {
        Path out = dir.resolve("existing");
        Files.createDirectories(out);
        Files.writeString(out.resolve("keep.txt"), "old");
        assertThatThrownBy(() -> ModelWriter.create(out, List.of(f32("a", 1)), 1000, Map.of()))
                .isInstanceOf(BadInputException.class)
                .hasMessageContaining("not empty");
        try (ModelWriter writer = ModelWriter.create(out, List.of(f32("a", 1)), 1000, Map.of(), true)) {
            writer.writeFloats("a", new float[] {7});
            writer.commit();
        }
        assertThat(out.resolve("keep.txt")).doesNotExist();
        assertThat(out.resolve(ModelDirectory.SINGLE_FILE)).isRegularFile();
        try (Stream<Path> files = Files.list(dir)) {
            assertThat(files.map(p -> p.getFileName().toString())).containsExactly("existing");
        }
        Path empty = dir.resolve("empty");
        Files.createDirectories(empty);
        try (ModelWriter writer = ModelWriter.create(empty, List.of(f32("a", 1)), 1000, Map.of())) {
            writer.writeFloats("a", new float[] {7});
            writer.commit();
        }
        assertThat(empty.resolve(ModelDirectory.SINGLE_FILE)).isRegularFile();
    }

    @Test
    void auxiliaryFilesAreCopiedAndNamesAreChecked() throws Exception {
        Path source = dir.resolve("tokenizer_config.json");
        Files.writeString(source, "{\"a\":1}");
        Path out = dir.resolve("copy");
        try (ModelWriter writer = ModelWriter.create(out, List.of(f32("a", 1)), 1000, Map.of("k", "v"))) {
            writer.writeFloats("a", new float[] {1});
            writer.copyFile(source, "tokenizer_config.json");
            assertThatThrownBy(() -> writer.writeFile("../escape", new byte[0]))
                    .isInstanceOf(IllegalArgumentException.class);
            assertThatThrownBy(() -> writer.writeFile(ModelWriter.CHECKSUMS, new byte[0]))
                    .isInstanceOf(IllegalArgumentException.class);
            writer.commit();
        }
        assertThat(out.resolve("tokenizer_config.json")).hasContent("{\"a\":1}");
        try (SafetensorsFile file = SafetensorsFile.open(out.resolve(ModelDirectory.SINGLE_FILE))) {
            assertThat(file.metadata()).containsEntry("format", "pt").containsEntry("k", "v");
        }
    }
}
