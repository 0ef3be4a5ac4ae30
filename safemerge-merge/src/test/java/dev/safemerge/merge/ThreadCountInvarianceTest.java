package dev.safemerge.merge;

import static org.assertj.core.api.Assertions.assertThat;

import dev.safemerge.tensor.DType;
import dev.safemerge.tensor.LoraAdapterWriter;
import dev.safemerge.tensor.LoraConfig;
import dev.safemerge.tensor.LoraWeights;
import dev.safemerge.tensor.ModelDirectory;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The reproducibility guarantee of a seeded merge: its output is a function of the config, the inputs and the seed
 * only, bit for bit, whatever the thread count. Covered for every method that draws random masks (DARE and DELLA
 * pruning), on each path a tensor can take: stored BF16 fused kernels, float blocks at float32, a single fine-tune,
 * and a fine-tune given as base+LoRA adapter.
 */
class ThreadCountInvarianceTest {
    /** The methods whose pruning draws from {@link MaskSource}. */
    static final List<String> RANDOMIZED = List.of("dare_linear", "dare_ties", "della", "della_linear");

    static final List<Integer> THREADS = List.of(1, 2, 3, 4);

    @TempDir
    Path dir;

    @BeforeEach
    void writeModels() {
        SplittableRandom random = new SplittableRandom(17);
        for (String name : List.of("base", "ft1", "ft2")) {
            Map<String, TinyModels.Tensor> tensors = new LinkedHashMap<>();
            tensors.put("model.embed_tokens.weight", EngineTest.tensor(random, 32, 64));
            for (int layer = 0; layer < 2; layer++) {
                // Sizes above and below the pruning block, rows not a multiple of any vector width.
                tensors.put("model.layers." + layer + ".self_attn.q_proj.weight", EngineTest.tensor(random, 64, 64));
                tensors.put("model.layers." + layer + ".mlp.up_proj.weight", EngineTest.tensor(random, 197, 64));
                tensors.put("model.layers." + layer + ".mlp.down_proj.weight", EngineTest.tensor(random, 64, 197));
                tensors.put("model.layers." + layer + ".input_layernorm.weight", EngineTest.tensor(random, 64));
            }
            tensors.put("model.norm.weight", EngineTest.tensor(random, 64));
            TinyModels.write(dir.resolve(name), tensors, DType.BF16, 40_000, 2, 32);
        }
        Map<String, LoraWeights> lora = new LinkedHashMap<>();
        for (int layer = 0; layer < 2; layer++) {
            float[] a = new float[4 * 64];
            float[] b = new float[64 * 4];
            for (int i = 0; i < a.length; i++) {
                a[i] = (float) random.nextGaussian() * 0.1f;
                b[i] = (float) random.nextGaussian() * 0.1f;
            }
            lora.put("model.layers." + layer + ".self_attn.q_proj.weight", new LoraWeights(a, b, 4, 64, 64, 2f, false));
        }
        LoraAdapterWriter.write(dir.resolve("lora"), LoraConfig.of(4, 8, List.of("q_proj"), "base"), lora, Map.of());
    }

    /** Each randomized method on each input layout. */
    static List<Arguments> cases() {
        List<Arguments> cases = new java.util.ArrayList<>();
        for (String method : RANDOMIZED) {
            for (String layout : List.of("two fine-tunes, bf16", "two fine-tunes, float32", "one fine-tune, bf16")) {
                cases.add(Arguments.of(method, layout));
            }
            cases.add(Arguments.of(method, "base+adapter, float32"));
        }
        return cases;
    }

    @ParameterizedTest(name = "{0}, {1}")
    @MethodSource("cases")
    void theSameSeedGivesTheSameBitsAtEveryThreadCount(String method, String layout) throws IOException {
        String yaml = config(method, layout);
        Path first = merge(yaml, 42, THREADS.getFirst());
        for (int threads : THREADS.subList(1, THREADS.size())) {
            Path other = merge(yaml, 42, threads);
            assertSameBits(first, other, threads + " threads");
        }
        Path otherSeed = merge(yaml, 43, 2);
        assertThat(differsSomewhere(first, otherSeed))
                .as("another seed draws other masks")
                .isTrue();
    }

    @ParameterizedTest(name = "{0}, {1}")
    @MethodSource("cases")
    void theSameSeedGivesTheSameBitsWhereverTheModelsAre(String method, String layout) throws IOException {
        Path here = merge(config(method, layout), 42, 2);
        // the same models under other names in another folder, given by absolute paths
        Path elsewhere = dir.resolve("moved/elsewhere");
        for (String name : List.of("base", "ft1", "ft2", "lora")) {
            copyFolder(dir.resolve(name), elsewhere.resolve("copy-of-" + name));
        }
        String moved = config(method, layout)
                .replace("base+lora", elsewhere.resolve("copy-of-base") + "+" + elsewhere.resolve("copy-of-lora"))
                .replace("base_model: base", "base_model: " + elsewhere.resolve("copy-of-base"))
                .replace("model: ft", "model: " + elsewhere.resolve("copy-of-ft"));
        assertThat(moved).doesNotContain("model: ft").contains("copy-of-");
        Path config = elsewhere.resolve("merge.yml");
        Files.writeString(config, moved);
        Path there = dir.resolve("out-moved");
        Merger.run(config, Merger.Options.into(there).seed(42).threads(2).build());
        assertSameBits(here, there, "models moved and renamed");
    }

    private static void copyFolder(Path from, Path to) throws IOException {
        Files.createDirectories(to);
        try (var files = Files.list(from)) {
            for (Path file : files.toList()) {
                Files.copy(file, to.resolve(file.getFileName()));
            }
        }
    }

    private static String config(String method, String layout) {
        String epsilon = method.startsWith("della") ? ", epsilon: 0.1" : "";
        StringBuilder yaml = new StringBuilder("merge_method: " + method + "\nbase_model: base\n");
        if (layout.contains("float32")) {
            yaml.append("dtype: float32\n");
        }
        yaml.append("models:\n");
        List<String> tuned = layout.startsWith("two")
                ? List.of("ft1", "ft2")
                : layout.startsWith("one") ? List.of("ft1") : List.of("base+lora");
        for (String model : tuned) {
            yaml.append("  - model: ")
                    .append(model)
                    .append("\n    parameters: {weight: 0.5, density: 0.4")
                    .append(epsilon)
                    .append("}\n");
        }
        return yaml.toString();
    }

    private Path merge(String yaml, long seed, int threads) throws IOException {
        Path config = dir.resolve("merge.yml");
        Files.writeString(config, yaml);
        Path out = dir.resolve("out-" + seed + "-" + threads + "-" + Integer.toHexString(yaml.hashCode()));
        Merger.run(config, Merger.Options.into(out).seed(seed).threads(threads).build());
        return out;
    }

    private static void assertSameBits(Path expected, Path actual, String what) {
        try (ModelDirectory want = ModelDirectory.open(expected);
                ModelDirectory got = ModelDirectory.open(actual)) {
            assertThat(got.tensorNames()).isEqualTo(want.tensorNames());
            for (String name : want.tensorNames()) {
                assertThat(got.bytes(name).mismatch(want.bytes(name)))
                        .as("%s at %s: first differing byte", name, what)
                        .isEqualTo(-1L);
            }
        }
    }

    private static boolean differsSomewhere(Path a, Path b) {
        try (ModelDirectory one = ModelDirectory.open(a);
                ModelDirectory two = ModelDirectory.open(b)) {
            for (String name : one.tensorNames()) {
                if (one.bytes(name).mismatch(two.bytes(name)) != -1) {
                    return true;
                }
            }
            return false;
        }
    }
}
