package dev.safemerge.merge;

import static org.assertj.core.api.Assertions.assertThat;

import dev.safemerge.merge.kernel.Precision;
import dev.safemerge.tensor.DType;
import dev.safemerge.tensor.LoraAdapter;
import dev.safemerge.tensor.LoraAdapterWriter;
import dev.safemerge.tensor.LoraConfig;
import dev.safemerge.tensor.LoraWeights;
import dev.safemerge.tensor.ModelDirectory;
import dev.safemerge.tensor.TensorSource;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Base + LoRA references: the fast path against hand-computed W + c·scale·B·A, the emitted adapter, the generic path. */
class LoraMergeTest {
    static final int LAYERS = 2;

    @TempDir
    Path dir;

    final Map<String, TinyModels.Tensor> base = new LinkedHashMap<>();
    final Map<String, LoraWeights> lora = new LinkedHashMap<>();

    @BeforeEach
    void writeBaseAndAdapter() {
        SplittableRandom random = new SplittableRandom(3);
        base.put("model.embed_tokens.weight", tensor(random, 16, 8));
        for (int layer = 0; layer < LAYERS; layer++) {
            base.put("model.layers." + layer + ".self_attn.q_proj.weight", tensor(random, 8, 8));
            base.put("model.layers." + layer + ".mlp.down_proj.weight", tensor(random, 8, 16));
            base.put("model.layers." + layer + ".input_layernorm.weight", tensor(random, 8));
        }
        base.put("model.norm.weight", tensor(random, 8));
        base.put("lm_head.weight", tensor(random, 16, 8));
        TinyModels.write(dir.resolve("base"), base, DType.BF16, 600, LAYERS, 16);
        for (int layer = 0; layer < LAYERS; layer++) {
            float[] a = new float[2 * 8];
            float[] b = new float[8 * 2];
            for (int i = 0; i < a.length; i++) {
                a[i] = (float) random.nextGaussian() * 0.1f;
                b[i] = (float) random.nextGaussian() * 0.1f;
            }
            lora.put("model.layers." + layer + ".self_attn.q_proj.weight", new LoraWeights(a, b, 2, 8, 8, 2f, false));
        }
        LoraAdapterWriter.write(dir.resolve("lora"), LoraConfig.of(2, 4, List.of("q_proj"), "base"), lora, Map.of());
    }

    static TinyModels.Tensor tensor(SplittableRandom random, long... shape) {
        float[] values = new float[(int) dev.safemerge.tensor.TensorInfo.elementCount(shape)];
        for (int i = 0; i < values.length; i++) {
            values[i] = Precision.BF16.round((float) random.nextGaussian() * 0.5f);
        }
        return new TinyModels.Tensor(shape, values);
    }

    /** W + c·scale·B·A in double, the hand-derivable expectation. */
    float[] expected(String name, double c) {
        float[] w = base.get(name).values();
        LoraWeights f = lora.get(name);
        float[] out = new float[w.length];
        for (int o = 0; o < 8; o++) {
            for (int i = 0; i < 8; i++) {
                double delta = 0;
                for (int k = 0; k < 2; k++) {
                    delta += (double) f.b()[o * 2 + k] * f.a()[k * 8 + i];
                }
                out[o * 8 + i] = (float) (w[o * 8 + i] + c * f.scale() * delta);
            }
        }
        return out;
    }

    Merger.Summary merge(String yaml, Path out, boolean emitAdapter) throws IOException {
        Path config = dir.resolve("merge.yml");
        Files.writeString(config, yaml);
        return Merger.run(
                config,
                Merger.Options.into(out)
                        .maxShardBytes(1000)
                        .threads(2)
                        .emitAdapter(emitAdapter)
                        .build());
    }

    static final String LINEAR = """
            merge_method: linear
            models:
              - model: base
                parameters: {weight: 0.7}
              - model: base+lora
                parameters: {weight: 0.3}
            """;

    @Test
    void fastPathComputesBasePlusScaledDeltaAndLeavesOtherTensorsExact() throws IOException {
        Path out = dir.resolve("merged");
        merge(LINEAR, out, false);
        try (ModelDirectory merged = ModelDirectory.open(out)) {
            for (String name : base.keySet()) {
                float[] actual = merged.readFloats(name);
                float[] want = lora.containsKey(name)
                        ? expected(name, 0.3)
                        : base.get(name).values();
                for (int i = 0; i < want.length; i++) {
                    assertThat(actual[i]).as(name + "[" + i + "]").isEqualTo(Precision.BF16.round(want[i]));
                }
            }
        }
    }

    @Test
    void emittedAdapterAppliedToTheBaseGivesTheMergedWeights() throws IOException {
        Path out = dir.resolve("adapter");
        merge(LINEAR, out, true);
        try (LoraAdapter adapter = LoraAdapter.open(out);
                ModelDirectory baseModel = ModelDirectory.open(dir.resolve("base"))) {
            assertThat(adapter.targetedBaseTensors()).containsExactlyElementsOf(lora.keySet());
            TensorSource applied = adapter.applied(baseModel);
            for (String name : lora.keySet()) {
                float[] actual = applied.readFloats(name);
                float[] want = expected(name, 0.3);
                for (int i = 0; i < want.length; i++) {
                    assertThat(actual[i])
                            .as(name + "[" + i + "]")
                            .isCloseTo(want[i], org.assertj.core.data.Offset.offset(1e-6f));
                }
            }
        }
    }

    @Test
    void otherMethodsReadTheAdapterAppliedOnTheFly() throws IOException {
        Path out = dir.resolve("ties");
        merge("""
                merge_method: ties
                base_model: base
                dtype: float32
                models:
                  - model: base+lora
                    parameters: {weight: 0.5}
                """, out, false);
        try (ModelDirectory merged = ModelDirectory.open(out)) {
            for (String name : lora.keySet()) {
                float[] actual = merged.readFloats(name);
                float[] want = expected(name, 1.0);
                for (int i = 0; i < want.length; i++) {
                    // TIES with one model and normalisation: base + (w·Δ)/w = the adapted weight.
                    assertThat(actual[i])
                            .as(name + "[" + i + "]")
                            .isCloseTo(want[i], org.assertj.core.data.Offset.offset(1e-6f));
                }
            }
        }
    }

    @Test
    void emitAdapterRefusesMergesThatAreNotALoraScaling() throws IOException {
        Path out = dir.resolve("bad");
        String yaml = LINEAR.replace("0.7", "0.5") + "parameters: {normalize: false}\n";
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> merge(yaml, out, true))
                .isInstanceOf(dev.safemerge.tensor.BadInputException.class)
                .hasMessageContaining("cannot express");
        assertThat(out).doesNotExist();
    }
}
