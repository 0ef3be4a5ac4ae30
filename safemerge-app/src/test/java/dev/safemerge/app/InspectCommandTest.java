package dev.safemerge.app;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.safemerge.tensor.DType;
import dev.safemerge.tensor.JsonMappers;
import dev.safemerge.tensor.LoraAdapterWriter;
import dev.safemerge.tensor.LoraConfig;
import dev.safemerge.tensor.LoraWeights;
import dev.safemerge.tensor.ModelWriter;
import dev.safemerge.tensor.TensorSpec;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class InspectCommandTest {
    private static final String CONFIG = "{\"architectures\":[\"Qwen2ForCausalLM\"],\"model_type\":\"qwen2\","
            + "\"vocab_size\":64,\"hidden_size\":8,\"intermediate_size\":16,\"num_hidden_layers\":1,"
            + "\"num_attention_heads\":2,\"num_key_value_heads\":1,\"torch_dtype\":\"bfloat16\","
            + "\"tie_word_embeddings\":true}";

    @TempDir
    Path dir;

    private Path writeModel(long maxShardBytes) {
        Path model = dir.resolve("model-" + maxShardBytes);
        List<TensorSpec> specs = List.of(
                new TensorSpec("model.embed_tokens.weight", DType.BF16, new long[] {64, 8}),
                new TensorSpec("model.layers.0.self_attn.q_proj.weight", DType.BF16, new long[] {8, 8}),
                new TensorSpec("model.layers.0.self_attn.q_proj.bias", DType.F32, new long[] {8}),
                new TensorSpec("model.norm.weight", DType.BF16, new long[] {8}));
        try (ModelWriter writer = ModelWriter.create(model, specs, maxShardBytes, Map.of())) {
            for (TensorSpec spec : specs) {
                writer.writeFloats(spec.name(), new float[(int) spec.elementCount()]);
            }
            writer.writeFile("config.json", CONFIG.getBytes(StandardCharsets.UTF_8));
            writer.writeFile("tokenizer.json", "{}".getBytes(StandardCharsets.UTF_8));
            writer.commit();
        }
        return model;
    }

    @Test
    void shardedModelSummaryListsArchitectureTensorsAndTotals() {
        Path model = writeModel(1000);
        MainTest.Result result = MainTest.run("inspect", model.toString());
        assertThat(result.code()).as(result.err()).isZero();
        assertThat(result.out())
                .contains("architecture: Qwen2ForCausalLM (model_type qwen2)")
                .contains("layers: 1  hidden: 8  intermediate: 16  heads: 2  kv heads: 1  head dim: 4  vocab: 64")
                .contains("dtype: bfloat16  tied embeddings: yes")
                .contains("(2 weight files)")
                .containsPattern("model\\.layers\\.0\\.self_attn\\.q_proj\\.bias +F32 +\\[8\\] +8 +32")
                .contains("tensors: 4  parameters: 592  bytes: 1,200 (1.20 kB)");
    }

    @Test
    void jsonCarriesTheSameFacts() throws Exception {
        Path model = writeModel(1L << 30);
        MainTest.Result result = MainTest.run("inspect", "--json", model.toString());
        assertThat(result.code()).as(result.err()).isZero();
        JsonNode json = JsonMappers.plain().readTree(result.out());
        assertThat(json.get("kind").asText()).isEqualTo("model");
        assertThat(json.get("config").get("num_key_value_heads").asInt()).isEqualTo(1);
        assertThat(json.get("files").get(0).asText()).isEqualTo("model.safetensors");
        assertThat(json.get("auxiliary_files").get(0).asText()).isEqualTo("tokenizer.json");
        assertThat(json.get("parameters").asLong()).isEqualTo(592);
        assertThat(json.get("bytes").asLong()).isEqualTo(1200);
        JsonNode embed = json.get("tensors").get(0);
        assertThat(embed.get("name").asText()).isEqualTo("model.embed_tokens.weight");
        assertThat(embed.get("shape").toString()).isEqualTo("[64,8]");
        assertThat(embed.get("bytes").asLong()).isEqualTo(1024);
    }

    @Test
    void adapterSummaryShowsRankAlphaTargetsAndScaling() throws Exception {
        Path adapter = dir.resolve("adapter");
        LoraConfig config = new LoraConfig(
                4,
                16,
                List.of("q_proj", "v_proj"),
                null,
                true,
                Map.of("v_proj", 2),
                Map.of(),
                false,
                List.of(),
                "base-model",
                0,
                "none",
                "CAUSAL_LM");
        LoraWeights q = new LoraWeights(new float[4 * 8], new float[8 * 4], 4, 8, 8, 8f, false);
        LoraWeights v =
                new LoraWeights(new float[2 * 8], new float[4 * 2], 2, 8, 4, (float) (16 / Math.sqrt(2)), false);
        LoraAdapterWriter.write(
                adapter,
                config,
                Map.of("model.layers.0.self_attn.q_proj.weight", q, "model.layers.0.self_attn.v_proj.weight", v),
                Map.of());
        MainTest.Result text = MainTest.run("inspect", adapter.toString());
        assertThat(text.code()).as(text.err()).isZero();
        assertThat(text.out())
                .contains("base model: base-model")
                .contains("r: 4  alpha: 16  rslora: true")
                .contains("target modules: q_proj, v_proj")
                .contains("targeted tensors: 2")
                .containsPattern("model\\.layers\\.0\\.self_attn\\.v_proj\\.weight +r=2 alpha=16 scaling=11\\.3137");
        JsonNode json = JsonMappers.plain()
                .readTree(MainTest.run("inspect", "--json", adapter.toString()).out());
        assertThat(json.get("kind").asText()).isEqualTo("adapter");
        assertThat(json.get("targeted_tensors").get(0).get("scaling").asDouble())
                .isEqualTo(8.0);
        assertThat(json.get("tensors")).hasSize(4);
    }

    @Test
    void singleFileIsListedWithMetadata() throws Exception {
        Path model = writeModel(1L << 30);
        Path file = model.resolve("model.safetensors");
        MainTest.Result result = MainTest.run("inspect", "--json", file.toString());
        assertThat(result.code()).isZero();
        JsonNode json = JsonMappers.plain().readTree(result.out());
        assertThat(json.get("kind").asText()).isEqualTo("safetensors");
        assertThat(json.get("metadata").get("format").asText()).isEqualTo("pt");
        assertThat(MainTest.run("inspect", file.toString()).out()).contains("safetensors file: " + file);
    }

    @Test
    void badInputExitsWithTwoAndOneLine() throws Exception {
        Path corrupt = dir.resolve("corrupt.safetensors");
        Files.write(corrupt, new byte[] {100, 0, 0, 0, 0, 0, 0, 0, '{'});
        Path pickled = dir.resolve("pickled");
        Files.createDirectories(pickled);
        Files.write(pickled.resolve("pytorch_model.bin"), new byte[] {1});
        Path noConfig = writeModel(1L << 30);
        Files.delete(noConfig.resolve("config.json"));
        for (Path bad : List.of(corrupt, pickled, noConfig, dir.resolve("missing"))) {
            MainTest.Result result = MainTest.run("inspect", bad.toString());
            assertThat(result.code()).as(bad.toString()).isEqualTo(2);
            assertThat(result.err().strip().lines()).as(result.err()).hasSize(1);
            assertThat(result.err())
                    .startsWith("error: ")
                    .contains(bad.getFileName().toString());
        }
    }
}
