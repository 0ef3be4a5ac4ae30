package dev.safemerge.model;

import static org.assertj.core.api.Assertions.assertThat;

import dev.safemerge.model.generate.GenerationResult;
import dev.safemerge.model.generate.Sampling;
import dev.safemerge.model.generate.TokenCallback;
import dev.safemerge.tensor.Progress;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Logits and greedy continuations against transformers itself (tools/goldens/transformers_goldens.py): the
 * checkpoints are exactly what {@code from_config} + {@code save_pretrained} wrote (v5 config.json with
 * {@code rope_parameters} and {@code dtype}, generation_config.json, sharded index, bf16 weights), and the expected
 * values are transformers' float32 eager forward and {@code generate} on them.
 *
 * <p>Tolerance: both sides compute in float32 from identical weight values (bf16 decodes exactly), so they differ
 * only in the order of float32 operations. Each dot product of length n ≤ 64 has relative error at most γ_n ≈ n·2⁻²⁴
 * ≈ 4e-6 of Σ|x·y|; through two layers (about ten such steps, softmax and norms are well conditioned at these
 * scales) that stays below 1e-4 of max(1, |logit|), the bound asserted. A semantic slip (a wrong window, rope
 * factor or softcap) moves logits by 1e-3 or more. Greedy continuations must be identical: the script refuses
 * goldens whose top-2 logit gap is below 1e-4 at any step.
 */
class TransformersGoldenTest {
    static final Path GOLDENS = Path.of("src/test/resources/goldens/transformers");

    static Stream<String> cases() {
        return Stream.of(
                "llama2_f32",
                "llama3_bf16_rope_llama3_tied_sharded",
                "mistral_f32_window",
                "qwen2_bf16_tied",
                "qwen2_f32",
                "gemma_f32",
                "gemma2_f32_softcap_window",
                "gemma2_bf16_softcap_window");
    }

    static ReferenceForwardTest.Expected expected(String name) {
        return ReferenceForwardTest.expected(GOLDENS.resolve("expected").resolve(name + ".safetensors"));
    }

    @ParameterizedTest
    @MethodSource("cases")
    void logitsOfEveryPositionMatchTransformers(String name) {
        ReferenceForwardTest.Expected expected = expected(name);
        try (Model model = Model.load(GOLDENS.resolve("models").resolve(name), ModelLoadOptions.defaults())) {
            ReferenceForwardTest.assertLogits(model.forward(expected.ids()), expected.logits(), 1e-4, name);
        }
    }

    @ParameterizedTest
    @MethodSource("cases")
    void greedyContinuationsMatchTransformersGenerate(String name) {
        ReferenceForwardTest.Expected expected = expected(name);
        Sampling greedy = Sampling.greedy(expected.greedy().getFirst().length).withIgnoreEos(true);
        try (Model model = Model.load(GOLDENS.resolve("models").resolve(name), ModelLoadOptions.defaults())) {
            List<GenerationResult> results =
                    model.generator(2).generate(expected.prompts(), greedy, TokenCallback.NONE, Progress.NONE);
            for (int n = 0; n < results.size(); n++) {
                assertThat(results.get(n).tokenIds())
                        .as("%s prompt %d", name, n)
                        .containsExactly(expected.greedy().get(n));
            }
        }
    }
}
