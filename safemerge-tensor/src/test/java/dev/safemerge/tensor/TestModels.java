package dev.safemerge.tensor;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

/** Builds small random model directories for tests. */
final class TestModels {
    private TestModels() {}

    static final String CONFIG = "{\"architectures\":[\"LlamaForCausalLM\"],\"model_type\":\"llama\","
            + "\"vocab_size\":32,\"hidden_size\":16,\"intermediate_size\":24,\"num_hidden_layers\":2,"
            + "\"num_attention_heads\":4,\"num_key_value_heads\":2,\"torch_dtype\":\"bfloat16\"}";

    /** The tensors of a tiny 2-layer Llama in {@code dtype}. */
    static List<TensorSpec> llamaSpecs(DType dtype) {
        List<TensorSpec> specs = new ArrayList<>();
        specs.add(new TensorSpec("model.embed_tokens.weight", dtype, new long[] {32, 16}));
        for (int layer = 0; layer < 2; layer++) {
            String p = "model.layers." + layer + ".";
            specs.add(new TensorSpec(p + "input_layernorm.weight", dtype, new long[] {16}));
            specs.add(new TensorSpec(p + "self_attn.q_proj.weight", dtype, new long[] {16, 16}));
            specs.add(new TensorSpec(p + "self_attn.k_proj.weight", dtype, new long[] {8, 16}));
            specs.add(new TensorSpec(p + "self_attn.v_proj.weight", dtype, new long[] {8, 16}));
            specs.add(new TensorSpec(p + "self_attn.o_proj.weight", dtype, new long[] {16, 16}));
            specs.add(new TensorSpec(p + "post_attention_layernorm.weight", dtype, new long[] {16}));
            specs.add(new TensorSpec(p + "mlp.gate_proj.weight", dtype, new long[] {24, 16}));
            specs.add(new TensorSpec(p + "mlp.up_proj.weight", dtype, new long[] {24, 16}));
            specs.add(new TensorSpec(p + "mlp.down_proj.weight", dtype, new long[] {16, 24}));
        }
        specs.add(new TensorSpec("model.norm.weight", dtype, new long[] {16}));
        specs.add(new TensorSpec("lm_head.weight", dtype, new long[] {32, 16}));
        return specs;
    }

    /** Random values for every spec, rounded to its dtype so that they survive a write exactly. */
    static Map<String, float[]> randomValues(List<TensorSpec> specs, long seed) {
        Random random = new Random(seed);
        Map<String, float[]> values = new LinkedHashMap<>();
        for (TensorSpec spec : specs) {
            float[] v = new float[(int) spec.elementCount()];
            for (int i = 0; i < v.length; i++) {
                v[i] = FloatCodec.roundTo(spec.dtype(), (float) random.nextGaussian());
            }
            values.put(spec.name(), v);
        }
        return values;
    }

    /** Writes a model directory with the given shard limit and returns the values written. */
    static Map<String, float[]> writeLlama(Path dir, DType dtype, long maxShardBytes, long seed) {
        List<TensorSpec> specs = llamaSpecs(dtype);
        Map<String, float[]> values = randomValues(specs, seed);
        try (ModelWriter writer = ModelWriter.create(dir, specs, maxShardBytes, Map.of())) {
            values.forEach(writer::writeFloats);
            writer.writeFile("config.json", CONFIG.getBytes(StandardCharsets.UTF_8));
            writer.writeFile("tokenizer.json", "{}".getBytes(StandardCharsets.UTF_8));
            writer.commit();
        }
        return values;
    }
}
