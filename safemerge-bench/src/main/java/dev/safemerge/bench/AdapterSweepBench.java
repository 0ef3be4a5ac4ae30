package dev.safemerge.bench;

import dev.safemerge.model.Adapter;
import dev.safemerge.model.Model;
import dev.safemerge.model.ModelLoadOptions;
import dev.safemerge.model.generate.Sampling;
import dev.safemerge.model.generate.ScaledAdapter;
import dev.safemerge.model.generate.SequenceSpec;
import dev.safemerge.model.generate.TokenCallback;
import dev.safemerge.tensor.LoraAdapterWriter;
import dev.safemerge.tensor.LoraConfig;
import dev.safemerge.tensor.LoraWeights;
import dev.safemerge.tensor.Progress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;

/**
 * What evaluating 5 linear λ variants of a LoRA fine-tune costs against evaluating one, in-process over one loaded
 * base (the safeguard sweep): in the same run, (a) one variant, base + λ·adapter over all prompts in one batch (the
 * reference), (b) five variants as the sweep runs them, one continuous batch whose live sequences are capped at the
 * engine's batch size (the prompt count), each sequence with its own λ, (c) five variants with every sequence live at
 * once, and (d) the five one after another, as separate evaluations would run them (without the merges and loads
 * those also pay). Greedy with end-of-sequence ignored, so every variant generates the same number of tokens.
 * Memory: the base's weights are held once, plus one adapter's factors, against five merged copies.
 *
 * <p>The physical bound comes from the same run: the floating-point operations of one variant (base and adapter
 * products and attention, counted from the shape) against the vector FMA rate measured first. Five variants do five
 * times the arithmetic, so five/one cannot fall below 5 × the fraction of that rate one variant already reaches.
 *
 * <p>Usage: {@code safemerge-bench/run AdapterSweepBench [--dir DIR] [--keep] [--layers N] [--prompts N]
 * [--prompt-tokens N] [--new-tokens N] [--rank R]}
 */
public final class AdapterSweepBench {
    private AdapterSweepBench() {}

    static final double[] LAMBDAS = {0.2, 0.4, 0.6, 0.8, 1.0};

    public static void main(String[] args) throws Exception {
        BenchArgs options = BenchArgs.parse(
                args,
                Map.of(
                        "--dir",
                        Scratch.defaultDir("adapter-sweep"),
                        "--layers",
                        12,
                        "--prompts",
                        64,
                        "--prompt-tokens",
                        8,
                        "--new-tokens",
                        8,
                        "--rank",
                        16),
                Set.of("--keep"));
        Path dir = options.path("--dir");
        boolean keep = options.flag("--keep");
        int layers = options.integer("--layers");
        int prompts = options.integer("--prompts");
        int promptTokens = options.integer("--prompt-tokens");
        int newTokens = options.integer("--new-tokens");
        int rank = options.integer("--rank");
        // ~100 M parameters: 12 layers of hidden 768 (GQA 12/4, MLP 2048) and a 32000-token tied embedding
        InferenceBench.Shape shape = new InferenceBench.Shape(32000, 768, 2048, layers, 12, 4);
        Path base = dir.resolve("base");
        try {
            InferenceBench.writeCheckpoint(base, shape);
            // the Llama 3 token ids of the shared writer lie outside this vocabulary
            Path config = base.resolve("config.json");
            Files.writeString(
                    config,
                    Files.readString(config)
                            .replace("\"bos_token_id\": 128000", "\"bos_token_id\": 1")
                            .replace("\"eos_token_id\": 128001", "\"eos_token_id\": 2"));
            Path adapterDir = writeAdapter(dir.resolve("adapter"), shape, rank);
            try (Model model = Model.load(base, ModelLoadOptions.defaults());
                    Adapter adapter = model.loadAdapter(adapterDir)) {
                long parameters = shape.layerParameters() + (long) shape.vocab() * shape.hidden();
                System.out.printf(
                        "model: %.1f M parameters (bf16), adapter rank %d on q/k/v/o/gate/up/down, %d prompts of %d"
                                + " tokens, %d new tokens each, %d threads%n",
                        parameters / 1e6,
                        rank,
                        prompts,
                        promptTokens,
                        newTokens,
                        Runtime.getRuntime().availableProcessors());
                System.out.printf(
                        "memory: base weights %.1f MB held once + adapter %.1f MB; five merged copies would hold"
                                + " %.1f MB%n",
                        model.weightBytesPerToken() / 1e6,
                        adapter.byteSize() / 1e6,
                        5 * model.weightBytesPerToken() / 1e6);
                Sampling greedy = Sampling.greedy(newTokens).withIgnoreEos(true);
                List<int[]> ids = new ArrayList<>();
                for (int p = 0; p < prompts; p++) {
                    int[] prompt = new int[promptTokens];
                    for (int t = 0; t < promptTokens; t++) {
                        prompt[t] = (int) ((p * 7919L + t * 104729L) % shape.vocab());
                    }
                    ids.add(prompt);
                }
                int threads = Runtime.getRuntime().availableProcessors();
                double fmaRate = MachineBounds.fmaThroughput(threads, 3);
                double flops = variantFlops(shape, rank, prompts, promptTokens, newTokens);
                double bound = flops / fmaRate;
                System.out.printf(
                        "arithmetic per variant: %.1f GFLOP; at the measured FMA rate %.2f s per variant%n",
                        flops / 1e9, bound);
                // warm-up of the JIT and kernels, on a few prompts
                List<int[]> few = ids.subList(0, Math.min(8, prompts));
                generate(model, adapter, few, new double[] {0.5}, few.size(), greedy);
                long start = System.nanoTime();
                generate(model, adapter, ids, new double[] {0.5}, prompts, greedy);
                double one = seconds(start);
                start = System.nanoTime();
                generate(model, adapter, ids, LAMBDAS, prompts, greedy);
                double sweep = seconds(start);
                start = System.nanoTime();
                generate(model, adapter, ids, LAMBDAS, LAMBDAS.length * prompts, greedy);
                double allLive = seconds(start);
                start = System.nanoTime();
                for (double lambda : LAMBDAS) {
                    generate(model, adapter, ids, new double[] {lambda}, prompts, greedy);
                }
                double sequential = seconds(start);
                int n = LAMBDAS.length;
                row(String.format("one variant (batch %d)", prompts), one, one, bound);
                row(String.format("5 variants, one continuous batch, %d live", prompts), sweep, one, n * bound);
                row(String.format("5 variants, one continuous batch, %d live", n * prompts), allLive, one, n * bound);
                row("5 variants one after another", sequential, one, n * bound);
                System.out.printf(
                        "lowest five/one arithmetic allows: %.2f (five variants at the full FMA rate against one"
                                + " variant as measured; 5.00 if one variant were compute-bound)%n",
                        n * bound / one);
            }
        } finally {
            if (!keep) {
                InferenceBench.deleteTree(dir);
            }
        }
    }

    private static void row(String label, double seconds, double one, double boundSeconds) {
        System.out.printf(
                "%-44s %7.1f s  ratio %.2f to one variant  %4.1f %% of the FMA bound%n",
                label, seconds, seconds / one, 100 * boundSeconds / seconds);
    }

    /**
     * Floating-point operations (a multiply-add counts two) of one variant: every processed position (the prompt,
     * then each generated token but the last) through the layers' base products, the adapter's two low-rank products
     * on all seven projections and attention over the positions so far; the output projection for each generated
     * token only. Norms, rope and activations are left out (under 0.1 % here), so this is a lower bound.
     */
    static double variantFlops(InferenceBench.Shape s, int rank, int prompts, int promptTokens, int newTokens) {
        int q = s.heads() * s.headDim();
        int kv = s.kvHeads() * s.headDim();
        long adapterPerLayer = (long) rank
                * ((s.hidden() + q) + 2L * (s.hidden() + kv) + (q + s.hidden()) + 3L * (s.hidden() + s.intermediate()));
        int positions = promptTokens + newTokens - 1;
        double perSequence = 0;
        for (int p = 0; p < positions; p++) {
            // scores and weighted values: per head, headDim multiply-adds for each of the p + 1 positions, twice
            long attention = 2L * q * (p + 1) * s.layers();
            perSequence += 2.0 * (s.layerParameters() + adapterPerLayer * s.layers() + attention);
        }
        perSequence += 2.0 * newTokens * s.vocab() * s.hidden();
        return perSequence * prompts;
    }

    /** Every prompt once per λ, in one continuous batch of at most {@code live} sequences at a time. */
    private static void generate(
            Model model, Adapter adapter, List<int[]> ids, double[] lambdas, int live, Sampling p) {
        List<SequenceSpec> sequences = new ArrayList<>();
        for (double lambda : lambdas) {
            ScaledAdapter scaled = new ScaledAdapter(adapter, (float) lambda);
            for (int i = 0; i < ids.size(); i++) {
                sequences.add(new SequenceSpec(ids.get(i), scaled, i));
            }
        }
        model.generator(live).generateSequences(sequences, p, TokenCallback.NONE, Progress.NONE);
    }

    /** A random rank-r adapter on every projection of every layer. */
    private static Path writeAdapter(Path dir, InferenceBench.Shape s, int rank) {
        SplittableRandom random = new SplittableRandom(5);
        int q = s.heads() * s.headDim();
        int kv = s.kvHeads() * s.headDim();
        Map<String, int[]> modules = new LinkedHashMap<>();
        modules.put("self_attn.q_proj", new int[] {q, s.hidden()});
        modules.put("self_attn.k_proj", new int[] {kv, s.hidden()});
        modules.put("self_attn.v_proj", new int[] {kv, s.hidden()});
        modules.put("self_attn.o_proj", new int[] {s.hidden(), q});
        modules.put("mlp.gate_proj", new int[] {s.intermediate(), s.hidden()});
        modules.put("mlp.up_proj", new int[] {s.intermediate(), s.hidden()});
        modules.put("mlp.down_proj", new int[] {s.hidden(), s.intermediate()});
        Map<String, LoraWeights> weights = new LinkedHashMap<>();
        for (int l = 0; l < s.layers(); l++) {
            for (Map.Entry<String, int[]> m : modules.entrySet()) {
                int out = m.getValue()[0];
                int in = m.getValue()[1];
                float[] a = new float[rank * in];
                float[] b = new float[out * rank];
                for (int i = 0; i < a.length; i++) {
                    a[i] = (float) (random.nextGaussian() * 0.01);
                }
                for (int i = 0; i < b.length; i++) {
                    b[i] = (float) (random.nextGaussian() * 0.01);
                }
                weights.put(
                        "model.layers." + l + "." + m.getKey() + ".weight",
                        new LoraWeights(a, b, rank, in, out, 2f, false));
            }
        }
        List<String> targets = List.of("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj");
        LoraAdapterWriter.write(dir, LoraConfig.of(rank, 2 * rank, targets, "bench"), weights, Map.of(), true);
        return dir;
    }

    private static double seconds(long startNanos) {
        return (System.nanoTime() - startNanos) / 1e9;
    }
}
