package dev.safemerge.bench;

import dev.safemerge.tensor.ByteSizes;
import dev.safemerge.tensor.DType;
import dev.safemerge.tensor.FloatConversion;
import dev.safemerge.tensor.ModelDirectory;
import dev.safemerge.tensor.ModelWriter;
import dev.safemerge.tensor.TensorInfo;
import dev.safemerge.tensor.TensorSpec;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;

/**
 * Checkpoint I/O against the operating system's own tools, on a synthetic sharded BF16 checkpoint:
 *
 * <ul>
 *   <li>scan: open and validate the model directory (what {@code inspect} does), then decode every element to
 *       float32; bound: {@code cat} of the same files to /dev/null.
 *   <li>re-shard: read every tensor and write a model directory with another shard size through {@link ModelWriter}
 *       (index, SHA256SUMS, fsync, atomic rename); bound: {@code cp} of the same files followed by {@code sync} of
 *       the copies.
 * </ul>
 *
 * Each figure is bound time / subject time (1.0 = as fast as the bound), measured cold (page cache dropped before
 * both the bound and the subject; needs root) and warm (files read once before both). Usage:
 * {@code safemerge-bench/run CheckpointIoBench [--gib 4] [--dir DIR (default: the temp dir)] [--runs 3] [--threads 2] [--warm-only]}.
 * The scratch directory is deleted at the end.
 */
public final class CheckpointIoBench {
    private static final int ROWS = 4096;
    private static final int COLUMNS = 4096;

    private final Path dir;
    private final int threads;
    private final boolean warmOnly;

    private CheckpointIoBench(Path dir, int threads, boolean warmOnly) {
        this.dir = dir;
        this.threads = threads;
        this.warmOnly = warmOnly;
    }

    public static void main(String[] args) throws Exception {
        BenchArgs options = BenchArgs.parse(
                args,
                Map.of(
                        "--gib",
                        4,
                        "--dir",
                        Scratch.defaultDir("checkpoint-io"),
                        "--runs",
                        3,
                        "--threads",
                        Runtime.getRuntime().availableProcessors()),
                Set.of("--warm-only"));
        double gib = options.decimal("--gib");
        Path dir = options.path("--dir");
        int runs = options.integer("--runs");
        int threads = options.integer("--threads");
        boolean warmOnly = options.flag("--warm-only");
        CheckpointIoBench bench = new CheckpointIoBench(dir, threads, warmOnly);
        try {
            bench.run(gib, runs);
        } finally {
            deleteTree(dir);
        }
    }

    private void run(double gib, int runs) throws Exception {
        Files.createDirectories(dir);
        Path source = dir.resolve("source");
        int tensors = (int) Math.round(gib * (1L << 30) / (ROWS * (long) COLUMNS * 2));
        long start = System.nanoTime();
        makeCheckpoint(source, tensors);
        List<Path> files = weightFiles(source);
        long bytes = 0;
        for (Path file : files) {
            bytes += Files.size(file);
        }
        System.out.printf(
                Locale.ROOT,
                "checkpoint: %d BF16 tensors [%d, %d] in %d shards, %s, written in %.1f s; kernels %s, %d threads%n",
                tensors,
                ROWS,
                COLUMNS,
                files.size(),
                ByteSizes.format(bytes),
                (System.nanoTime() - start) / 1e9,
                FloatConversion.kernels(),
                threads);
        boolean canDrop = !warmOnly && dropCaches();
        System.out.println(
                canDrop
                        ? "page cache can be dropped: measuring cold and warm"
                        : "cannot drop the page cache: warm only");
        List<String> modes = canDrop ? List.of("cold", "warm") : List.of("warm");
        Map<String, List<double[]>> results = new java.util.LinkedHashMap<>();
        for (int run = 1; run <= runs; run++) {
            for (String mode : modes) {
                boolean cold = mode.equals("cold");
                prepare(cold, files);
                double catSeconds = time(() -> shell("cat " + quoted(files) + " > /dev/null"));
                prepare(cold, files);
                double scanSeconds = time(() -> scan(source));
                record(results, "scan " + mode, catSeconds, scanSeconds, bytes, run);

                Path copy = dir.resolve("copy");
                Files.createDirectories(copy);
                prepare(cold, files);
                double cpSeconds = time(() -> shell("cp " + quoted(files) + " " + copy + " && sync " + copy + "/*"));
                deleteTree(copy);
                Path resharded = dir.resolve("resharded");
                prepare(cold, files);
                double reshardSeconds = time(() -> reshard(source, resharded));
                deleteTree(resharded);
                record(results, "re-shard " + mode, cpSeconds, reshardSeconds, bytes, run);
            }
        }
        System.out.println();
        System.out.println("medians over " + runs + " runs (ratio = bound time / subject time):");
        for (Map.Entry<String, List<double[]>> entry : results.entrySet()) {
            double bound =
                    median(entry.getValue().stream().mapToDouble(r -> r[0]).toArray());
            double subject =
                    median(entry.getValue().stream().mapToDouble(r -> r[1]).toArray());
            double ratio = median(
                    entry.getValue().stream().mapToDouble(r -> r[0] / r[1]).toArray());
            System.out.printf(
                    Locale.ROOT,
                    "%-16s bound %6.2f s (%5.2f GB/s)  subject %6.2f s (%5.2f GB/s)  ratio %.2f%n",
                    entry.getKey(),
                    bound,
                    bytes / bound / 1e9,
                    subject,
                    bytes / subject / 1e9,
                    ratio);
        }
    }

    private static void record(
            Map<String, List<double[]>> results, String what, double bound, double subject, long bytes, int run) {
        results.computeIfAbsent(what, k -> new ArrayList<>()).add(new double[] {bound, subject});
        System.out.printf(
                Locale.ROOT,
                "run %d %-16s bound %6.2f s  subject %6.2f s  ratio %.2f  (subject %.2f GB/s)%n",
                run,
                what,
                bound,
                subject,
                bound / subject,
                bytes / subject / 1e9);
    }

    private void makeCheckpoint(Path source, int tensors) {
        List<TensorSpec> specs = new ArrayList<>();
        for (int i = 0; i < tensors; i++) {
            specs.add(new TensorSpec(
                    "model.layers." + i / 4 + ".mlp.w" + i % 4 + ".weight", DType.BF16, new long[] {ROWS, COLUMNS}));
        }
        float[] values = new float[ROWS * COLUMNS];
        Random random = new Random(1);
        for (int i = 0; i < values.length; i++) {
            values[i] = (float) random.nextGaussian() * 0.02f;
        }
        try (ModelWriter writer = ModelWriter.create(source, specs, ByteSizes.parse("2GB"), Map.of())) {
            parallel(specs.size(), i -> writer.writeFloats(specs.get(i).name(), values));
            writer.writeFile(
                    "config.json",
                    ("{\"architectures\":[\"LlamaForCausalLM\"],\"model_type\":\"llama\",\"vocab_size\":32000,"
                                    + "\"hidden_size\":4096,\"intermediate_size\":4096,\"num_hidden_layers\":"
                                    + Math.max(1, tensors / 4) + ",\"num_attention_heads\":32,"
                                    + "\"torch_dtype\":\"bfloat16\"}")
                            .getBytes(StandardCharsets.UTF_8));
            writer.commit();
        }
    }

    /** What inspect does (open, validate, list) plus decoding every element to float32. */
    private void scan(Path source) {
        try (ModelDirectory model = ModelDirectory.open(source)) {
            List<String> names = List.copyOf(model.tensorNames());
            long parameters = 0;
            for (String name : names) {
                parameters += model.info(name).elementCount();
            }
            double[] sums = new double[names.size()];
            parallel(names.size(), i -> {
                TensorInfo info = model.info(names.get(i));
                float[] buffer = new float[1 << 20];
                double sum = 0;
                for (long at = 0; at < info.elementCount(); at += buffer.length) {
                    int count = (int) Math.min(buffer.length, info.elementCount() - at);
                    model.readFloats(info.name(), at, buffer, 0, count);
                    sum += buffer[0] + buffer[count - 1];
                }
                sums[i] = sum;
            });
            if (parameters == 0 || Double.isNaN(Arrays.stream(sums).sum())) {
                throw new IllegalStateException("scan read nothing");
            }
        }
    }

    private void reshard(Path source, Path target) {
        try (ModelDirectory model = ModelDirectory.open(source)) {
            List<String> names = List.copyOf(model.tensorNames());
            List<TensorSpec> specs = names.stream()
                    .map(n -> new TensorSpec(
                            n, model.info(n).dtype(), model.info(n).shape()))
                    .toList();
            try (ModelWriter writer = ModelWriter.create(target, specs, ByteSizes.parse("1GB"), Map.of())) {
                long start = System.nanoTime();
                parallel(names.size(), i -> writer.writeBytes(names.get(i), 0, model.bytes(names.get(i))));
                writer.copyFile(source.resolve("config.json"), "config.json");
                long written = System.nanoTime();
                writer.commit();
                System.out.printf(
                        Locale.ROOT,
                        "  re-shard: writing %.2f s, commit (flush, hash, rename) %.2f s%n",
                        (written - start) / 1e9,
                        (System.nanoTime() - written) / 1e9);
            }
        }
    }

    private interface Task {
        void run(int index) throws Exception;
    }

    private void parallel(int count, Task task) {
        AtomicInteger next = new AtomicInteger();
        try (ExecutorService pool = Executors.newFixedThreadPool(threads)) {
            List<Future<?>> futures = new ArrayList<>();
            for (int t = 0; t < threads; t++) {
                futures.add(pool.submit(() -> {
                    for (int i = next.getAndIncrement(); i < count; i = next.getAndIncrement()) {
                        task.run(i);
                    }
                    return null;
                }));
            }
            for (Future<?> future : futures) {
                future.get();
            }
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    private interface Timed {
        void run() throws Exception;
    }

    private static double time(Timed work) throws Exception {
        long start = System.nanoTime();
        work.run();
        return (System.nanoTime() - start) / 1e9;
    }

    private static void prepare(boolean cold, List<Path> files) throws Exception {
        if (cold) {
            dropCaches();
        } else {
            shell("cat " + quoted(files) + " > /dev/null");
        }
    }

    private static boolean dropCaches() {
        try {
            shell("sync");
            Files.writeString(Path.of("/proc/sys/vm/drop_caches"), "3");
            return true;
        } catch (Exception e) {
            return false;
        }
    }

    private static void shell(String command) throws IOException, InterruptedException {
        Process process = new ProcessBuilder("bash", "-c", command).inheritIO().start();
        if (process.waitFor() != 0) {
            throw new IOException("failed: " + command);
        }
    }

    private static String quoted(List<Path> files) {
        return String.join(" ", files.stream().map(f -> "'" + f + "'").toList());
    }

    private static List<Path> weightFiles(Path model) throws IOException {
        try (Stream<Path> list = Files.list(model)) {
            return list.filter(p -> p.getFileName().toString().endsWith(".safetensors"))
                    .sorted()
                    .toList();
        }
    }

    private static double median(double[] values) {
        double[] sorted = values.clone();
        Arrays.sort(sorted);
        int n = sorted.length;
        return n % 2 == 1 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
    }

    private static void deleteTree(Path root) throws IOException {
        if (!Files.exists(root)) {
            return;
        }
        try (Stream<Path> walk = Files.walk(root)) {
            for (Path path : walk.sorted(java.util.Comparator.reverseOrder()).toList()) {
                Files.delete(path);
            }
        }
    }
}
