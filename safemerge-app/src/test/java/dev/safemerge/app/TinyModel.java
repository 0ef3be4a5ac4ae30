package dev.safemerge.app;

import dev.safemerge.tensor.DType;
import dev.safemerge.tensor.SafetensorsWriter;
import dev.safemerge.tensor.TensorSpec;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;

/** A tiny random Llama (hidden 32, 2 layers) with the project's 563-token test tokenizer, written into a folder. */
final class TinyModel {
    static final int VOCAB = 563;
    static final int HIDDEN = 32;
    static final int INTERMEDIATE = 64;
    static final int LAYERS = 2;
    static final int HEADS = 4;
    static final int KV_HEADS = 2;

    private TinyModel() {}

    static Path write(Path dir, long seed) throws Exception {
        Files.createDirectories(dir);
        for (String file : List.of("tokenizer.json", "tokenizer_config.json", "generation_config.json")) {
            try (InputStream in = TinyModel.class.getResourceAsStream("tiny-tokenizer/" + file)) {
                Files.copy(in, dir.resolve(file));
            }
        }
        Files.writeString(
                dir.resolve("config.json"), """
                {"vocab_size": %d, "hidden_size": %d, "intermediate_size": %d, "num_hidden_layers": %d,
                 "num_attention_heads": %d, "num_key_value_heads": %d, "max_position_embeddings": 512,
                 "bos_token_id": 556, "eos_token_id": 557, "architectures": ["LlamaForCausalLM"],
                 "model_type": "llama", "rms_norm_eps": 1e-05, "tie_word_embeddings": false,
                 "torch_dtype": "float32"}
                """.formatted(VOCAB, HIDDEN, INTERMEDIATE, LAYERS, HEADS, KV_HEADS));
        int kv = HIDDEN / HEADS * KV_HEADS;
        List<TensorSpec> specs = new ArrayList<>();
        specs.add(spec("model.embed_tokens.weight", VOCAB, HIDDEN));
        specs.add(spec("lm_head.weight", VOCAB, HIDDEN));
        specs.add(spec("model.norm.weight", HIDDEN));
        for (int l = 0; l < LAYERS; l++) {
            String p = "model.layers." + l + ".";
            specs.add(spec(p + "input_layernorm.weight", HIDDEN));
            specs.add(spec(p + "post_attention_layernorm.weight", HIDDEN));
            specs.add(spec(p + "self_attn.q_proj.weight", HIDDEN, HIDDEN));
            specs.add(spec(p + "self_attn.k_proj.weight", kv, HIDDEN));
            specs.add(spec(p + "self_attn.v_proj.weight", kv, HIDDEN));
            specs.add(spec(p + "self_attn.o_proj.weight", HIDDEN, HIDDEN));
            specs.add(spec(p + "mlp.gate_proj.weight", INTERMEDIATE, HIDDEN));
            specs.add(spec(p + "mlp.up_proj.weight", INTERMEDIATE, HIDDEN));
            specs.add(spec(p + "mlp.down_proj.weight", HIDDEN, INTERMEDIATE));
        }
        Random random = new Random(seed);
        try (SafetensorsWriter writer = SafetensorsWriter.create(dir.resolve("model.safetensors"), specs, Map.of())) {
            for (TensorSpec spec : specs) {
                float[] values = new float[(int) spec.elementCount()];
                boolean norm = spec.name().endsWith("norm.weight");
                for (int i = 0; i < values.length; i++) {
                    values[i] = norm ? 1f : (float) (random.nextGaussian() * 0.2);
                }
                writer.writeFloats(spec.name(), values);
            }
            writer.finish();
        }
        return dir;
    }

    private static TensorSpec spec(String name, long... shape) {
        return new TensorSpec(name, DType.F32, shape);
    }
}
