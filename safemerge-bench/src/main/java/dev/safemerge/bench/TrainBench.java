package dev.safemerge.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.safemerge.model.ModelConfig;
import dev.safemerge.model.ModelSpec;
import dev.safemerge.model.train.AdamW;
import dev.safemerge.model.train.FrozenMatrix;
import dev.safemerge.model.train.LoraSettings;
import dev.safemerge.model.train.Parameter;
import dev.safemerge.model.train.TrainableModel;
import dev.safemerge.model.train.WeightSource;
import dev.safemerge.tensor.JsonMappers;
import dev.safemerge.tensor.kernel.KernelPool;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;

/**
 * Training speed of a ~20M-parameter Llama-shaped model (vocab 8000, hidden 384, 8 layers, 6 heads, MLP 1024)
 * with LoRA on q_proj,v_proj (r 8), against PyTorch on the CPU with PEFT doing the same steps on a transformers
 * LlamaForCausalLM of the same shapes (src/main/python/train_bench_peft.py), measured alternately in the same run.
 * A step is forward, backward, gradient clipping and AdamW over a batch of 4 sequences of 256 tokens, loss on every
 * position.
 *
 * <p>Usage: {@code safemerge-bench/run TrainBench [--threads 2] [--runs 3] [--steps 5] [--python PYTHON]} from
 * the repository root. PYTHON is the environment of tools/goldens/README.md (torch, transformers, PEFT), by default
 * {@code $SAFEMERGE_GOLDENS_PYTHON}, else /tmp/goldens-venv/bin/python; where it cannot import them the PyTorch row
 * is skipped with a message and only Java is measured. Prints tokens/s of both and their ratio (medians over runs).
 */
public final class TrainBench {
    private TrainBench() {}

    private static final int VOCAB = 8000;
    private static final int HIDDEN = 384;
    private static final int INTERMEDIATE = 1024;
    private static final int LAYERS = 8;
    private static final int HEADS = 6;
    private static final int BATCH = 4;
    private static final int SEQ = 256;
    private static final int RANK = 8;

    public static void main(String[] args) throws IOException, InterruptedException {
        BenchArgs options = BenchArgs.parse(
                args,
                Map.of(
                        "--threads",
                        2,
                        "--runs",
                        3,
                        "--steps",
                        5,
                        "--warmup",
                        2,
                        "--python",
                        System.getenv().getOrDefault("SAFEMERGE_GOLDENS_PYTHON", "/tmp/goldens-venv/bin/python"),
                        "--script",
                        "safemerge-bench/src/main/python/train_bench_peft.py"),
                Set.of());
        int threads = options.integer("--threads");
        int runs = options.integer("--runs");
        int steps = options.integer("--steps");
        int warmup = options.integer("--warmup");
        String python = options.text("--python");
        String script = options.text("--script");
        KernelPool.setThreads(threads);
        TrainableModel model = model();
        long parameters = (long) VOCAB * HIDDEN * 2
                + (long) LAYERS * (4L * HIDDEN * HIDDEN + 3L * HIDDEN * INTERMEDIATE + 2L * HIDDEN)
                + HIDDEN;
        System.out.printf(
                Locale.ROOT,
                "TrainBench: Llama-shaped, %.1fM parameters, LoRA r%d on q_proj,v_proj, batch %d x %d tokens, %d"
                        + " threads%n",
                parameters / 1e6,
                RANK,
                BATCH,
                SEQ,
                threads);
        String missing = missingTools(python);
        if (missing != null) {
            System.out.println("PyTorch + PEFT row skipped: " + missing);
        }
        double[] java = new double[runs];
        double[] torch = new double[runs];
        for (int run = 0; run < runs; run++) {
            java[run] = javaTokensPerSecond(model, warmup, steps);
            if (missing != null) {
                System.out.printf(Locale.ROOT, "run %d: java %.0f tok/s%n", run + 1, java[run]);
                continue;
            }
            torch[run] = torchTokensPerSecond(python, script, threads, warmup, steps);
            System.out.printf(
                    Locale.ROOT,
                    "run %d: java %.0f tok/s, pytorch %.0f tok/s, ratio %.2f%n",
                    run + 1,
                    java[run],
                    torch[run],
                    java[run] / torch[run]);
        }
        double javaMedian = median(java);
        if (missing != null) {
            System.out.printf(Locale.ROOT, "median: java %.0f tok/s (no PyTorch + PEFT anchor)%n", javaMedian);
            return;
        }
        double torchMedian = median(torch);
        System.out.printf(
                Locale.ROOT,
                "median: java %.0f tok/s, pytorch %.0f tok/s, java/pytorch %.2f%n",
                javaMedian,
                torchMedian,
                javaMedian / torchMedian);
    }

    /** Null when {@code python} imports torch, transformers and PEFT, else why not. */
    static String missingTools(String python) throws InterruptedException {
        try {
            Process process = new ProcessBuilder(python, "-c", "import torch, transformers, peft")
                    .redirectErrorStream(true)
                    .start();
            String output;
            try (InputStream in = process.getInputStream()) {
                output = new String(in.readAllBytes(), StandardCharsets.UTF_8).strip();
            }
            if (process.waitFor() == 0) {
                return null;
            }
            String last = output.lines().reduce((a, b) -> b).orElse("exit status " + process.exitValue());
            return python + " cannot import torch, transformers and PEFT (" + last
                    + "); set --python or SAFEMERGE_GOLDENS_PYTHON to the environment of tools/goldens/README.md";
        } catch (IOException e) {
            return python + " does not run (" + e.getMessage()
                    + "); set --python or SAFEMERGE_GOLDENS_PYTHON to the environment of tools/goldens/README.md";
        }
    }

    static TrainableModel model() {
        ObjectNode config = JsonMappers.plain().createObjectNode();
        config.putArray("architectures").add("LlamaForCausalLM");
        config.put("model_type", "llama");
        config.put("vocab_size", VOCAB);
        config.put("hidden_size", HIDDEN);
        config.put("intermediate_size", INTERMEDIATE);
        config.put("num_hidden_layers", LAYERS);
        config.put("num_attention_heads", HEADS);
        config.put("num_key_value_heads", HEADS);
        config.put("rms_norm_eps", 1e-5);
        config.put("max_position_embeddings", 2048);
        config.put("tie_word_embeddings", false);
        ModelSpec spec = ModelSpec.from(ModelConfig.fromJson(config, "TrainBench config"), "TrainBench config", null);
        SplittableRandom random = new SplittableRandom(0);
        WeightSource weights = new WeightSource() {
            @Override
            public boolean contains(String name) {
                return true;
            }

            @Override
            public FrozenMatrix matrix(String name, int rows, int cols) {
                float[] values = new float[rows * cols];
                double scale = name.contains("embed") ? 0.5 : 1 / Math.sqrt(cols);
                for (int i = 0; i < values.length; i++) {
                    values[i] = (float) (random.nextGaussian() * scale);
                }
                return FrozenMatrix.ofFloats(rows, cols, values);
            }

            @Override
            public float[] vector(String name, int length) {
                float[] ones = new float[length];
                Arrays.fill(ones, 1f);
                return ones;
            }
        };
        TrainableModel model = TrainableModel.withLora(
                spec, weights, new LoraSettings(RANK, 16, 0, false, Set.of("q_proj", "v_proj")), 1);
        for (Parameter p : model.parameters()) {
            if (p.name().contains("lora_B")) {
                for (int i = 0; i < p.size(); i++) {
                    p.values()[i] = (float) (random.nextGaussian() * 0.01);
                }
            }
        }
        return model;
    }

    static double javaTokensPerSecond(TrainableModel model, int warmup, int steps) {
        SplittableRandom random = new SplittableRandom(2);
        List<TrainableModel.Sequence> batch = new ArrayList<>();
        for (int b = 0; b < BATCH; b++) {
            int[] tokens = random.ints(SEQ + 1, 0, VOCAB).toArray();
            batch.add(new TrainableModel.Sequence(Arrays.copyOf(tokens, SEQ), Arrays.copyOfRange(tokens, 1, SEQ + 1)));
        }
        AdamW optimizer = new AdamW(model.parameters(), AdamW.Settings.DEFAULTS);
        double[] seconds = new double[steps];
        for (int step = 0; step < warmup + steps; step++) {
            long start = System.nanoTime();
            for (Parameter p : model.parameters()) {
                p.zeroGrad();
            }
            model.forwardBackward(batch, 1f / (BATCH * SEQ), step);
            AdamW.clipGradNorm(model.parameters(), 1.0);
            optimizer.step(1e-4);
            if (step >= warmup) {
                seconds[step - warmup] = (System.nanoTime() - start) / 1e9;
            }
        }
        return BATCH * SEQ / median(seconds);
    }

    static double torchTokensPerSecond(String python, String script, int threads, int warmup, int steps)
            throws IOException, InterruptedException {
        Process process = new ProcessBuilder(
                        python,
                        Path.of(script).toString(),
                        "--vocab",
                        Integer.toString(VOCAB),
                        "--hidden",
                        Integer.toString(HIDDEN),
                        "--intermediate",
                        Integer.toString(INTERMEDIATE),
                        "--layers",
                        Integer.toString(LAYERS),
                        "--heads",
                        Integer.toString(HEADS),
                        "--kv-heads",
                        Integer.toString(HEADS),
                        "--batch",
                        Integer.toString(BATCH),
                        "--seq",
                        Integer.toString(SEQ),
                        "--rank",
                        Integer.toString(RANK),
                        "--targets",
                        "q_proj,v_proj",
                        "--threads",
                        Integer.toString(threads),
                        "--warmup",
                        Integer.toString(warmup),
                        "--steps",
                        Integer.toString(steps))
                .redirectError(ProcessBuilder.Redirect.INHERIT)
                .start();
        String output;
        try (InputStream in = process.getInputStream()) {
            output = new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
        if (process.waitFor() != 0) {
            throw new IllegalStateException("the PyTorch + PEFT benchmark failed: " + output);
        }
        JsonNode result = JsonMappers.plain()
                .readTree(output.strip().lines().reduce((a, b) -> b).orElseThrow());
        System.out.printf(
                Locale.ROOT,
                "  pytorch %s, transformers %s, peft %s, %d threads%n",
                result.get("torch").asText(),
                result.get("transformers").asText(),
                result.get("peft").asText(),
                result.get("threads").asInt());
        return result.get("tokens_per_second").asDouble();
    }

    static double median(double[] values) {
        double[] sorted = values.clone();
        Arrays.sort(sorted);
        return sorted[sorted.length / 2];
    }
}
