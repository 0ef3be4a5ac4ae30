package dev.safemerge.app;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.safemerge.tensor.DType;
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

/**
 * A random tiny Llama with a word-level tokenizer and a chat template, written to a directory as an HF model:
 * enough for the command line to train and run it.
 */
final class TinyChatModel {
    private TinyChatModel() {}

    static final List<String> WORDS = List.of(
            "<unk>",
            "<s>",
            "</s>",
            "<|user|>",
            "<|assistant|>",
            "<|end|>",
            "what",
            "color",
            "is",
            "the",
            "sky",
            "grass",
            "snow",
            "coal",
            "sun",
            "blood",
            "sea",
            "leaf",
            "blue",
            "green",
            "white",
            "black",
            "yellow",
            "red",
            "of",
            "a",
            "and",
            "it",
            "yes",
            "no");
    static final String TEMPLATE = "{% for m in messages %}<|{{ m['role'] }}|> {{ m['content'] }} <|end|> {% endfor %}"
            + "{% if add_generation_prompt %}<|assistant|> {% endif %}";

    static int id(String word) {
        return WORDS.indexOf(word);
    }

    static Path write(Path dir, long seed) throws IOException {
        Files.createDirectories(dir);
        ObjectMapper json = JsonMappers.plain();
        int vocab = 32;
        int hidden = 32;
        int intermediate = 64;
        int layers = 2;
        ObjectNode config = json.createObjectNode();
        config.putArray("architectures").add("LlamaForCausalLM");
        config.put("model_type", "llama");
        config.put("vocab_size", vocab);
        config.put("hidden_size", hidden);
        config.put("intermediate_size", intermediate);
        config.put("num_hidden_layers", layers);
        config.put("num_attention_heads", 4);
        config.put("num_key_value_heads", 2);
        config.put("rms_norm_eps", 1e-5);
        config.put("max_position_embeddings", 128);
        config.put("tie_word_embeddings", false);
        config.put("torch_dtype", "bfloat16");
        config.put("bos_token_id", 1);
        config.put("eos_token_id", 5);
        Files.writeString(dir.resolve("config.json"), config.toPrettyString());

        ObjectNode tokenizer = json.createObjectNode();
        tokenizer.put("version", "1.0");
        ArrayNode added = tokenizer.putArray("added_tokens");
        for (int i = 0; i < 6; i++) {
            added.addObject()
                    .put("id", i)
                    .put("content", WORDS.get(i))
                    .put("single_word", false)
                    .put("lstrip", false)
                    .put("rstrip", false)
                    .put("normalized", false)
                    .put("special", true);
        }
        tokenizer.putObject("pre_tokenizer").put("type", "Whitespace");
        ObjectNode post = tokenizer.putObject("post_processor");
        post.put("type", "TemplateProcessing");
        post.putArray("single")
                .add(json.createObjectNode()
                        .set(
                                "SpecialToken",
                                json.createObjectNode().put("id", "<s>").put("type_id", 0)))
                .add(json.createObjectNode()
                        .set("Sequence", json.createObjectNode().put("id", "A").put("type_id", 0)));
        post.putArray("pair")
                .add(json.createObjectNode()
                        .set("Sequence", json.createObjectNode().put("id", "A").put("type_id", 0)))
                .add(json.createObjectNode()
                        .set("Sequence", json.createObjectNode().put("id", "B").put("type_id", 1)));
        ObjectNode bos = post.putObject("special_tokens").putObject("<s>");
        bos.put("id", "<s>");
        bos.putArray("ids").add(1);
        bos.putArray("tokens").add("<s>");
        ObjectNode model = tokenizer.putObject("model");
        model.put("type", "WordLevel");
        ObjectNode vocabulary = model.putObject("vocab");
        for (int i = 0; i < WORDS.size(); i++) {
            vocabulary.put(WORDS.get(i), i);
        }
        model.put("unk_token", "<unk>");
        Files.writeString(dir.resolve("tokenizer.json"), tokenizer.toPrettyString());
        ObjectNode tokenizerConfig = json.createObjectNode();
        tokenizerConfig.put("bos_token", "<s>");
        tokenizerConfig.put("eos_token", "<|end|>");
        tokenizerConfig.put("chat_template", TEMPLATE);
        Files.writeString(dir.resolve("tokenizer_config.json"), tokenizerConfig.toPrettyString());

        SplittableRandom random = new SplittableRandom(seed);
        Map<String, long[]> shapes = new LinkedHashMap<>();
        shapes.put("model.embed_tokens.weight", new long[] {vocab, hidden});
        for (int l = 0; l < layers; l++) {
            String p = "model.layers." + l + ".";
            shapes.put(p + "input_layernorm.weight", new long[] {hidden});
            shapes.put(p + "post_attention_layernorm.weight", new long[] {hidden});
            shapes.put(p + "self_attn.q_proj.weight", new long[] {hidden, hidden});
            shapes.put(p + "self_attn.k_proj.weight", new long[] {hidden / 2, hidden});
            shapes.put(p + "self_attn.v_proj.weight", new long[] {hidden / 2, hidden});
            shapes.put(p + "self_attn.o_proj.weight", new long[] {hidden, hidden});
            shapes.put(p + "mlp.gate_proj.weight", new long[] {intermediate, hidden});
            shapes.put(p + "mlp.up_proj.weight", new long[] {intermediate, hidden});
            shapes.put(p + "mlp.down_proj.weight", new long[] {hidden, intermediate});
        }
        shapes.put("model.norm.weight", new long[] {hidden});
        shapes.put("lm_head.weight", new long[] {vocab, hidden});
        List<TensorSpec> specs = new ArrayList<>();
        shapes.forEach((name, shape) -> specs.add(new TensorSpec(name, DType.BF16, shape)));
        try (SafetensorsWriter writer =
                SafetensorsWriter.create(dir.resolve("model.safetensors"), specs, Map.of("format", "pt"))) {
            shapes.forEach((name, shape) -> {
                int count = (int) (shape.length == 1 ? shape[0] : shape[0] * shape[1]);
                float[] values = new float[count];
                for (int i = 0; i < count; i++) {
                    values[i] = shape.length == 1 ? 1f : (float) (random.nextGaussian() / Math.sqrt(shape[1]));
                }
                writer.writeFloats(name, values);
            });
            writer.finish();
        }
        return dir;
    }

    /** Chat examples: "what color is the X" answered with its color. */
    static Path colorData(Path file) throws IOException {
        String[][] pairs = {
            {"sky", "blue"}, {"grass", "green"}, {"snow", "white"}, {"coal", "black"},
            {"sun", "yellow"}, {"blood", "red"}, {"sea", "blue"}, {"leaf", "green"}
        };
        StringBuilder lines = new StringBuilder();
        for (String[] pair : pairs) {
            lines.append("{\"messages\": [{\"role\": \"user\", \"content\": \"what color is the ")
                    .append(pair[0])
                    .append("\"}, {\"role\": \"assistant\", \"content\": \"")
                    .append(pair[1])
                    .append("\"}]}\n");
        }
        Files.writeString(file, lines.toString());
        return file;
    }
}
