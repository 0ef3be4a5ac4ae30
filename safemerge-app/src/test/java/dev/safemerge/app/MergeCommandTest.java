package dev.safemerge.app;

import static org.assertj.core.api.Assertions.assertThat;

import dev.safemerge.tensor.DType;
import dev.safemerge.tensor.ModelDirectory;
import dev.safemerge.tensor.ModelWriter;
import dev.safemerge.tensor.TensorSpec;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The merge command on sharded tiny Llama-layout checkpoints written here. */
class MergeCommandTest {
    @TempDir
    Path dir;

    /** A two-layer Llama-style model whose every element is {@code value}, in three shards. */
    static void tinyModel(Path path, float value, int vocab) {
        Map<String, long[]> shapes = new LinkedHashMap<>();
        shapes.put("model.embed_tokens.weight", new long[] {vocab, 4});
        for (int layer = 0; layer < 2; layer++) {
            shapes.put("model.layers." + layer + ".input_layernorm.weight", new long[] {4});
            shapes.put("model.layers." + layer + ".self_attn.q_proj.weight", new long[] {4, 4});
            shapes.put("model.layers." + layer + ".mlp.down_proj.weight", new long[] {4, 8});
        }
        shapes.put("model.norm.weight", new long[] {4});
        shapes.put("lm_head.weight", new long[] {vocab, 4});
        List<TensorSpec> specs = new ArrayList<>();
        shapes.forEach((name, shape) -> specs.add(new TensorSpec(name, DType.BF16, shape)));
        try (ModelWriter writer = ModelWriter.create(path, specs, 100, Map.of())) {
            for (TensorSpec spec : specs) {
                float[] values = new float[(int) spec.elementCount()];
                java.util.Arrays.fill(values, value);
                writer.writeFloats(spec.name(), values);
            }
            writer.writeFile(
                    "config.json",
                    ("{\"architectures\":[\"LlamaForCausalLM\"],\"model_type\":\"llama\",\"hidden_size\":4,"
                                    + "\"intermediate_size\":8,\"num_hidden_layers\":2,\"num_attention_heads\":1,"
                                    + "\"vocab_size\":" + vocab + ",\"torch_dtype\":\"bfloat16\"}")
                            .getBytes(StandardCharsets.UTF_8));
            writer.writeFile("tokenizer.json", "{\"model\":{}}".getBytes(StandardCharsets.UTF_8));
            writer.writeFile("tokenizer_config.json", "{}".getBytes(StandardCharsets.UTF_8));
            writer.commit();
        }
    }

    private Path config(String yaml) throws IOException {
        Path file = dir.resolve("merge.yml");
        Files.writeString(file, yaml);
        return file;
    }

    @Test
    void linearMergeWritesACompleteShardedModelDirectory() throws IOException {
        tinyModel(dir.resolve("a"), 1f, 16);
        tinyModel(dir.resolve("b"), 3f, 16);
        String yaml = """
                merge_method: linear
                dtype: float32
                out_dtype: bfloat16
                models:
                  - model: a
                    parameters: {weight: 0.25}
                  - model: b
                    parameters: {weight: 0.75}
                """;
        Path out = dir.resolve("merged");
        MainTest.Result result =
                MainTest.run("merge", config(yaml).toString(), "--out", out.toString(), "--max-shard-size", "200");
        assertThat(result.code()).as(result.err()).isZero();
        assertThat(result.out()).contains("merged 9 tensors (2 layers)");
        try (ModelDirectory merged = ModelDirectory.open(out)) {
            assertThat(merged.sharded()).isTrue();
            assertThat(merged.tensorNames()).hasSize(9);
            for (String name : merged.tensorNames()) {
                assertThat(merged.info(name).dtype()).isEqualTo(DType.BF16);
                assertThat(merged.readFloats(name)).containsOnly(2.5f);
            }
            assertThat(merged.config().torchDtype()).isEqualTo("bfloat16");
        }
        assertThat(out.resolve("tokenizer.json")).exists();
        assertThat(out.resolve("tokenizer_config.json")).exists();
        assertThat(out.resolve("mergekit_config.yml")).hasContent(yaml.strip());
        assertThat(Files.readString(out.resolve("README.md")))
                .contains("`linear`")
                .contains("- `a`");
        assertThat(out.resolve("model.safetensors.index.json")).exists();
    }

    @Test
    void dryRunPrintsThePlanAndWritesNothing() throws IOException {
        tinyModel(dir.resolve("base"), 1f, 16);
        tinyModel(dir.resolve("ft"), 2f, 16);
        String yaml = """
                merge_method: slerp
                base_model: base
                models: [{model: base}, {model: ft}]
                parameters:
                  t: [{filter: self_attn, value: [0, 1]}, {value: 0.5}]
                """;
        Path out = dir.resolve("merged");
        MainTest.Result result = MainTest.run("merge", config(yaml).toString(), "--out", out.toString(), "--dry-run");
        assertThat(result.code()).as(result.err()).isZero();
        assertThat(result.out())
                .contains("method slerp: 9 tensors, 2 layers")
                .contains("layer 0: slice 0, layer 0 of base")
                .contains("layer 1: slice 0, layer 1 of base")
                .contains("model.layers.0.self_attn.q_proj.weight [4, 4] bfloat16->bfloat16 t=0.0 <- ")
                .contains("model.layers.1.self_attn.q_proj.weight [4, 4] bfloat16->bfloat16 t=1.0 <- ")
                .contains("model.layers.1.mlp.down_proj.weight [4, 8] bfloat16->bfloat16 t=0.5 <- ");
        assertThat(out).doesNotExist();
    }

    /** The refusal names the remedy, --overwrite, which replaces the old output with the complete new one. */
    @Test
    void aNonEmptyOutputDirectoryIsRefusedUnlessOverwriteReplacesIt() throws IOException {
        tinyModel(dir.resolve("base"), 1f, 16);
        tinyModel(dir.resolve("ft"), 2f, 16);
        Path out = Files.createDirectories(dir.resolve("taken"));
        Files.writeString(out.resolve("keep.txt"), "x");
        String yaml = "merge_method: linear\nmodels: [{model: base, parameters: {weight: 1}}, {model: ft, parameters:"
                + " {weight: 1}}]\n";
        MainTest.Result result = MainTest.run("merge", config(yaml).toString(), "--out", out.toString());
        assertThat(result.code()).isEqualTo(2);
        assertThat(result.err().strip().lines()).hasSize(1);
        assertThat(result.err())
                .contains(out + ": output directory exists and is not empty (pass --overwrite to replace it, or"
                        + " choose another path)");
        assertThat(out.resolve("keep.txt")).hasContent("x");

        MainTest.Result replaced =
                MainTest.run("merge", config(yaml).toString(), "--out", out.toString(), "--overwrite");
        assertThat(replaced.code()).as(replaced.err()).isZero();
        assertThat(out.resolve("keep.txt")).doesNotExist();
        assertThat(out.resolve("config.json")).exists();
        try (var siblings = Files.list(dir)) {
            assertThat(siblings.map(p -> p.getFileName().toString()))
                    .as("neither the new output's temporary nor the old output stays beside it")
                    .allMatch(name -> !name.startsWith("."));
        }
    }

    /** A linear merge has weights, not a t: its plan must not read as if a layer came from one model. */
    @Test
    void dryRunOfALinearMergeShowsTheWeights() throws IOException {
        tinyModel(dir.resolve("base"), 1f, 16);
        tinyModel(dir.resolve("ft"), 2f, 16);
        String yaml = """
                merge_method: linear
                models: [{model: base, parameters: {weight: 0.75}}, {model: ft, parameters: {weight: 0.25}}]
                """;
        MainTest.Result result = MainTest.run(
                "merge", config(yaml).toString(), "--out", dir.resolve("m").toString(), "--dry-run");
        assertThat(result.code()).as(result.err()).isZero();
        assertThat(result.out())
                .doesNotContain(" t=")
                .doesNotContain(" t = ")
                .contains("model.layers.1.mlp.down_proj.weight [4, 8] bfloat16->bfloat16 normalize=1.0 <- "
                        + "base:model.layers.1.mlp.down_proj.weight weight=0.75,"
                        + " ft:model.layers.1.mlp.down_proj.weight weight=0.25");
    }

    @Test
    void badConfigsAreOneLineErrorsWithExitTwo() throws IOException {
        tinyModel(dir.resolve("a"), 1f, 16);
        tinyModel(dir.resolve("small"), 1f, 12);
        Map<String, String> cases = new LinkedHashMap<>();
        cases.put(
                "merge_method: linear\nmodels: [{model: a, parameters: {weight: 1}}]\nbogus: 1\n",
                "bogus: unknown key");
        cases.put(
                "merge_method: ties\nmodels: [{model: a, parameters: {weight: 1}}]\n",
                "base_model: ties needs a base_model");
        cases.put(
                "merge_method: linear\nmodels: [{model: a, parameters: {weight: abc}}]\n",
                "models[0].parameters.weight");
        cases.put("merge_method: linear\nmodels: [{model: a, parameters: {wieght: 1}}]\n", "unknown parameter");
        cases.put("merge_method: nope\nmodels: [{model: a}]\n", "unknown method 'nope'");
        cases.put("merge_method: linear\nmodels: [{model: a}]\n", "parameter 'weight' has no value for model a");
        cases.put("merge_method: karcher\nmodels: [{model: a}, {model: small}]\n", "shape mismatch");
        cases.put(
                "merge_method: slerp\nbase_model: a\nmodels: [{model: a}, {model: missing}]\nparameters: {t: 0.5}\n",
                "missing");
        for (Map.Entry<String, String> entry : cases.entrySet()) {
            Path out = dir.resolve("out");
            MainTest.Result result =
                    MainTest.run("merge", config(entry.getKey()).toString(), "--out", out.toString());
            assertThat(result.code()).as(entry.getKey() + result.err()).isEqualTo(2);
            assertThat(result.err().strip().lines()).as(result.err()).hasSize(1);
            assertThat(result.err()).contains(entry.getValue());
            assertThat(out).doesNotExist();
        }
    }

    /**
     * The merge reads only part of config.json; a config no model could be loaded from is refused before any work,
     * naming the file and the key, as with a dry run.
     */
    @Test
    void everyInputConfigIsValidatedAsAWholeModelConfigBeforeAnyWork() throws IOException {
        tinyModel(dir.resolve("base"), 1f, 16);
        tinyModel(dir.resolve("ft"), 2f, 16);
        Path badConfig = dir.resolve("ft").resolve("config.json");
        Files.writeString(
                badConfig,
                "{\"architectures\":[\"LlamaForCausalLM\"],\"model_type\":\"llama\",\"hidden_size\":4,"
                        + "\"intermediate_size\":8,\"num_hidden_layers\":2,\"num_attention_heads\":4,"
                        + "\"num_key_value_heads\":3,\"vocab_size\":16,\"torch_dtype\":\"bfloat16\"}");
        String yaml = "merge_method: linear\nmodels: [{model: base, parameters: {weight: 1}}, {model: ft, parameters:"
                + " {weight: 1}}]\n";
        for (String mode : List.of("--out", "--dry-run")) {
            Path out = dir.resolve("merged");
            List<String> args = new ArrayList<>(List.of("merge", config(yaml).toString()));
            args.addAll(mode.equals("--out") ? List.of("--out", out.toString()) : List.of("--dry-run"));
            MainTest.Result result = MainTest.run(args.toArray(String[]::new));
            assertThat(result.code()).as(result.err()).isEqualTo(2);
            assertThat(result.err().strip().lines()).as(result.err()).hasSize(1);
            assertThat(result.err())
                    .contains(badConfig + ": key 'num_key_value_heads' (3) must divide num_attention_heads (4)");
            assertThat(result.out()).as("no plan is printed").isEmpty();
            assertThat(out).doesNotExist();
        }
    }
}
