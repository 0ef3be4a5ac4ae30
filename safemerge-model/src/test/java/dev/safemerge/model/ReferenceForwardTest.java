package dev.safemerge.model;

import static org.assertj.core.api.Assertions.assertThat;

import dev.safemerge.model.generate.GenerationResult;
import dev.safemerge.model.generate.Sampling;
import dev.safemerge.model.generate.TokenCallback;
import dev.safemerge.tensor.Progress;
import dev.safemerge.tensor.SafetensorsFile;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Logits and greedy continuations against src/test/python/reference_forward.py, an independent numpy float32
 * implementation of the HF forward pass, on tiny random checkpoints of every architecture.
 *
 * <p>Tolerance: both sides compute in float32 from identical weight values (BF16/F16 weights are decoded exactly),
 * so they differ only by the order of float32 additions: about 1e-6 of the logit scale. We require |Δ| ≤ 1e-4 ·
 * max(1, |expected|), 100 times that, which still catches any semantic slip (the smallest ones measured in the
 * reference notes, e.g. exact vs tanh GELU, move logits by ~2e-3).
 */
public class ReferenceForwardTest {
    static final Path REFERENCE = Path.of("src/test/resources/reference");

    public record Expected(int[] ids, float[] logits, float[] logitsMerged, List<int[]> prompts, List<int[]> greedy) {}

    static Expected expected(String name) {
        return expected(REFERENCE.resolve("expected").resolve(name + ".safetensors"));
    }

    public static Expected expected(Path path) {
        try (SafetensorsFile file = SafetensorsFile.open(path)) {
            List<int[]> prompts = new ArrayList<>();
            List<int[]> greedy = new ArrayList<>();
            for (int n = 0; file.contains("greedy_prompt_" + n); n++) {
                prompts.add(ints(file.readFloats("greedy_prompt_" + n)));
                greedy.add(ints(file.readFloats("greedy_ids_" + n)));
            }
            return new Expected(
                    ints(file.readFloats("ids")),
                    file.readFloats("logits"),
                    file.contains("logits_merged") ? file.readFloats("logits_merged") : null,
                    prompts,
                    greedy);
        }
    }

    public static int[] ints(float[] values) {
        int[] ids = new int[values.length];
        for (int i = 0; i < ids.length; i++) {
            ids[i] = (int) values[i];
        }
        return ids;
    }

    public static void assertLogits(float[][] actual, float[] expected, double tolerance, String what) {
        int vocab = actual[0].length;
        assertThat(actual.length * vocab).as(what + " size").isEqualTo(expected.length);
        double worst = 0;
        for (int t = 0; t < actual.length; t++) {
            for (int v = 0; v < vocab; v++) {
                float e = expected[t * vocab + v];
                double error = Math.abs(actual[t][v] - e) / Math.max(1, Math.abs(e));
                worst = Math.max(worst, error);
            }
        }
        System.out.printf("%s: worst scaled logit error %.3g%n", what, worst);
        assertThat(worst).as(what + ": worst scaled logit error").isLessThanOrEqualTo(tolerance);
    }

    static final String[] CASES = {
        "llama_f32_gqa",
        "llama31_bf16_tied_sharded",
        "llama_linear_f16_bias",
        "llama_dynamic_f32",
        "qwen2_yarn_bf16_window",
        "mistral_f32_window_mqa",
        "gemma_bf16",
        "gemma2_bf16_softcap_window",
        "qwen2_f32_window",
        "mistral_bf16_window",
        "gemma_f32",
        "gemma2_f32_softcap_window"
    };

    static Stream<String> cases() {
        return Stream.of(CASES);
    }

    @ParameterizedTest
    @MethodSource("cases")
    void logitsOfEveryPositionMatchTheReference(String name) {
        Expected expected = expected(name);
        try (Model model = Model.load(REFERENCE.resolve("models").resolve(name), ModelLoadOptions.defaults())) {
            assertLogits(model.forward(expected.ids()), expected.logits(), 1e-4, name);
        }
    }

    @ParameterizedTest
    @MethodSource("cases")
    void greedyContinuationsMatchTheReferenceAtEveryBatchSize(String name) {
        Expected expected = expected(name);
        Sampling greedy = Sampling.greedy(expected.greedy().getFirst().length).withIgnoreEos(true);
        try (Model model = Model.load(
                REFERENCE.resolve("models").resolve(name),
                ModelLoadOptions.defaults().withWeightsInMemory(false))) {
            for (int maxBatch : new int[] {1, 2, 3}) {
                List<GenerationResult> results = model.generator(maxBatch)
                        .generate(expected.prompts(), greedy, TokenCallback.NONE, Progress.NONE);
                for (int n = 0; n < results.size(); n++) {
                    assertThat(results.get(n).tokenIds())
                            .as("%s prompt %d batch %d", name, n, maxBatch)
                            .containsExactly(expected.greedy().get(n));
                    assertThat(results.get(n).finishReason()).isEqualTo(GenerationResult.LENGTH);
                    assertThat(results.get(n).promptTokens())
                            .isEqualTo(expected.prompts().get(n).length);
                }
            }
        }
    }
}
