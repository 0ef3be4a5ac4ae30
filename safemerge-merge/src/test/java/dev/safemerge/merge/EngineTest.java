package dev.safemerge.merge;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.safemerge.merge.kernel.Precision;
import dev.safemerge.merge.method.TaskArithmeticMethods;
import dev.safemerge.tensor.BadInputException;
import dev.safemerge.tensor.DType;
import dev.safemerge.tensor.ModelDirectory;
import dev.safemerge.tensor.Progress;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Seeded randomness, hand-derived TIES, atomic output on failure, parallel determinism. */
class EngineTest {
    @TempDir
    Path dir;

    static TensorGroup group(
            String name, float[] base, List<MergeInput> others, Params global, Precision p, MaskSource m) {
        List<MergeInput> inputs = new java.util.ArrayList<>();
        inputs.add(new MergeInput("base", base, Params.NONE));
        inputs.addAll(others);
        return new TensorGroup(name, new long[] {base.length}, false, inputs, 0, global, p, m);
    }

    @Test
    void tiesByHand() {
        // deltas m1 = [3, -2, 0.5, 1], m2 = [-1, -2, 1, 0], weights 1 and 1, density 1: elect signs on the sums
        // [2, -4, 1.5, 1] -> +, -, +, +; keep agreeing entries: mixed = [3, -4, 1.5, 1], divisor = [1, 2, 2, 1].
        float[] base = {0, 0, 0, 0};
        TensorGroup g = group(
                "t",
                base,
                List.of(
                        new MergeInput("m1", new float[] {3, -2, 0.5f, 1}, Params.of("weight", 1, "density", 1)),
                        new MergeInput("m2", new float[] {-1, -2, 1, 0}, Params.of("weight", 1, "density", 1))),
                Params.of("normalize", true, "rescale", false, "lambda", 1, "int8_mask", false),
                Precision.F32,
                null);
        assertThat(TaskArithmeticMethods.TIES.merge(g)).containsExactly(3, -2, 0.75f, 1);
    }

    @Test
    void dareKeepsAboutDensityAndRescalesToTheSameL1Norm() {
        int n = 200_000;
        SplittableRandom random = new SplittableRandom(11);
        float[] base = new float[n];
        float[] tuned = new float[n];
        for (int i = 0; i < n; i++) {
            tuned[i] = (float) random.nextGaussian();
        }
        for (double density : new double[] {0.1, 0.5, 0.9}) {
            TensorGroup g = group(
                    "model.layers.0.mlp.up_proj.weight",
                    base,
                    List.of(new MergeInput("ft", tuned, Params.of("weight", 1, "density", density))),
                    Params.of("normalize", false, "rescale", true, "lambda", 1, "int8_mask", false),
                    Precision.F32,
                    MaskSource.seeded(5, "model.layers.0.mlp.up_proj.weight"));
            float[] merged = TaskArithmeticMethods.DARE_LINEAR.merge(g);
            int kept = 0;
            double l1 = 0;
            double l1Before = 0;
            for (int i = 0; i < n; i++) {
                kept += merged[i] != 0 ? 1 : 0;
                l1 += Math.abs(merged[i]);
                l1Before += Math.abs(tuned[i]);
            }
            double fraction = (double) kept / n;
            // binomial standard deviation at n = 200000 is below 0.0012; allow 5 sigma
            assertThat(fraction).as("kept fraction at density " + density).isCloseTo(density, within(0.006));
            assertThat(l1 / l1Before).as("l1 rescale").isCloseTo(1.0, within(1e-4));
            // every kept element is the original delta times one common factor, the l1 ratio
            double factor = l1Before / keptL1(tuned, merged);
            for (int i = 0; i < n; i += 997) {
                if (merged[i] != 0) {
                    assertThat((double) merged[i])
                            .isCloseTo(tuned[i] * factor, within(1e-5 * Math.abs(tuned[i] * factor) + 1e-7));
                }
            }
        }
    }

    @Test
    void seededMasksDependOnSeedTensorAndModelOnly() {
        float[] a = new float[1000];
        float[] b = new float[1000];
        MaskSource.seeded(1, "x").uniforms("m", a);
        MaskSource.seeded(1, "x").uniforms("m", b);
        assertThat(a).containsExactly(b);
        MaskSource.seeded(2, "x").uniforms("m", b);
        assertThat(a).isNotEqualTo(b);
        MaskSource.seeded(1, "y").uniforms("m", b);
        assertThat(a).isNotEqualTo(b);
        double mean = 0;
        for (float u : a) {
            assertThat(u).isBetween(0f, 1f);
            mean += u / a.length;
        }
        assertThat(mean).isCloseTo(0.5, within(0.05));
    }

    private static double keptL1(float[] original, float[] merged) {
        double sum = 0;
        for (int i = 0; i < original.length; i++) {
            sum += merged[i] != 0 ? Math.abs(original[i]) : 0;
        }
        return sum;
    }

    private static org.assertj.core.data.Offset<Double> within(double value) {
        return org.assertj.core.data.Offset.offset(value);
    }

    private void models() {
        SplittableRandom random = new SplittableRandom(9);
        for (String name : List.of("base", "ft1", "ft2")) {
            Map<String, TinyModels.Tensor> tensors = new LinkedHashMap<>();
            tensors.put("model.embed_tokens.weight", tensor(random, 32, 64));
            for (int layer = 0; layer < 3; layer++) {
                tensors.put("model.layers." + layer + ".mlp.up_proj.weight", tensor(random, 128, 64));
                tensors.put("model.layers." + layer + ".input_layernorm.weight", tensor(random, 64));
            }
            tensors.put("model.norm.weight", tensor(random, 64));
            TinyModels.write(dir.resolve(name), tensors, DType.BF16, 20_000, 3, 32);
        }
    }

    static TinyModels.Tensor tensor(SplittableRandom random, long... shape) {
        float[] values = new float[(int) dev.safemerge.tensor.TensorInfo.elementCount(shape)];
        for (int i = 0; i < values.length; i++) {
            values[i] = (float) random.nextGaussian();
        }
        return new TinyModels.Tensor(shape, values);
    }

    private Merger.Summary merge(String yaml, Path out, long seed, int threads) throws IOException {
        Path config = dir.resolve("merge.yml");
        Files.writeString(config, yaml);
        return Merger.run(
                config,
                Merger.Options.into(out)
                        .seed(seed)
                        .maxShardBytes(20_000)
                        .threads(threads)
                        .build());
    }

    static final String DARE = """
            merge_method: dare_ties
            base_model: base
            models:
              - model: ft1
                parameters: {weight: 0.6, density: [0.3, 0.8]}
              - model: ft2
                parameters: {weight: 0.4, density: 0.5}
            """;

    @Test
    void seededMergesAreIdenticalAcrossRunsAndThreadCounts() throws IOException {
        models();
        merge(DARE, dir.resolve("one"), 42, 1);
        merge(DARE, dir.resolve("two"), 42, 2);
        merge(DARE, dir.resolve("other-seed"), 43, 2);
        try (ModelDirectory one = ModelDirectory.open(dir.resolve("one"));
                ModelDirectory two = ModelDirectory.open(dir.resolve("two"));
                ModelDirectory other = ModelDirectory.open(dir.resolve("other-seed"))) {
            boolean differs = false;
            for (String name : one.tensorNames()) {
                assertThat(two.readFloats(name)).as(name).containsExactly(one.readFloats(name));
                differs |= !java.util.Arrays.equals(other.readFloats(name), one.readFloats(name));
            }
            assertThat(differs).as("another seed draws other masks").isTrue();
        }
    }

    @Test
    void aLinearMergeWhoseWeightsSumToZeroForSomeLayerIsRefusedBeforeAnythingIsWritten() throws IOException {
        // The gradients sum to 2 at the first layer and to 0 at the last: normalising would divide by zero there.
        assertRefusedBeforeWriting("""
                        merge_method: linear
                        models:
                          - model: ft1
                            parameters: {weight: [1, 0.5]}
                          - model: ft2
                            parameters: {weight: [1, -0.5]}
                        """, "merge.yml", "model.layers.2.", "ft1", "weights sum to 0");
    }

    @Test
    void aMultislerpWhoseWeightsSumToZeroIsRefusedBeforeAnythingIsWritten() throws IOException {
        assertRefusedBeforeWriting("""
                        merge_method: multislerp
                        base_model: base
                        models:
                          - model: ft1
                            parameters: {weight: 0.5}
                          - model: ft2
                            parameters: {weight: -0.5}
                        """, "merge.yml", "multislerp: the weights sum to 0");
    }

    @Test
    void aParameterOutOfItsRangeIsRefusedAtConfigCheckNamingTheKeyAndValue() throws IOException {
        assertRefusedBeforeWriting(
                """
                        merge_method: ties
                        base_model: base
                        models:
                          - model: ft1
                            parameters:
                              weight: 0.5
                              density: [{filter: mlp, value: [0.5, -0.5]}, {value: 0.5}]
                          - model: ft2
                            parameters: {weight: 0.5, density: 0.5}
                        """,
                "merge.yml: models[0].parameters.density[0].value[1]: -0.5 is out of range",
                "density must be in [0, 1]");
    }

    /** A density gradient that leaves (0, 1) only at the last layer: known per tensor, refused when planning. */
    @Test
    void dellaDensityPlusMinusEpsilonOutsideZeroOneForSomeLayerIsRefusedBeforeAnythingIsWritten() throws IOException {
        assertRefusedBeforeWriting(
                """
                        merge_method: della
                        base_model: base
                        models:
                          - model: ft1
                            parameters: {weight: 0.5, density: [0.5, 0.9], epsilon: 0.15}
                          - model: ft2
                            parameters: {weight: 0.5, density: 0.5}
                        """,
                "merge.yml",
                "model.layers.2.",
                "della needs 0 < density - epsilon and density + epsilon < 1 (density 0.9,");
    }

    @Test
    void aMergeThatFailsHalfwayLeavesNothingAtTheOutput() throws IOException {
        models();
        Path out = dir.resolve("merged");
        assertThatThrownBy(() -> mergeFailingAtTheFourthTensor(out, false)).hasMessageContaining("disk on fire");
        assertThat(out).doesNotExist();
        try (Stream<Path> siblings = Files.list(dir)) {
            assertThat(siblings.map(p -> p.getFileName().toString()))
                    .as("no temporary directory left beside the output")
                    .containsExactlyInAnyOrder("base", "ft1", "ft2", "merge.yml");
        }
    }

    /** Overwriting builds the new output beside the old one: a merge that fails halfway leaves the old one as it was. */
    @Test
    void anOverwriteThatFailsHalfwayLeavesTheOldOutputIntact() throws IOException {
        models();
        Path out = dir.resolve("merged");
        merge(DARE, out, 1, 2);
        Map<String, byte[]> before = contents(out);
        assertThatThrownBy(() -> mergeFailingAtTheFourthTensor(out, true)).hasMessageContaining("disk on fire");
        Map<String, byte[]> after = contents(out);
        assertThat(after.keySet()).isEqualTo(before.keySet());
        before.forEach((name, bytes) -> assertThat(after.get(name)).as(name).isEqualTo(bytes));
        try (Stream<Path> siblings = Files.list(dir)) {
            assertThat(siblings.map(p -> p.getFileName().toString()))
                    .as("no temporary directory left beside the output")
                    .containsExactlyInAnyOrder("base", "ft1", "ft2", "merge.yml", "merged");
        }
    }

    private static Map<String, byte[]> contents(Path directory) throws IOException {
        Map<String, byte[]> files = new java.util.TreeMap<>();
        try (Stream<Path> walk = Files.walk(directory)) {
            for (Path file : walk.filter(Files::isRegularFile).toList()) {
                files.put(directory.relativize(file).toString(), Files.readAllBytes(file));
            }
        }
        return files;
    }

    /** The DARE merge written with a method that throws at its fourth tensor, after others reached the shards. */
    /**
     * Merges {@code yaml} over the test models and expects it refused before anything is written, in one line that
     * contains every fragment.
     */
    private void assertRefusedBeforeWriting(String yaml, String... fragments) throws IOException {
        models();
        Path out = dir.resolve("merged");
        assertThatThrownBy(() -> merge(yaml, out, 0, 1))
                .isInstanceOf(BadInputException.class)
                .satisfies(e -> assertThat(e.getMessage()).contains(fragments).doesNotContain("\n"));
        assertThat(out).doesNotExist();
    }

    private void mergeFailingAtTheFourthTensor(Path out, boolean overwrite) throws IOException {
        Path config = dir.resolve("merge.yml");
        Files.writeString(config, DARE);
        MergeMethod failing = new MergeMethod() {
            final MergeMethod inner = MethodRegistry.find("dare_ties");
            final java.util.concurrent.atomic.AtomicInteger calls = new java.util.concurrent.atomic.AtomicInteger();

            @Override
            public String name() {
                return inner.name();
            }

            @Override
            public List<ParameterSpec> parameters() {
                return inner.parameters();
            }

            @Override
            public BaseModelRule baseModel() {
                return inner.baseModel();
            }

            @Override
            public EmbedSizeRule embedSizes() {
                return inner.embedSizes();
            }

            @Override
            public String checkInputs(int others, boolean hasBase) {
                return inner.checkInputs(others, hasBase);
            }

            @Override
            public float[] merge(TensorGroup group) {
                if (calls.incrementAndGet() == 4) {
                    throw new IllegalStateException("disk on fire");
                }
                return inner.merge(group);
            }
        };
        var parsed = dev.safemerge.merge.config.ConfigParser.parse(config, message -> {});
        Map<dev.safemerge.merge.config.ModelRef, ModelDirectory> opened = new LinkedHashMap<>();
        try {
            for (var ref : parsed.referencedModels()) {
                opened.put(ref, ModelDirectory.open(ref.path()));
            }
            MergePlanner.Plan plan = MergePlanner.plan(parsed, opened::get, message -> {});
            List<dev.safemerge.tensor.TensorSpec> specs =
                    plan.tasks().stream().map(TensorTask::spec).toList();
            try (var writer = dev.safemerge.tensor.ModelWriter.create(out, specs, 20_000, Map.of(), overwrite)) {
                MergeExecutor.execute(
                        plan.tasks(), failing, writer, MergeExecutor.Options.defaults(2, 1, Progress.SILENT));
                writer.commit();
            }
        } finally {
            opened.values().forEach(ModelDirectory::close);
        }
    }
}
