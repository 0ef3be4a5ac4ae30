package dev.safemerge.merge;

import dev.safemerge.tensor.DType;
import dev.safemerge.tensor.ModelWriter;
import dev.safemerge.tensor.TensorSpec;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/** Writes tiny Llama-layout model directories (sharded safetensors, config.json, tokenizer files) for tests. */
final class TinyModels {
    private TinyModels() {}

    record Tensor(long[] shape, float[] values) {}

    static void write(Path dir, Map<String, Tensor> tensors, DType dtype, long maxShardBytes, int layers, int vocab) {
        List<TensorSpec> specs = new ArrayList<>();
        for (Map.Entry<String, Tensor> entry : tensors.entrySet()) {
            specs.add(new TensorSpec(entry.getKey(), dtype, entry.getValue().shape()));
        }
        try (ModelWriter writer = ModelWriter.create(dir, specs, maxShardBytes, Map.of())) {
            for (Map.Entry<String, Tensor> entry : tensors.entrySet()) {
                writer.writeFloats(entry.getKey(), entry.getValue().values());
            }
            writer.writeFile("config.json", config(layers, vocab, dtype, !tensors.containsKey("lm_head.weight")));
            writer.writeFile(
                    "tokenizer.json",
                    "{\"version\":\"1.0\",\"model\":{\"type\":\"BPE\",\"vocab\":{\"a\":0,\"b\":1},\"merges\":[]}}"
                            .getBytes(StandardCharsets.UTF_8));
            writer.writeFile(
                    "tokenizer_config.json",
                    ("{\"tokenizer_class\":\"PreTrainedTokenizerFast\",\"source\":\"" + dir.getFileName() + "\"}")
                            .getBytes(StandardCharsets.UTF_8));
            writer.writeFile("generation_config.json", "{\"do_sample\":false}".getBytes(StandardCharsets.UTF_8));
            writer.commit();
        }
    }

    static byte[] config(int layers, int vocab, DType dtype, boolean tied) {
        return ("{\"architectures\":[\"LlamaForCausalLM\"],\"model_type\":\"llama\",\"hidden_size\":8,"
                        + "\"intermediate_size\":16,\"num_hidden_layers\":" + layers
                        + ",\"num_attention_heads\":2,\"num_key_value_heads\":1,\"vocab_size\":" + vocab
                        + ",\"rms_norm_eps\":1e-5,\"tie_word_embeddings\":" + tied + ",\"torch_dtype\":\""
                        + dtype.torchName() + "\"}")
                .getBytes(StandardCharsets.UTF_8);
    }
}
