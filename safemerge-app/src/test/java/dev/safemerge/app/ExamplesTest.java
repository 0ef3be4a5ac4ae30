package dev.safemerge.app;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import dev.safemerge.tensor.LoraAdapterWriter;
import dev.safemerge.tensor.LoraConfig;
import dev.safemerge.tensor.LoraWeights;
import dev.safemerge.tensor.ModelDirectory;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Every mergekit config in the repository's examples/ merges through the command line, next to the model names the
 * configs expect: the shipped demo model as {@code base} and three seeded random LoRA adapters as
 * {@code adapter-seed1..3}.
 */
class ExamplesTest {
    static final Path EXAMPLES = Path.of("../examples");
    static final List<Long> SEEDS = List.of(1L, 2L, 3L);
    static final String TARGET = "model.layers.0.self_attn.q_proj.weight";
    static final String UNTOUCHED = "model.norm.weight";

    @TempDir
    Path dir;

    @Test
    void everyExampleConfigMerges() throws IOException {
        List<Path> configs = exampleConfigs();
        assertThat(configs)
                .extracting(config -> config.getFileName().toString())
                .contains("linear-0.5.yml", "slerp.yml", "ties.yml", "dare_linear.yml", "model_stock.yml");
        Path base = DemoBaseModel.copyShipped(dir.resolve("base"));
        List<String> baseTensors;
        float[] baseTarget;
        float[] baseNorm;
        long[] targetShape;
        try (ModelDirectory model = ModelDirectory.open(base)) {
            baseTensors = model.tensorNames().stream().sorted().toList();
            baseTarget = model.readFloats(TARGET);
            baseNorm = model.readFloats(UNTOUCHED);
            targetShape = model.info(TARGET).shape();
        }
        LoraWeights seed1 = null;
        for (long seed : SEEDS) {
            LoraWeights weights = writeRandomAdapter(
                    dir.resolve("adapter-seed" + seed), seed, (int) targetShape[1], (int) targetShape[0]);
            seed1 = seed == 1 ? weights : seed1;
        }
        for (Path example : configs) {
            assertThat(Files.readAllLines(example).getFirst())
                    .as(example + " opens with a comment saying what it does")
                    .startsWith("# ");
            Path config = Files.copy(example, dir.resolve(example.getFileName()));
            Path out = dir.resolve("merged-" + example.getFileName());
            MainTest.Result result = MainTest.run("merge", config.toString(), "--out", out.toString(), "--quiet");
            assertThat(result.code()).as(example + ": " + result.err()).isZero();
            try (ModelDirectory merged = ModelDirectory.open(out)) {
                assertThat(merged.tensorNames().stream().sorted().toList())
                        .as(example.toString())
                        .isEqualTo(baseTensors);
                String name = example.getFileName().toString();
                if (name.startsWith("linear-")) {
                    double lambda = Double.parseDouble(name.substring("linear-".length(), name.length() - 4));
                    assertLinearMerge(merged, lambda, baseTarget, baseNorm, seed1);
                }
            }
            assertThat(out.resolve("tokenizer.json")).as(example.toString()).exists();
        }
    }

    /**
     * θ = (1 − λ)·θ_base + λ·(θ_base + s·B·A) = θ_base + λ·s·B·A for the adapted tensor and θ_base elsewhere; in
     * float32 each element carries a few ulps of rounding, far below 1e-5 at these magnitudes (|θ| < 4).
     */
    private static void assertLinearMerge(
            ModelDirectory merged, double lambda, float[] baseTarget, float[] baseNorm, LoraWeights lora) {
        float[] target = merged.readFloats(TARGET);
        for (int o = 0; o < lora.out(); o++) {
            for (int i = 0; i < lora.in(); i++) {
                double delta = 0;
                for (int r = 0; r < lora.rank(); r++) {
                    delta += lora.b()[o * lora.rank() + r] * lora.a()[r * lora.in() + i];
                }
                int at = o * lora.in() + i;
                assertThat((double) target[at])
                        .as("λ=%s %s[%d]", lambda, TARGET, at)
                        .isCloseTo(baseTarget[at] + lambda * lora.scale() * delta, within(1e-5));
            }
        }
        float[] norm = merged.readFloats(UNTOUCHED);
        for (int i = 0; i < norm.length; i++) {
            assertThat(norm[i]).as("λ=%s %s[%d]", lambda, UNTOUCHED, i).isCloseTo(baseNorm[i], within(1e-5f));
        }
    }

    /** A rank-4 adapter on layer 0's query projection with factors drawn from {@code seed}. */
    private static LoraWeights writeRandomAdapter(Path dir, long seed, int in, int out) {
        int rank = 4;
        SplittableRandom random = new SplittableRandom(seed);
        float[] a = new float[rank * in];
        float[] b = new float[out * rank];
        for (int i = 0; i < a.length; i++) {
            a[i] = (float) random.nextGaussian() * 0.05f;
        }
        for (int i = 0; i < b.length; i++) {
            b[i] = (float) random.nextGaussian() * 0.05f;
        }
        LoraConfig config = LoraConfig.of(rank, 8, List.of("q_proj"), "base");
        LoraWeights weights = new LoraWeights(a, b, rank, in, out, 2f, false);
        LoraAdapterWriter.write(dir, config, Map.of(TARGET, weights), Map.of());
        return weights;
    }

    static List<Path> exampleConfigs() throws IOException {
        try (Stream<Path> files = Files.list(EXAMPLES)) {
            return files.filter(file -> file.toString().endsWith(".yml"))
                    .sorted()
                    .toList();
        }
    }
}
