package dev.safemerge.model;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.safemerge.model.generate.GenerationResult;
import dev.safemerge.model.generate.KvCache;
import dev.safemerge.model.generate.Sampling;
import dev.safemerge.model.generate.ScaledAdapter;
import dev.safemerge.model.generate.SequenceFeed;
import dev.safemerge.model.generate.SequenceSpec;
import dev.safemerge.model.generate.TokenCallback;
import dev.safemerge.tensor.BadInputException;
import dev.safemerge.tensor.LoraAdapterWriter;
import dev.safemerge.tensor.LoraConfig;
import dev.safemerge.tensor.LoraWeights;
import dev.safemerge.tensor.Progress;
import dev.safemerge.tensor.kernel.Matrix;
import java.lang.foreign.Arena;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Sequences with different adapters (or none), each at its own scale, in one batch over one copy of the base: each
 * gives exactly what it gives alone, and base + λ·adapter is the linear merge of base and fine-tune at λ.
 */
class MultiAdapterBatchTest {
    static final Path BASE = ReferenceForwardTest.REFERENCE.resolve("models").resolve("llama_f32_gqa");
    static final int HIDDEN = 64;
    static final int KV = 32;
    static final int INTERMEDIATE = 128;

    /** A seeded random adapter of the reference Llama on {@code modules} of both layers. */
    static Path adapter(Path dir, String name, long seed, int rank, List<String> modules) {
        SplittableRandom random = new SplittableRandom(seed);
        LoraConfig config = LoraConfig.of(rank, 2 * rank, modules, "llama_f32_gqa");
        Map<String, LoraWeights> weights = new LinkedHashMap<>();
        for (int layer = 0; layer < 2; layer++) {
            for (Projection p : Projection.values()) {
                String module = p.prefix(layer).substring(p.prefix(layer).lastIndexOf('.') + 1);
                if (!modules.contains(module)) {
                    continue;
                }
                int out = switch (p) {
                    case K, V -> KV;
                    case GATE, UP -> INTERMEDIATE;
                    default -> HIDDEN;
                };
                int in = p == Projection.DOWN ? INTERMEDIATE : HIDDEN;
                float[] a = new float[rank * in];
                float[] b = new float[out * rank];
                for (int i = 0; i < a.length; i++) {
                    a[i] = (float) (random.nextGaussian() * 0.3);
                }
                for (int i = 0; i < b.length; i++) {
                    b[i] = (float) (random.nextGaussian() * 0.3);
                }
                weights.put(p.prefix(layer) + ".weight", new LoraWeights(a, b, rank, in, out, 2f, false));
            }
        }
        Path path = dir.resolve(name);
        LoraAdapterWriter.write(path, config, weights, Map.of());
        return path;
    }

    /** Prefill then {@code steps} decode steps of each sequence; returns every step's logits per sequence. */
    private static List<List<float[]>> run(Model model, List<int[]> prompts, List<ScaledAdapter> adapters, int steps) {
        int vocab = model.vocabSize();
        List<KvCache> caches = new ArrayList<>();
        prompts.forEach(p -> caches.add(model.newCache(p.length + steps)));
        List<List<float[]>> out = new ArrayList<>();
        prompts.forEach(p -> out.add(new ArrayList<>()));
        List<int[]> inputs = prompts;
        for (int step = 0; step <= steps; step++) {
            float[] logits = model.step(caches, inputs, adapters);
            List<int[]> next = new ArrayList<>();
            for (int s = 0; s < prompts.size(); s++) {
                float[] row = java.util.Arrays.copyOfRange(logits, s * vocab, (s + 1) * vocab);
                out.get(s).add(row);
                // the same next token for every sequence keeps each run's inputs independent of the others
                next.add(new int[] {(7 + 13 * step) % vocab});
            }
            inputs = next;
        }
        return out;
    }

    @Test
    void mixedBatchGivesBitForBitWhatEachSequenceGivesAlone(@TempDir Path dir) {
        try (Model model = Model.load(BASE, ModelLoadOptions.defaults());
                Adapter a = model.loadAdapter(adapter(dir, "a", 1, 4, List.of("q_proj", "v_proj", "down_proj")));
                Adapter b = model.loadAdapter(adapter(dir, "b", 2, 2, List.of("k_proj", "o_proj", "gate_proj")));
                Adapter c = model.loadAdapter(adapter(dir, "c", 3, 8, List.of("q_proj", "up_proj", "down_proj")))) {
            List<int[]> prompts = List.of(
                    new int[] {1, 5, 9, 14},
                    new int[] {1, 22},
                    new int[] {1, 40, 41, 42, 43, 44},
                    new int[] {1, 60, 61},
                    new int[] {1, 5, 9, 14},
                    new int[] {1, 100, 3, 250, 17});
            List<ScaledAdapter> adapters = java.util.Arrays.asList(
                    null,
                    new ScaledAdapter(a, 0.25f),
                    new ScaledAdapter(b, 1f),
                    new ScaledAdapter(a, 0.8f),
                    new ScaledAdapter(c, 0.6f),
                    new ScaledAdapter(b, -0.5f));
            List<List<float[]>> together = run(model, prompts, adapters, 4);
            for (int s = 0; s < prompts.size(); s++) {
                List<List<float[]>> alone =
                        run(model, List.of(prompts.get(s)), Collections.singletonList(adapters.get(s)), 4);
                for (int step = 0; step < together.get(s).size(); step++) {
                    assertThat(together.get(s).get(step))
                            .as("sequence %d step %d", s, step)
                            .isEqualTo(alone.getFirst().get(step));
                }
            }
            // the adapters do change the output, and the base-only sequence is the plain base
            assertThat(together.get(4).getFirst()).isNotEqualTo(together.get(0).getFirst());
            assertThat(together.get(0).getFirst())
                    .isEqualTo(model.forward(prompts.getFirst())[prompts.getFirst().length - 1]);
        }
    }

    @Test
    void generationWithMixedAdaptersIsIndependentOfBatching(@TempDir Path dir) {
        try (Model model = Model.load(BASE, ModelLoadOptions.defaults());
                Adapter a = model.loadAdapter(adapter(dir, "a", 4, 4, List.of("q_proj", "v_proj")));
                Adapter b = model.loadAdapter(adapter(dir, "b", 5, 4, List.of("gate_proj", "down_proj")))) {
            List<SequenceSpec> specs = new ArrayList<>();
            ScaledAdapter[] choices = {null, new ScaledAdapter(a, 0.5f), new ScaledAdapter(b, 1f), null};
            for (int i = 0; i < 8; i++) {
                specs.add(new SequenceSpec(new int[] {1, 10 + i, 20 + 3 * i}, choices[i % 4], i));
            }
            Sampling params = Sampling.greedy(6)
                    .withTemperature(0.9)
                    .withTopK(40)
                    .withTopP(0.95)
                    .withRepetitionPenalty(1.1)
                    .withSeed(77)
                    .withIgnoreEos(true);
            List<GenerationResult> batched =
                    model.generator(5).generateSequences(specs, params, TokenCallback.NONE, Progress.NONE);
            for (int i = 0; i < specs.size(); i++) {
                List<GenerationResult> alone = model.generator(1)
                        .generateSequences(List.of(specs.get(i)), params, TokenCallback.NONE, Progress.NONE);
                assertThat(batched.get(i)).as("sequence %d", i).isEqualTo(alone.getFirst());
            }
        }
    }

    /**
     * One continuous batch whose sequences differ in adapter, scale and sampling (greedy, seeded temperature sampling
     * with top-k/top-p, a repetition penalty, other seeds and lengths): each gives exactly what it gives alone with its
     * own settings, so a sweep needs no batch per sampling setting.
     */
    @Test
    void mixedSamplingInOneFeedBatchGivesWhatEachSequenceGivesAlone(@TempDir Path dir) {
        try (Model model = Model.load(BASE, ModelLoadOptions.defaults());
                Adapter a = model.loadAdapter(adapter(dir, "a", 8, 4, List.of("q_proj", "v_proj")))) {
            ScaledAdapter[] adapters = {null, new ScaledAdapter(a, 0.4f), new ScaledAdapter(a, 1f)};
            Sampling sampled = Sampling.greedy(7)
                    .withTemperature(0.9)
                    .withTopK(40)
                    .withTopP(0.95)
                    .withSeed(77);
            Sampling[] samplings = {
                Sampling.greedy(5).withIgnoreEos(true),
                sampled.withIgnoreEos(true),
                sampled.withSeed(5)
                        .withRepetitionPenalty(1.2)
                        .withMaxNewTokens(4)
                        .withIgnoreEos(true),
                Sampling.greedy(6).withTemperature(1.3).withSeed(9)
            };
            List<SequenceFeed.Joining> joinings = new ArrayList<>();
            for (int i = 0; i < 9; i++) {
                joinings.add(new SequenceFeed.Joining(
                        new SequenceSpec(new int[] {1, 10 + i, 20 + 3 * i}, adapters[i % 3], i % 2), samplings[i % 4]));
            }
            assertThat(joinings.stream().map(j -> j.sampling().batchKey()).distinct())
                    .as("settings no one engine batch of the old kind could share")
                    .hasSize(4);
            GenerationResult[] together = new GenerationResult[joinings.size()];
            java.util.Iterator<SequenceFeed.Joining> next = joinings.iterator();
            model.generator(4)
                    .generate(
                            new SequenceFeed() {
                                @Override
                                public List<Joining> admit(int freeSlots) {
                                    List<Joining> admitted = new ArrayList<>();
                                    while (admitted.size() < freeSlots && next.hasNext()) {
                                        admitted.add(next.next());
                                    }
                                    return admitted;
                                }

                                @Override
                                public void finished(int index, GenerationResult result) {
                                    together[index] = result;
                                }
                            },
                            TokenCallback.NONE,
                            Progress.NONE);
            for (int i = 0; i < joinings.size(); i++) {
                SequenceFeed.Joining joining = joinings.get(i);
                List<GenerationResult> alone = model.generator(1)
                        .generateSequences(
                                List.of(joining.spec()), joining.sampling(), TokenCallback.NONE, Progress.NONE);
                assertThat(together[i]).as("sequence %d", i).isEqualTo(alone.getFirst());
            }
        }
    }

    @Test
    void anUnmergedLoadTimeAdapterIsTheSameAsALoadedAdapterAtScaleOne(@TempDir Path dir) {
        Path path = adapter(dir, "a", 6, 4, List.of("q_proj", "v_proj", "down_proj"));
        int[] ids = {1, 5, 9, 14, 3};
        try (Model withAdapter = Model.load(BASE, ModelLoadOptions.defaults().withAdapter(path, false));
                Model base = Model.load(BASE, ModelLoadOptions.defaults());
                Adapter a = base.loadAdapter(path)) {
            assertThat(base.forward(ids, new ScaledAdapter(a, 1f))).isDeepEqualTo(withAdapter.forward(ids));
        }
    }

    /**
     * The base product plus {@code λ·s·(x·Aᵀ)·Bᵀ} against {@code x·W'ᵀ} with {@code W' = W + λ·s·B·A} materialized in
     * float32, as a linear merge writes it. Both are float32 evaluations of the same exact product
     * {@code y = x·(W + λ·s·B·A)ᵀ}; with u = 2⁻²⁴ and γ_k = k·u/(1 − k·u) (Higham, Accuracy and Stability of
     * Numerical Algorithms, §3.1; it holds for any summation order and with fused multiply-adds):
     * <ul>
     *   <li>materialized: W' has elementwise error ≤ γ_{r+2}·(|W| + |c|·|B|·|A|), c = λ·s, and the product adds
     *       γ_n·|x|·|W'|ᵀ, so |ŷ₂ − y| ≤ γ_{n+r+2}·(|x|·|W|ᵀ + |c|·|x|·(|B|·|A|)ᵀ)·(1 + γ_{n+r+2});
     *   <li>unmerged: γ_n·|x|·|W|ᵀ for the base, γ_{n+r+1}·|c|·(|x|·|A|ᵀ)·|B|ᵀ for the low-rank term and u·|ŷ₁| for
     *       their sum.
     * </ul>
     * The bound on |ŷ₁ − ŷ₂| is the sum of both.
     */
    @Test
    void baseWithScaledAdapterIsTheLinearMergeWithinTheFloat32ErrorBound() {
        SplittableRandom random = new SplittableRandom(11);
        int n = 96;
        int out = 48;
        int r = 6;
        int rows = 5;
        float s = 1.5f;
        float[] w = gaussian(random, out * n, 0.2);
        float[] a = gaussian(random, r * n, 0.3);
        float[] b = gaussian(random, out * r, 0.3);
        float[] x = gaussian(random, rows * n, 1.0);
        try (Arena arena = Arena.ofConfined()) {
            Adapter.LowRank lowRank =
                    new Adapter.LowRank(Matrix.ofFloats(r, n, a, arena), Matrix.ofFloats(out, r, b, arena), s);
            for (float lambda : new float[] {0.2f, 0.4f, 0.6f, 0.8f, 1f}) {
                float c = lambda * s;
                float[] merged = new float[out * n];
                for (int o = 0; o < out; o++) {
                    for (int i = 0; i < n; i++) {
                        float delta = 0;
                        for (int k = 0; k < r; k++) {
                            delta += b[o * r + k] * a[k * n + i];
                        }
                        merged[o * n + i] = w[o * n + i] + c * delta;
                    }
                }
                float[] viaMerge = new float[rows * out];
                new Linear(Matrix.ofFloats(out, n, merged, arena), null).forward(x, rows, viaMerge);

                float[] viaAdapter = new float[rows * out];
                new Linear(Matrix.ofFloats(out, n, w, arena), null).forward(x, rows, viaAdapter);
                int[] allRows = java.util.stream.IntStream.range(0, rows).toArray();
                float[] scales = new float[rows];
                java.util.Arrays.fill(scales, lambda);
                AdapterRows.addLowRank(lowRank, allRows, scales, x, n, viaAdapter, out);

                double u = 0x1p-24;
                for (int row = 0; row < rows; row++) {
                    for (int o = 0; o < out; o++) {
                        double xw = 0;
                        double xab = 0;
                        double xa_b = 0;
                        for (int i = 0; i < n; i++) {
                            double ba = 0;
                            for (int k = 0; k < r; k++) {
                                ba += Math.abs(b[o * r + k] * a[k * n + i]);
                            }
                            xw += Math.abs(x[row * n + i] * w[o * n + i]);
                            xab += Math.abs(x[row * n + i]) * ba;
                        }
                        for (int k = 0; k < r; k++) {
                            double xa = 0;
                            for (int i = 0; i < n; i++) {
                                xa += Math.abs(x[row * n + i] * a[k * n + i]);
                            }
                            xa_b += xa * Math.abs(b[o * r + k]);
                        }
                        double gMerge = gamma(n + r + 2, u);
                        double boundMerge = gMerge * (xw + Math.abs(c) * xab) * (1 + gMerge);
                        double boundAdapter = gamma(n, u) * xw
                                + gamma(n + r + 1, u) * Math.abs(c) * xa_b
                                + u * Math.abs(viaAdapter[row * out + o]);
                        double difference = Math.abs(viaAdapter[row * out + o] - viaMerge[row * out + o]);
                        assertThat(difference)
                                .as("λ=%s row %d output %d", lambda, row, o)
                                .isLessThanOrEqualTo(boundMerge + boundAdapter);
                    }
                }
            }
        }
    }

    private static double gamma(int k, double u) {
        return k * u / (1 - k * u);
    }

    private static float[] gaussian(SplittableRandom random, int n, double sigma) {
        float[] values = new float[n];
        for (int i = 0; i < n; i++) {
            values[i] = (float) (random.nextGaussian() * sigma);
        }
        return values;
    }

    @Test
    void anAdapterForAnotherShapeIsRefusedNamingTheTensor(@TempDir Path dir) {
        Path other = dir.resolve("narrow");
        LoraAdapterWriter.write(
                other,
                LoraConfig.of(2, 4, List.of("q_proj"), "another"),
                Map.of(
                        "model.layers.0.self_attn.q_proj.weight",
                        new LoraWeights(new float[2 * 32], new float[HIDDEN * 2], 2, 32, HIDDEN, 2f, false)),
                Map.of());
        try (Model model = Model.load(BASE, ModelLoadOptions.defaults())) {
            assertThatThrownBy(() -> model.loadAdapter(other))
                    .isInstanceOf(BadInputException.class)
                    .hasMessageContaining("narrow")
                    .hasMessageContaining("model.layers.0.self_attn.q_proj.weight");
        }
    }
}
