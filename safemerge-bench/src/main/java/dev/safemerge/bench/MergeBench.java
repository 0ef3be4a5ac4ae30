package dev.safemerge.bench;

import dev.safemerge.merge.Merger;
import dev.safemerge.tensor.DType;
import dev.safemerge.tensor.ModelWriter;
import dev.safemerge.tensor.TensorSpec;
import java.io.IOException;
import java.io.PrintWriter;
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.stream.Stream;

/**
 * Merge speed against the I/O bound measured in the same run: two synthetic BF16 checkpoints of {@code --gib} GiB
 * each, merged with linear, ties and dare_ties by default (also task_arithmetic, slerp at t = 0.5 and the other
 * methods of the TIES/DARE family with weight 1 and density 0.5); the bound is reading both inputs with {@code cat > /dev/null} plus
 * writing an output of the same size with {@code cp} and {@code sync}. Reported: bound time / merge time (1.0 = as
 * fast as plain file copies). Each method is first merged {@code --warmup} times untimed, so that the JIT has
 * compiled the kernels before the timed runs. Each round measures the bound, then merges with every method, starting
 * one method later than the round before; {@code --settle S} pauses S seconds before each measurement.
 *
 * <p>Usage: {@code safemerge-bench/run MergeBench [--gib 2] [--runs 3] [--threads 2] [--dir DIR (default: the temp dir)]
 * [--methods linear,ties,dare_ties] [--warmup 1] [--settle 0] [--no-bound] [--keep]}
 */
public final class MergeBench {
    private static final int ROWS = 4096;
    private static final int COLS = 4096;

    private MergeBench() {}

    public static void main(String[] args) throws Exception {
        Map<String, String> options = options(args);
        double gib = Double.parseDouble(options.getOrDefault("--gib", "2"));
        int runs = Integer.parseInt(options.getOrDefault("--runs", "3"));
        int threads = Integer.parseInt(options.getOrDefault("--threads", "2"));
        Path dir = (options.containsKey("--dir") ? Path.of(options.get("--dir")) : Scratch.defaultDir("merge"))
                .resolve("merge-bench");
        List<String> methods = List.of(
                options.getOrDefault("--methods", "linear,ties,dare_ties").split(","));
        boolean bound = !options.containsKey("--no-bound");
        int warmups = Integer.parseInt(options.getOrDefault("--warmup", "1"));
        long settleMillis = (long) (1000 * Double.parseDouble(options.getOrDefault("--settle", "0")));
        deleteTree(dir);
        Files.createDirectories(dir);
        try {
            int tensors = (int) Math.round(gib * (1L << 30) / ((long) ROWS * COLS * 2));
            long start = System.nanoTime();
            writeCheckpoint(dir.resolve("base"), tensors, 1);
            writeCheckpoint(dir.resolve("tuned"), tensors, 2);
            System.out.printf(
                    Locale.ROOT,
                    "checkpoints: 2 x %d tensors of %dx%d BF16 (%.2f GiB each), written in %.1f s%n",
                    tensors,
                    ROWS,
                    COLS,
                    tensors * (double) ROWS * COLS * 2 / (1L << 30),
                    (System.nanoTime() - start) / 1e9);
            // Untimed merges first, so that the timed runs measure compiled code rather than the JIT at work.
            for (int i = 0; i < warmups; i++) {
                for (String method : methods) {
                    System.out.printf(
                            Locale.ROOT, "warm-up %-10s %.2f s (not counted)%n", method, merge(dir, method, threads));
                }
            }
            Map<String, List<Double>> ratios = new LinkedHashMap<>();
            for (int run = 0; run < runs; run++) {
                settle(settleMillis);
                double boundSeconds = bound ? ioBound(dir) : Double.NaN;
                // The merge right after the bound's copy runs slower on this kind of VM, so each round starts one
                // method later and every method takes that place equally often.
                for (int slot = 0; slot < methods.size(); slot++) {
                    String method = methods.get((run + slot) % methods.size());
                    settle(settleMillis);
                    double seconds = merge(dir, method, threads);
                    double ratio = boundSeconds / seconds;
                    ratios.computeIfAbsent(method, k -> new ArrayList<>()).add(ratio);
                    System.out.printf(
                            Locale.ROOT,
                            "run %d %-10s merge %.2f s, I/O bound %.2f s, ratio %.2f%s%n",
                            run + 1,
                            method,
                            seconds,
                            boundSeconds,
                            ratio,
                            slot == 0 ? " (first after the bound)" : "");
                }
            }
            for (Map.Entry<String, List<Double>> entry : ratios.entrySet()) {
                System.out.printf(
                        Locale.ROOT,
                        "median %-10s ratio %.2f of the I/O bound over %d runs %s%n",
                        entry.getKey(),
                        median(entry.getValue()),
                        entry.getValue().size(),
                        entry.getValue());
            }
        } finally {
            if (!options.containsKey("--keep")) {
                deleteTree(dir);
            }
        }
    }

    private static void settle(long millis) throws InterruptedException {
        if (millis > 0) {
            Thread.sleep(millis);
        }
    }

    private static Map<String, String> options(String[] args) {
        Map<String, String> options = new LinkedHashMap<>();
        for (int i = 0; i < args.length; i++) {
            if (i + 1 < args.length && !args[i + 1].startsWith("--")) {
                options.put(args[i], args[++i]);
            } else {
                options.put(args[i], "");
            }
        }
        return options;
    }

    /** Synthetic weights: base values around 0.02·N(0,1)-like noise, the tuned model a small perturbation. */
    private static void writeCheckpoint(Path path, int tensors, int variant) {
        List<TensorSpec> specs = new ArrayList<>();
        for (int i = 0; i < tensors; i++) {
            specs.add(new TensorSpec("model.layers." + i + ".mlp.up_proj.weight", DType.BF16, new long[] {ROWS, COLS}));
        }
        try (ModelWriter writer = ModelWriter.create(path, specs, 5_000_000_000L, Map.of())) {
            float[] values = new float[ROWS * COLS];
            for (int i = 0; i < tensors; i++) {
                long state = 0x9E3779B97F4A7C15L * (i + 1);
                for (int j = 0; j < values.length; j++) {
                    state = state * 6364136223846793005L + 1442695040888963407L;
                    float base = ((state >>> 40) / (float) (1 << 24) - 0.5f) * 0.04f;
                    float delta = (((state >>> 16) & 0xffff) / 65536f - 0.5f) * 0.002f;
                    values[j] = variant == 1 ? base : base + delta;
                }
                writer.writeFloats(specs.get(i).name(), values);
            }
            writer.writeFile(
                    "config.json",
                    ("{\"architectures\":[\"LlamaForCausalLM\"],\"model_type\":\"llama\",\"hidden_size\":" + COLS
                                    + ",\"intermediate_size\":" + ROWS + ",\"num_hidden_layers\":" + tensors
                                    + ",\"num_attention_heads\":32,\"vocab_size\":32000,\"torch_dtype\":\"bfloat16\"}")
                            .getBytes(StandardCharsets.UTF_8));
            writer.commit();
        }
    }

    private static double merge(Path dir, String method, int threads) throws IOException {
        String models = switch (method) {
            case "linear" ->
                "models:\n  - model: base\n    parameters: {weight: 0.5}\n"
                        + "  - model: tuned\n    parameters: {weight: 0.5}\n";
            case "task_arithmetic" -> "base_model: base\nmodels:\n  - model: tuned\n    parameters: {weight: 0.5}\n";
            case "slerp" -> "base_model: base\nmodels:\n  - model: base\n  - model: tuned\nparameters: {t: 0.5}\n";
            default -> "base_model: base\nmodels:\n  - model: tuned\n    parameters: {weight: 1.0, density: 0.5}\n";
        };
        Path config = dir.resolve(method + ".yml");
        Files.writeString(config, "merge_method: " + method + "\n" + models);
        Path out = dir.resolve("out-" + method);
        deleteTree(out);
        long cpuStart = processCpuNanos();
        long start = System.nanoTime();
        Merger.run(
                config,
                Merger.Options.into(out)
                        .seed(1)
                        .threads(threads)
                        .log(new PrintWriter(System.err, true, StandardCharsets.UTF_8))
                        .build());
        double seconds = (System.nanoTime() - start) / 1e9;
        System.out.printf(
                Locale.ROOT,
                "  %s: %.2f s, %.2f s of CPU (all threads: merge, hashing, flushing, JIT, GC)%n",
                method,
                seconds,
                (processCpuNanos() - cpuStart) / 1e9);
        deleteTree(out);
        return seconds;
    }

    /** Reads both inputs and writes an output of the same size as one input, with plain tools. */
    private static double ioBound(Path dir) throws IOException, InterruptedException {
        Path copy = dir.resolve("bound-copy");
        deleteTree(copy);
        Files.createDirectories(copy);
        long start = System.nanoTime();
        sh("cat " + dir.resolve("base") + "/*.safetensors " + dir.resolve("tuned") + "/*.safetensors > /dev/null");
        sh("cp " + dir.resolve("base") + "/*.safetensors " + copy + "/ && sync");
        double seconds = (System.nanoTime() - start) / 1e9;
        deleteTree(copy);
        return seconds;
    }

    private static void sh(String command) throws IOException, InterruptedException {
        Process process = new ProcessBuilder("bash", "-c", command).inheritIO().start();
        if (process.waitFor() != 0) {
            throw new IOException("failed: " + command);
        }
    }

    /** CPU time of this process, which tells compute from waiting when the machine is shared. */
    private static long processCpuNanos() {
        return ((com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean())
                .getProcessCpuTime();
    }

    private static double median(List<Double> values) {
        double[] sorted =
                values.stream().mapToDouble(Double::doubleValue).sorted().toArray();
        return sorted.length % 2 == 1
                ? sorted[sorted.length / 2]
                : (sorted[sorted.length / 2 - 1] + sorted[sorted.length / 2]) / 2;
    }

    private static void deleteTree(Path path) throws IOException {
        if (!Files.exists(path)) {
            return;
        }
        try (Stream<Path> walk = Files.walk(path)) {
            for (Path p : walk.sorted(Comparator.reverseOrder()).toList()) {
                Files.delete(p);
            }
        }
    }
}
