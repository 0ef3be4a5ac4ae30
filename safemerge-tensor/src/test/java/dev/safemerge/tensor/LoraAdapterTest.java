package dev.safemerge.tensor;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** LoRA merges checked against W + scale·B·A computed independently by numpy (src/test/python/make_fixtures.py). */
class LoraAdapterTest {
    @TempDir
    Path dir;

    private static void assertClose(TensorSource actual, SafetensorsFile expected) {
        for (String name : expected.tensorNames()) {
            float[] want = expected.readFloats(name);
            float[] got = actual.readFloats(name);
            assertThat(got).as(name).hasSameSizeAs(want);
            for (int i = 0; i < want.length; i++) {
                assertThat(got[i])
                        .as("%s[%d]", name, i)
                        .isCloseTo(
                                want[i], org.assertj.core.data.Offset.offset(2e-6f * Math.max(1f, Math.abs(want[i]))));
            }
            // Reading in ranges that straddle rows gives the same values.
            float[] ranged = new float[want.length];
            for (int from = 0; from < want.length; from += 5) {
                int count = Math.min(5, want.length - from);
                actual.readFloats(name, from, ranged, from, count);
            }
            assertThat(ranged).as(name + " in ranges").containsExactly(got);
        }
    }

    @Test
    void rsLoraWithPatternsAndModulesToSaveMatchesNumpy() {
        try (ModelDirectory base = ModelDirectory.open(Fixtures.path("peft/base"));
                LoraAdapter adapter = LoraAdapter.open(Fixtures.path("peft/adapter_rslora"));
                SafetensorsFile expected = SafetensorsFile.open(Fixtures.path("peft/expected_rslora.safetensors"))) {
            LoraConfig config = adapter.config();
            assertThat(config.useRslora()).isTrue();
            assertThat(config.rank("model.layers.1.self_attn.q_proj")).isEqualTo(2);
            assertThat(config.rank("model.layers.0.self_attn.q_proj")).isEqualTo(4);
            assertThat(config.rank("model.layers.0.mlp.down_proj")).isEqualTo(3);
            assertThat(config.scaling("model.layers.0.self_attn.v_proj")).isEqualTo(16 / 2.0);
            assertThat(config.scaling("model.layers.1.self_attn.q_proj")).isEqualTo(8 / Math.sqrt(2));
            assertThat(adapter.targetedBaseTensors())
                    .containsExactly(
                            "model.layers.0.mlp.down_proj.weight",
                            "model.layers.0.self_attn.q_proj.weight",
                            "model.layers.0.self_attn.v_proj.weight",
                            "model.layers.1.mlp.down_proj.weight",
                            "model.layers.1.self_attn.q_proj.weight",
                            "model.layers.1.self_attn.v_proj.weight");
            assertThat(adapter.replacedBaseTensors()).containsExactly("lm_head.weight");
            TensorSource merged = adapter.applied(base);
            assertThat(merged.info("lm_head.weight").dtype()).isEqualTo(DType.BF16);
            assertClose(merged, expected);
            float[] delta = adapter.delta("model.layers.0.self_attn.q_proj.weight");
            float[] w = base.readFloats("model.layers.0.self_attn.q_proj.weight");
            float[] want = expected.readFloats("model.layers.0.self_attn.q_proj.weight");
            for (int i = 0; i < w.length; i++) {
                assertThat(w[i] + delta[i]).isCloseTo(want[i], org.assertj.core.data.Offset.offset(1e-5f));
            }
        }
    }

    @Test
    void fanInFanOutRegexTargetsAndAdapterNameKeysMatchNumpy() {
        try (SafetensorsFile base = SafetensorsFile.open(Fixtures.path("peft/conv1d_base.safetensors"));
                LoraAdapter adapter = LoraAdapter.open(Fixtures.path("peft/adapter_fan_in_fan_out"));
                SafetensorsFile expected =
                        SafetensorsFile.open(Fixtures.path("peft/expected_fan_in_fan_out.safetensors"))) {
            assertThat(adapter.config().targetModulesRegex()).isEqualTo(".*\\.(c_attn|c_fc)");
            assertThat(adapter.weights("transformer.h.0.attn.c_attn.weight").fanInFanOut())
                    .isTrue();
            assertClose(adapter.applied(base), expected);
        }
    }

    @Test
    void mergedModelWrittenInTheBaseDtypeRoundsTheFloat32Sum() {
        Path out = dir.resolve("merged");
        try (ModelDirectory base = ModelDirectory.open(Fixtures.path("peft/base"));
                LoraAdapter adapter = LoraAdapter.open(Fixtures.path("peft/adapter_rslora"))) {
            TensorSource merged = adapter.applied(base);
            List<TensorSpec> specs = merged.tensorNames().stream()
                    .map(n -> new TensorSpec(
                            n, merged.info(n).dtype(), merged.info(n).shape()))
                    .toList();
            try (ModelWriter writer = ModelWriter.create(out, specs, 1L << 30, Map.of())) {
                for (String name : merged.tensorNames()) {
                    writer.writeBytes(name, 0, merged.bytes(name));
                }
                writer.commit();
            }
            try (SafetensorsFile written = SafetensorsFile.open(out.resolve(ModelDirectory.SINGLE_FILE))) {
                for (String name : merged.tensorNames()) {
                    DType dtype = merged.info(name).dtype();
                    float[] exact = merged.readFloats(name);
                    float[] stored = written.readFloats(name);
                    for (int i = 0; i < exact.length; i++) {
                        assertThat(stored[i]).isEqualTo(FloatCodec.roundTo(dtype, exact[i]));
                    }
                }
            }
        }
    }

    @Test
    void writerOutputReopensWithTheSameWeightsAndConfig() throws Exception {
        Path out = dir.resolve("adapter");
        LoraConfig config = new LoraConfig(
                4,
                8,
                List.of("down_proj", "q_proj", "v_proj"),
                null,
                true,
                Map.of("layers.1.self_attn.q_proj", 2, "down_proj", 3),
                Map.of("v_proj", 16.0),
                false,
                List.of(),
                "tiny-llama",
                0.05,
                "none",
                "CAUSAL_LM");
        Map<String, LoraWeights> weights = new LinkedHashMap<>();
        try (LoraAdapter source = LoraAdapter.open(Fixtures.path("peft/adapter_rslora"))) {
            for (String name : source.targetedBaseTensors()) {
                weights.put(name, source.weights(name));
            }
        }
        LoraAdapterWriter.write(out, config, weights, Map.of());
        try (Stream<Path> files = Files.list(out)) {
            assertThat(files.map(p -> p.getFileName().toString()))
                    .containsExactlyInAnyOrder(LoraConfig.FILE_NAME, LoraAdapter.WEIGHTS_FILE);
        }
        String json = Files.readString(out.resolve(LoraConfig.FILE_NAME));
        assertThat(json)
                .contains(
                        "\"peft_type\" : \"LORA\"",
                        "\"use_rslora\" : true",
                        "\"lora_alpha\" : 8",
                        "\"inference_mode\" : true",
                        "\"task_type\" : \"CAUSAL_LM\"");
        try (LoraAdapter reopened = LoraAdapter.open(out)) {
            assertThat(reopened.config()).isEqualTo(config);
            assertThat(reopened.targetedBaseTensors()).isEqualTo(weights.keySet());
            for (Map.Entry<String, LoraWeights> entry : weights.entrySet()) {
                LoraWeights back = reopened.weights(entry.getKey());
                assertThat(back.a()).containsExactly(entry.getValue().a());
                assertThat(back.b()).containsExactly(entry.getValue().b());
                assertThat(back.scale()).isEqualTo(entry.getValue().scale());
            }
            assertThat(reopened.file()
                            .info("base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight")
                            .shape())
                    .containsExactly(4, 8);
        }
    }

    @Test
    void mismatchesWithTheBaseAndUnsupportedVariantsNameTheProblem() throws Exception {
        try (SafetensorsFile wrongBase = SafetensorsFile.open(Fixtures.path("peft/conv1d_base.safetensors"));
                LoraAdapter adapter = LoraAdapter.open(Fixtures.path("peft/adapter_rslora"))) {
            assertThatThrownBy(() -> adapter.applied(wrongBase))
                    .isInstanceOf(BadInputException.class)
                    .hasMessageContaining("model.layers.0.mlp.down_proj.weight");
        }
        try (ModelDirectory base = ModelDirectory.open(Fixtures.path("peft/base"));
                LoraAdapter adapter = LoraAdapter.open(Fixtures.path("peft/adapter_fan_in_fan_out"))) {
            assertThatThrownBy(() -> adapter.applied(base))
                    .isInstanceOf(BadInputException.class)
                    .hasMessageContaining("transformer.h.0.attn.c_attn.weight");
        }
        Path dora = dir.resolve("dora");
        Files.createDirectories(dora);
        Files.writeString(
                dora.resolve(LoraConfig.FILE_NAME),
                "{\"peft_type\":\"LORA\",\"r\":4,\"lora_alpha\":8,\"target_modules\":[\"q_proj\"],\"use_dora\":true}");
        assertThatThrownBy(() -> LoraAdapter.open(dora))
                .isInstanceOf(BadInputException.class)
                .hasMessageContaining("use_dora");
        Path rankMismatch = dir.resolve("rank");
        Files.createDirectories(rankMismatch);
        Files.copy(
                Fixtures.path("peft/adapter_rslora/adapter_model.safetensors"),
                rankMismatch.resolve(LoraAdapter.WEIGHTS_FILE));
        Files.writeString(
                rankMismatch.resolve(LoraConfig.FILE_NAME),
                Files.readString(Fixtures.path("peft/adapter_rslora/adapter_config.json"))
                        .replace("\"down_proj\": 3", "\"down_proj\": 5"));
        assertThatThrownBy(() -> LoraAdapter.open(rankMismatch))
                .isInstanceOf(BadInputException.class)
                .hasMessageContaining("down_proj")
                .hasMessageContaining("rank");
        Path pickled = dir.resolve("pickled");
        Files.createDirectories(pickled);
        Files.copy(Fixtures.path("peft/adapter_rslora/adapter_config.json"), pickled.resolve(LoraConfig.FILE_NAME));
        Files.write(pickled.resolve("adapter_model.bin"), new byte[] {(byte) 0x80});
        assertThatThrownBy(() -> LoraAdapter.open(pickled))
                .isInstanceOf(BadInputException.class)
                .hasMessageContaining("pickle");
    }
}
