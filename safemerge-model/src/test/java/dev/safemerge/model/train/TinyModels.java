package dev.safemerge.model.train;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.safemerge.model.ModelConfig;
import dev.safemerge.model.ModelSpec;
import dev.safemerge.tensor.BadInputException;
import dev.safemerge.tensor.DType;
import dev.safemerge.tensor.FloatCodec;
import dev.safemerge.tensor.JsonMappers;
import dev.safemerge.tensor.SafetensorsWriter;
import dev.safemerge.tensor.TensorSpec;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

/** Small random decoders of each architecture, held in memory, for gradient checks and training tests. */
final class TinyModels {
    private TinyModels() {}

    enum Arch {
        LLAMA,
        QWEN2,
        MISTRAL,
        GEMMA,
        GEMMA2
    }

    record Tiny(
            Arch arch,
            ModelSpec spec,
            String configJson,
            Map<String, float[]> tensors,
            Map<String, int[]> shapes,
            DType dtype) {
        WeightSource weights() {
            return new WeightSource() {
                @Override
                public boolean contains(String name) {
                    return tensors.containsKey(name);
                }

                @Override
                public FrozenMatrix matrix(String name, int rows, int cols) {
                    float[] values = get(name, (long) rows * cols);
                    return FrozenMatrix.encode(rows, cols, values, dtype);
                }

                @Override
                public float[] vector(String name, int length) {
                    float[] values = get(name, length).clone();
                    for (int i = 0; i < values.length; i++) {
                        values[i] = FloatCodec.roundTo(dtype, values[i]);
                    }
                    return values;
                }

                private float[] get(String name, long count) {
                    float[] values = tensors.get(name);
                    if (values == null || values.length != count) {
                        throw new BadInputException("tiny model: no tensor " + name + " of " + count + " values");
                    }
                    return values;
                }
            };
        }

        /** Writes config.json and model.safetensors (in {@code dtype}) into {@code dir}. */
        Path writeTo(Path dir) throws IOException {
            Files.createDirectories(dir);
            Files.writeString(dir.resolve("config.json"), configJson);
            List<TensorSpec> specs = new ArrayList<>();
            shapes.forEach((name, shape) -> specs.add(new TensorSpec(
                    name, dtype, java.util.Arrays.stream(shape).asLongStream().toArray())));
            try (SafetensorsWriter writer =
                    SafetensorsWriter.create(dir.resolve("model.safetensors"), specs, Map.of("format", "pt"))) {
                tensors.forEach(writer::writeFloats);
                writer.finish();
            }
            return dir;
        }
    }

    static Tiny create(Arch arch, long seed) {
        return create(arch, seed, 40, 16, 24, 2, DType.F32);
    }

    static Tiny create(Arch arch, long seed, int vocab, int hidden, int intermediate, int layers, DType dtype) {
        boolean gemma = arch == Arch.GEMMA || arch == Arch.GEMMA2;
        int heads = 4;
        int kvHeads = arch == Arch.GEMMA ? 1 : 2;
        int headDim = gemma ? hidden / 2 : hidden / heads;
        ObjectNode config = JsonMappers.plain().createObjectNode();
        String className = switch (arch) {
            case LLAMA -> "LlamaForCausalLM";
            case QWEN2 -> "Qwen2ForCausalLM";
            case MISTRAL -> "MistralForCausalLM";
            case GEMMA -> "GemmaForCausalLM";
            case GEMMA2 -> "Gemma2ForCausalLM";
        };
        config.putArray("architectures").add(className);
        config.put("model_type", arch.name().toLowerCase(java.util.Locale.ROOT));
        config.put("vocab_size", vocab);
        config.put("hidden_size", hidden);
        config.put("intermediate_size", intermediate);
        config.put("num_hidden_layers", layers);
        config.put("num_attention_heads", heads);
        config.put("num_key_value_heads", kvHeads);
        config.put("head_dim", headDim);
        config.put("rms_norm_eps", 1e-5);
        config.put("rope_theta", 10000.0);
        config.put("max_position_embeddings", 64);
        config.put("tie_word_embeddings", gemma);
        config.put("torch_dtype", dtype.torchName());
        config.put("bos_token_id", 1);
        config.put("eos_token_id", 3);
        if (arch == Arch.LLAMA) {
            ObjectNode rope = config.putObject("rope_scaling");
            rope.put("rope_type", "llama3");
            rope.put("factor", 8.0);
            rope.put("low_freq_factor", 1.0);
            rope.put("high_freq_factor", 4.0);
            rope.put("original_max_position_embeddings", 16);
        }
        if (arch == Arch.MISTRAL || arch == Arch.GEMMA2) {
            config.put("sliding_window", 3);
        }
        if (arch == Arch.GEMMA2) {
            config.put("query_pre_attn_scalar", 12);
            config.put("attn_logit_softcapping", 2.0);
            config.put("final_logit_softcapping", 3.0);
        }
        ModelSpec spec = ModelSpec.from(ModelConfig.fromJson(config, "tiny config.json"), "tiny config.json", null);
        SplittableRandom random = new SplittableRandom(seed);
        Map<String, float[]> tensors = new LinkedHashMap<>();
        Map<String, int[]> shapes = new LinkedHashMap<>();
        put(tensors, shapes, "model.embed_tokens.weight", random, 0.5, 0, vocab, hidden);
        for (int i = 0; i < layers; i++) {
            String l = "model.layers." + i;
            put(tensors, shapes, l + ".input_layernorm.weight", random, 0.1, gemma ? 0 : 1, hidden);
            put(tensors, shapes, l + ".post_attention_layernorm.weight", random, 0.1, gemma ? 0 : 1, hidden);
            if (arch == Arch.GEMMA2) {
                put(tensors, shapes, l + ".pre_feedforward_layernorm.weight", random, 0.1, 0, hidden);
                put(tensors, shapes, l + ".post_feedforward_layernorm.weight", random, 0.1, 0, hidden);
            }
            double ws = 1 / Math.sqrt(hidden);
            put(tensors, shapes, l + ".self_attn.q_proj.weight", random, ws, 0, heads * headDim, hidden);
            put(tensors, shapes, l + ".self_attn.k_proj.weight", random, ws, 0, kvHeads * headDim, hidden);
            put(tensors, shapes, l + ".self_attn.v_proj.weight", random, ws, 0, kvHeads * headDim, hidden);
            if (arch == Arch.QWEN2) {
                put(tensors, shapes, l + ".self_attn.q_proj.bias", random, 0.1, 0, heads * headDim);
                put(tensors, shapes, l + ".self_attn.k_proj.bias", random, 0.1, 0, kvHeads * headDim);
                put(tensors, shapes, l + ".self_attn.v_proj.bias", random, 0.1, 0, kvHeads * headDim);
            }
            put(
                    tensors,
                    shapes,
                    l + ".self_attn.o_proj.weight",
                    random,
                    1 / Math.sqrt(heads * headDim),
                    0,
                    hidden,
                    heads * headDim);
            put(tensors, shapes, l + ".mlp.gate_proj.weight", random, ws, 0, intermediate, hidden);
            put(tensors, shapes, l + ".mlp.up_proj.weight", random, ws, 0, intermediate, hidden);
            put(
                    tensors,
                    shapes,
                    l + ".mlp.down_proj.weight",
                    random,
                    1 / Math.sqrt(intermediate),
                    0,
                    hidden,
                    intermediate);
        }
        put(tensors, shapes, "model.norm.weight", random, 0.1, gemma ? 0 : 1, hidden);
        if (!gemma) {
            put(tensors, shapes, "lm_head.weight", random, 1 / Math.sqrt(hidden), 0, vocab, hidden);
        }
        return new Tiny(arch, spec, config.toString(), tensors, shapes, dtype);
    }

    private static void put(
            Map<String, float[]> tensors,
            Map<String, int[]> shapes,
            String name,
            SplittableRandom random,
            double sigma,
            double mean,
            int... shape) {
        int count = 1;
        for (int d : shape) {
            count *= d;
        }
        float[] values = new float[count];
        for (int i = 0; i < count; i++) {
            values[i] = (float) (mean + sigma * random.nextGaussian());
        }
        tensors.put(name, values);
        shapes.put(name, shape);
    }
}
