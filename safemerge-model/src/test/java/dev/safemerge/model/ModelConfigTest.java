package dev.safemerge.model;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.safemerge.tensor.BadInputException;
import dev.safemerge.tensor.DType;
import dev.safemerge.tensor.JsonMappers;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ModelConfigTest {
    private static final ObjectMapper JSON = JsonMappers.plain();

    private static ModelConfig parse(String json) throws Exception {
        return ModelConfig.fromJson(JSON.readTree(json), "config.json");
    }

    private static String minimal(String modelType, String extra) {
        return "{\"model_type\":\"" + modelType + "\",\"architectures\":[\"X\"],\"vocab_size\":100,"
                + "\"hidden_size\":64,\"intermediate_size\":128,\"num_hidden_layers\":2,\"num_attention_heads\":4"
                + extra + "}";
    }

    @Test
    void llama31ConfigIsReadWithRopeScalingAndEosList() throws Exception {
        ModelConfig config = parse("{\"architectures\":[\"LlamaForCausalLM\"],\"model_type\":\"llama\","
                + "\"vocab_size\":128256,\"hidden_size\":2048,\"intermediate_size\":8192,\"num_hidden_layers\":16,"
                + "\"num_attention_heads\":32,\"num_key_value_heads\":8,\"head_dim\":64,"
                + "\"max_position_embeddings\":131072,\"rms_norm_eps\":1e-05,\"rope_theta\":500000.0,"
                + "\"rope_scaling\":{\"factor\":32.0,\"high_freq_factor\":4.0,\"low_freq_factor\":1.0,"
                + "\"original_max_position_embeddings\":8192,\"rope_type\":\"llama3\"},"
                + "\"tie_word_embeddings\":true,\"torch_dtype\":\"bfloat16\",\"bos_token_id\":128000,"
                + "\"eos_token_id\":[128001,128008,128009],\"hidden_act\":\"silu\"}");
        assertThat(config.architecture()).isEqualTo("LlamaForCausalLM");
        assertThat(config.numKeyValueHeads()).isEqualTo(8);
        assertThat(config.headDim()).isEqualTo(64);
        assertThat(config.rmsNormEps()).isEqualTo(1e-5);
        assertThat(config.ropeTheta()).isEqualTo(500000.0);
        assertThat(config.ropeScaling())
                .isEqualTo(new ModelConfig.RopeScaling("llama3", 32.0, 1.0, 4.0, 8192, null, null, null));
        assertThat(config.tieWordEmbeddings()).isTrue();
        assertThat(config.declaredDtype()).isEqualTo(DType.BF16);
        assertThat(config.eosTokenIds()).containsExactly(128001, 128008, 128009);
        assertThat(config.bosTokenId()).isEqualTo(128000);
        assertThat(config.slidingWindow()).isNull();
    }

    @Test
    void absentKeysTakeTheDefaultsOfEachConfigClass() throws Exception {
        ModelConfig llama = parse(minimal("llama", ""));
        assertThat(llama.numKeyValueHeads()).isEqualTo(4);
        assertThat(llama.headDim()).isEqualTo(16);
        assertThat(llama.tieWordEmbeddings()).isFalse();
        assertThat(llama.hiddenAct()).isEqualTo("silu");
        assertThat(llama.rmsNormEps()).isEqualTo(1e-6);
        assertThat(llama.ropeTheta()).isEqualTo(10000.0);
        assertThat(llama.eosTokenIds()).containsExactly(2);
        assertThat(llama.ropeScaling()).isNull();

        ModelConfig mistral =
                parse(minimal("mistral", "").replace("\"num_attention_heads\":4", "\"num_attention_heads\":16"));
        assertThat(mistral.slidingWindow()).isEqualTo(4096);
        assertThat(mistral.numKeyValueHeads()).isEqualTo(8);
        ModelConfig mistralNull = parse(minimal("mistral", ",\"sliding_window\":null,\"num_key_value_heads\":null"));
        assertThat(mistralNull.slidingWindow()).isNull();
        assertThat(mistralNull.numKeyValueHeads()).isEqualTo(4);

        ModelConfig qwen = parse(minimal("qwen2", ",\"sliding_window\":32,\"use_sliding_window\":false"));
        assertThat(qwen.slidingWindow()).isNull();
        assertThat(qwen.useSlidingWindow()).isFalse();
        assertThat(qwen.maxWindowLayers()).isEqualTo(28);
        assertThat(qwen.bosTokenId()).isNull();
        ModelConfig qwenWindow = parse(minimal("qwen2", ",\"sliding_window\":32,\"use_sliding_window\":true"));
        assertThat(qwenWindow.slidingWindow()).isEqualTo(32);

        ModelConfig gemma = parse(minimal("gemma", ",\"hidden_act\":\"gelu\""));
        assertThat(gemma.headDim()).isEqualTo(256);
        assertThat(gemma.tieWordEmbeddings()).isTrue();
        assertThat(gemma.hiddenAct()).isEqualTo("gelu_pytorch_tanh");
        assertThat(gemma.bosTokenId()).isEqualTo(2);
        assertThat(gemma.eosTokenIds()).containsExactly(1);
        assertThat(gemma.padTokenId()).isZero();

        ModelConfig gemma2 = parse(minimal("gemma2", ",\"final_logit_softcapping\":null"));
        assertThat(gemma2.queryPreAttnScalar()).isEqualTo(256.0);
        assertThat(gemma2.attnLogitSoftcapping()).isEqualTo(50.0);
        assertThat(gemma2.finalLogitSoftcapping()).isNull();
        assertThat(gemma2.slidingWindow()).isEqualTo(4096);
    }

    @Test
    void legacyTypeKeyAndTransformersV5RopeParametersAreAccepted() throws Exception {
        ModelConfig legacy = parse(minimal("llama", ",\"rope_scaling\":{\"type\":\"linear\",\"factor\":2.0}"));
        assertThat(legacy.ropeScaling().type()).isEqualTo("linear");
        assertThat(legacy.ropeScaling().factor()).isEqualTo(2.0);
        ModelConfig v5 = parse(minimal(
                "qwen2",
                ",\"rope_parameters\":{\"rope_type\":\"yarn\",\"rope_theta\":1000000.0,\"factor\":4.0,"
                        + "\"original_max_position_embeddings\":32768},\"dtype\":\"float16\""));
        assertThat(v5.ropeTheta()).isEqualTo(1_000_000.0);
        assertThat(v5.ropeScaling().type()).isEqualTo("yarn");
        assertThat(v5.ropeScaling().originalMaxPositionEmbeddings()).isEqualTo(32768);
        assertThat(v5.torchDtype()).isEqualTo("float16");
        ModelConfig defaultRope =
                parse(minimal("llama", ",\"rope_parameters\":{\"rope_type\":\"default\",\"rope_theta\":5.0}"));
        assertThat(defaultRope.ropeScaling()).isNull();
        assertThat(defaultRope.ropeTheta()).isEqualTo(5.0);
        assertThat(parse(minimal("llama", ",\"eos_token_id\":7")).eosTokenIds()).isEqualTo(List.of(7));
    }

    @Test
    void badOrMissingKeysNameTheFileAndTheKey(@TempDir Path dir) throws Exception {
        assertThatThrownBy(() -> parse("{\"model_type\":\"llama\",\"vocab_size\":10}"))
                .isInstanceOf(BadInputException.class)
                .hasMessage("config.json: missing key 'hidden_size'");
        assertThatThrownBy(() -> parse(minimal("llama", ",\"num_key_value_heads\":3")))
                .isInstanceOf(BadInputException.class)
                .hasMessageContaining("num_key_value_heads");
        assertThatThrownBy(() -> parse(minimal("llama", ",\"rms_norm_eps\":\"small\"")))
                .isInstanceOf(BadInputException.class)
                .hasMessageContaining("'rms_norm_eps'");
        assertThatThrownBy(() -> parse(minimal("llama", ",\"eos_token_id\":[1,-2]")))
                .hasMessageContaining("eos_token_id");
        assertThatThrownBy(() -> parse(minimal("llama", ",\"rope_scaling\":{\"factor\":2}")))
                .hasMessageContaining("rope_type");
        assertThatThrownBy(() -> parse("{\"vocab_size\":10}")).hasMessageContaining("model_type");
        Path file = dir.resolve("config.json");
        Files.writeString(file, "{\"model_type\": ");
        assertThatThrownBy(() -> ModelConfig.read(file))
                .isInstanceOf(BadInputException.class)
                .hasMessageStartingWith(file + ": not valid JSON");
        assertThatThrownBy(() -> ModelConfig.read(dir.resolve("missing.json")))
                .isInstanceOf(BadInputException.class)
                .hasMessageContaining("missing.json");
    }

    @Test
    void generationConfigEosIdsAreReadByTheConfigReader(@TempDir Path dir) throws Exception {
        assertThat(ModelConfig.readGeneration(dir)).isEqualTo(new ModelConfig.GenerationConfig(List.of(), null));
        Path generation = dir.resolve("generation_config.json");
        Files.writeString(generation, "{\"eos_token_id\": [7, 9], \"bos_token_id\": 1}");
        assertThat(ModelConfig.readGeneration(dir)).isEqualTo(new ModelConfig.GenerationConfig(List.of(7, 9), 1));
        Files.writeString(generation, "{\"eos_token_id\": 5}");
        assertThat(ModelConfig.readGeneration(dir)).isEqualTo(new ModelConfig.GenerationConfig(List.of(5), null));
        Files.writeString(generation, "{\"do_sample\": false, \"bos_token_id\": null}");
        assertThat(ModelConfig.readGeneration(dir)).isEqualTo(new ModelConfig.GenerationConfig(List.of(), null));
    }

    @Test
    void badGenerationConfigNamesTheFileAndTheKey(@TempDir Path dir) throws Exception {
        Path generation = dir.resolve("generation_config.json");
        Files.writeString(generation, "{\"eos_token_id\": [2, -1]}");
        assertThatThrownBy(() -> ModelConfig.readGeneration(dir))
                .isInstanceOf(BadInputException.class)
                .hasMessage(
                        generation + ": key 'eos_token_id' must be a non-negative integer or a list of them, got -1");
        Files.writeString(generation, "{\"bos_token_id\": \"<s>\"}");
        assertThatThrownBy(() -> ModelConfig.readGeneration(dir))
                .isInstanceOf(BadInputException.class)
                .hasMessage(generation + ": key 'bos_token_id' must be a non-negative integer, got \"<s>\"");
        Files.writeString(generation, "[1, 2]");
        assertThatThrownBy(() -> ModelConfig.readGeneration(dir))
                .isInstanceOf(BadInputException.class)
                .hasMessage(generation + ": not a JSON object");
        Files.writeString(generation, "{\"eos_token_id\": ");
        assertThatThrownBy(() -> ModelConfig.readGeneration(dir))
                .isInstanceOf(BadInputException.class)
                .hasMessageStartingWith(generation + ": not valid JSON");
    }
}
