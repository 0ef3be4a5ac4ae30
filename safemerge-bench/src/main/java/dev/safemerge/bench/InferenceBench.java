package dev.safemerge.bench;

import dev.safemerge.model.Model;
import dev.safemerge.model.ModelLoadOptions;
import dev.safemerge.model.generate.KvCache;
import dev.safemerge.tensor.DType;
import dev.safemerge.tensor.SafetensorsFile;
import dev.safemerge.tensor.SafetensorsWriter;
import dev.safemerge.tensor.TensorSpec;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Stream;

/**
 * Inference speed of the engine on a synthetic Llama-3.2-1B-shaped BF16 checkpoint, each figure against its bound
 * measured in the same run: decode against memory bandwidth ÷ weight bytes per token, prefill against vector FMA
 * throughput ÷ 2·parameters FLOPs per token.
 *
 * <p>Usage: {@code safemerge-bench/run InferenceBench [--dir DIR] [--keep] [--layers N] [--decode-tokens N]
 * [--prefill-tokens N] [--repeats N]}
 */
public final class InferenceBench {

    private InferenceBench() {}

    record Shape(int vocab, int hidden, int intermediate, int layers, int heads, int kvHeads) {
        int headDim() {
            return hidden / heads;
        }

        long layerParameters() {
            long perLayer =
                    2L * hidden * heads * headDim() + 2L * hidden * kvHeads * headDim() + 3L * hidden * intermediate;
            return perLayer * layers;
        }

        /** Multiply-adds per token of a decode step: every layer and the output projection. */
        long parametersPerToken() {
            return layerParameters() + (long) vocab * hidden;
        }
    }

    public static void main(String[] args) throws Exception {
        BenchArgs options = BenchArgs.parse(
                args,
                Map.of(
                        "--dir",
                        Scratch.defaultDir("inference"),
                        "--layers",
                        16,
                        "--decode-tokens",
                        24,
                        "--prefill-tokens",
                        128,
                        "--repeats",
                        3),
                Set.of("--keep"));
        Path dir = options.path("--dir");
        boolean keep = options.flag("--keep");
        int layers = options.integer("--layers");
        int decodeTokens = options.integer("--decode-tokens");
        int prefillTokens = options.integer("--prefill-tokens");
        int repeats = options.integer("--repeats");
        Shape shape = new Shape(128256, 2048, 8192, layers, 32, 8);
        int threads = Runtime.getRuntime().availableProcessors();
        try {
            boolean reusable = Files.isRegularFile(dir.resolve("model.safetensors"))
                    && Files.isRegularFile(dir.resolve("config.json"))
                    && Files.readString(dir.resolve("config.json")).equals(config(shape));
            if (!reusable) {
                long start = System.nanoTime();
                writeCheckpoint(dir, shape);
                System.out.printf("wrote synthetic checkpoint %s in %.1f s%n", dir, (System.nanoTime() - start) / 1e9);
            }
            // the machine is shared, so each bound is measured right before the figure it bounds
            List<String> rows = new ArrayList<>();
            double prefillBound;
            try (Model model = Model.load(dir, ModelLoadOptions.defaults())) {
                long bytes = model.weightBytesPerToken();
                System.out.printf(
                        "model: %.2fB parameters per token, %.2f GB of weights read per decode step, %d threads%n",
                        shape.parametersPerToken() / 1e9, bytes / 1e9, threads);
                double flops = MachineBounds.fmaThroughput(threads, 3);
                // a prompt needs the layers for every token but the output projection only for its last one
                double prefillFlopsPerToken =
                        2.0 * shape.layerParameters() + 2.0 * shape.vocab() * shape.hidden() / prefillTokens;
                prefillBound = flops / prefillFlopsPerToken;
                double decodeComputeBound = flops / (2.0 * shape.parametersPerToken());
                double prefill = prefill(model, prefillTokens, repeats);
                rows.add(row("prefill " + prefillTokens + " tokens (bf16, in memory)", prefill, prefillBound, "FMA"));
                double decodeBound = bandwidth(threads) / bytes;
                double decode1 = decode(model, 1, decodeTokens, repeats);
                rows.add(row("decode batch 1 (bf16, in memory)", decode1, decodeBound, "bandwidth"));
                double batchBound = Math.min(16 * bandwidth(threads) / bytes, decodeComputeBound);
                double decode16 = decode(model, 16, decodeTokens, repeats);
                rows.add(row("decode batch 16 (bf16, in memory)", decode16, batchBound, "min(16x bandwidth, FMA)"));
            }
            try (Model mapped = Model.load(dir, ModelLoadOptions.defaults().withWeightsInMemory(false))) {
                double bound = bandwidth(threads) / mapped.weightBytesPerToken();
                rows.add(row(
                        "decode batch 1 (bf16, mapped)", decode(mapped, 1, decodeTokens, repeats), bound, "bandwidth"));
            }
            try (Model q8 =
                    Model.load(dir, ModelLoadOptions.defaults().withQuantization(ModelLoadOptions.Quantization.Q8))) {
                double bound = bandwidth(threads) / q8.weightBytesPerToken();
                rows.add(row("decode batch 1 (q8)", decode(q8, 1, decodeTokens, repeats), bound, "bandwidth"));
            }
            System.out.println();
            System.out.printf("%-42s %12s %12s %7s  %s%n", "measurement", "tokens/s", "bound", "ratio", "bound from");
            rows.forEach(System.out::println);
        } finally {
            if (!keep) {
                deleteTree(dir);
            }
        }
    }

    private static double bandwidth(int threads) throws Exception {
        double bytesPerSecond = MachineBounds.readBandwidth(1L << 30, threads, 3);
        System.out.printf("  read bandwidth %.1f GB/s%n", bytesPerSecond / 1e9);
        return bytesPerSecond;
    }

    private static String row(String name, double rate, double bound, String from) {
        return String.format("%-42s %12.2f %12.2f %7.2f  %s", name, rate, bound, rate / bound, from);
    }

    private static int[] prompt(int length, int salt) {
        int[] ids = new int[length];
        for (int i = 0; i < length; i++) {
            ids[i] = 1000 + (i * 7919 + salt * 104729) % 100_000;
        }
        return ids;
    }

    /** Median tokens/s of one prompt of {@code tokens} tokens in one forward step. */
    private static double prefill(Model model, int tokens, int repeats) {
        model.step(List.of(model.newCache(32)), List.of(prompt(32, 0)));
        double[] rates = new double[repeats];
        for (int r = 0; r < repeats; r++) {
            KvCache cache = model.newCache(tokens);
            long start = System.nanoTime();
            model.step(List.of(cache), List.of(prompt(tokens, r)));
            rates[r] = tokens / ((System.nanoTime() - start) / 1e9);
        }
        return MachineBounds.median(rates);
    }

    /** Median tokens/s of {@code batch} sequences decoding {@code steps} tokens each after a 16-token prompt. */
    private static double decode(Model model, int batch, int steps, int repeats) {
        double[] rates = new double[repeats];
        for (int r = -1; r < repeats; r++) {
            List<KvCache> caches = new ArrayList<>();
            List<int[]> prompts = new ArrayList<>();
            for (int b = 0; b < batch; b++) {
                caches.add(model.newCache(16 + steps));
                prompts.add(prompt(16, b));
            }
            float[] logits = model.step(caches, prompts);
            int vocab = model.spec().vocabSize();
            int warmup = r < 0 ? 3 : 1;
            long start = 0;
            for (int s = 0; s < steps + warmup; s++) {
                if (s == warmup) {
                    start = System.nanoTime();
                }
                List<int[]> next = new ArrayList<>();
                for (int b = 0; b < batch; b++) {
                    next.add(new int[] {argmax(logits, b * vocab, vocab)});
                }
                logits = model.step(caches, next);
            }
            if (r >= 0) {
                rates[r] = (double) batch * steps / ((System.nanoTime() - start) / 1e9);
            }
        }
        return MachineBounds.median(rates);
    }

    private static int argmax(float[] logits, int offset, int n) {
        int best = 0;
        for (int i = 1; i < n; i++) {
            if (logits[offset + i] > logits[offset + best]) {
                best = i;
            }
        }
        return best;
    }

    private static String config(Shape s) {
        return """
                {"architectures": ["LlamaForCausalLM"], "model_type": "llama", "vocab_size": %d,
                 "hidden_size": %d, "intermediate_size": %d, "num_hidden_layers": %d,
                 "num_attention_heads": %d, "num_key_value_heads": %d, "head_dim": %d,
                 "max_position_embeddings": 131072, "rms_norm_eps": 1e-5, "rope_theta": 500000.0,
                 "rope_scaling": {"rope_type": "llama3", "factor": 32.0, "low_freq_factor": 1.0,
                   "high_freq_factor": 4.0, "original_max_position_embeddings": 8192},
                 "tie_word_embeddings": true, "torch_dtype": "bfloat16", "bos_token_id": 128000,
                 "eos_token_id": 128001, "hidden_act": "silu"}
                """.formatted(s.vocab(), s.hidden(), s.intermediate(), s.layers(), s.heads(), s.kvHeads(), s.headDim());
    }

    /** A Llama 3.2 1B-shaped checkpoint (tied embeddings, GQA 32/8, llama3 rope) with random BF16 weights. */
    static void writeCheckpoint(Path dir, Shape s) throws IOException {
        Files.createDirectories(dir);
        Files.writeString(dir.resolve("config.json"), config(s));
        int q = s.heads() * s.headDim();
        int kv = s.kvHeads() * s.headDim();
        List<TensorSpec> specs = new ArrayList<>();
        specs.add(new TensorSpec("model.embed_tokens.weight", DType.BF16, new long[] {s.vocab(), s.hidden()}));
        specs.add(new TensorSpec("model.norm.weight", DType.BF16, new long[] {s.hidden()}));
        for (int l = 0; l < s.layers(); l++) {
            String p = "model.layers." + l + ".";
            specs.add(new TensorSpec(p + "input_layernorm.weight", DType.BF16, new long[] {s.hidden()}));
            specs.add(new TensorSpec(p + "post_attention_layernorm.weight", DType.BF16, new long[] {s.hidden()}));
            specs.add(new TensorSpec(p + "self_attn.q_proj.weight", DType.BF16, new long[] {q, s.hidden()}));
            specs.add(new TensorSpec(p + "self_attn.k_proj.weight", DType.BF16, new long[] {kv, s.hidden()}));
            specs.add(new TensorSpec(p + "self_attn.v_proj.weight", DType.BF16, new long[] {kv, s.hidden()}));
            specs.add(new TensorSpec(p + "self_attn.o_proj.weight", DType.BF16, new long[] {s.hidden(), q}));
            specs.add(
                    new TensorSpec(p + "mlp.gate_proj.weight", DType.BF16, new long[] {s.intermediate(), s.hidden()}));
            specs.add(new TensorSpec(p + "mlp.up_proj.weight", DType.BF16, new long[] {s.intermediate(), s.hidden()}));
            specs.add(
                    new TensorSpec(p + "mlp.down_proj.weight", DType.BF16, new long[] {s.hidden(), s.intermediate()}));
        }
        Path file = dir.resolve("model.safetensors");
        int chunk = 1 << 20;
        try (Arena arena = Arena.ofConfined();
                SafetensorsWriter writer = SafetensorsWriter.create(file, specs, Map.of("format", "pt"))) {
            MemorySegment buffer = arena.allocate(2L * chunk);
            long state = 0x9E3779B97F4A7C15L;
            for (TensorSpec spec : specs) {
                boolean norm = spec.shape().length == 1;
                long count = spec.elementCount();
                for (long done = 0; done < count; done += chunk) {
                    int n = (int) Math.min(chunk, count - done);
                    for (int i = 0; i < n; i++) {
                        state ^= state << 13;
                        state ^= state >>> 7;
                        state ^= state << 17;
                        // uniform in ±0.03 (norm weights near 1): bf16 is the top half of the float32 bits
                        float value = norm ? 1f : ((state >>> 40) / (float) (1 << 24) - 0.5f) * 0.06f;
                        buffer.setAtIndex(SafetensorsFile.SHORT_LE, i, (short) (Float.floatToRawIntBits(value) >>> 16));
                    }
                    writer.writeBytes(spec.name(), done * 2, buffer.asSlice(0, 2L * n));
                }
            }
            writer.finish();
        }
    }

    static void deleteTree(Path dir) throws IOException {
        if (!Files.exists(dir)) {
            return;
        }
        try (Stream<Path> paths = Files.walk(dir)) {
            for (Path p : paths.sorted(Comparator.reverseOrder()).toList()) {
                Files.delete(p);
            }
        }
    }
}
