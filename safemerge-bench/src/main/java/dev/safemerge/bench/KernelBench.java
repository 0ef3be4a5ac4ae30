package dev.safemerge.bench;

import dev.safemerge.model.Model;
import dev.safemerge.model.ModelLoadOptions;
import dev.safemerge.tensor.kernel.Kernels;
import dev.safemerge.tensor.kernel.Matrix;
import dev.safemerge.tensor.kernel.WeightFormat;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The inference kernels alone and the whole forward step, on {@link InferenceBench}'s shapes and synthetic weights
 * (by default SmolLM2-135M's thin one, hidden 576, 30 layers, and Llama-3.2-1B's, hidden 2048). Each figure is a ratio to its bound measured in the same run: one input row (a decode step) to
 * read bandwidth ÷ weight bytes, B input rows to min(B × that, FMA rate ÷ 2·parameters), a prompt to the FMA rate.
 *
 * <p>Kernel rows multiply every weight matrix of the model (all layers' projections and the output projection, BF16
 * or Q8, off-heap, packed as a loaded model keeps them) by B input rows with {@link Kernels#matmul}, nothing else; step rows run {@link Model#step} on a
 * synthetic checkpoint of the same shape (norms, rope, attention, KV cache, threads: everything a token costs). The gap
 * between the two is the per-layer overhead outside the products.
 *
 * <p>One-thread rows multiply the same matrices on the calling thread alone and count its CPU time, not the wall
 * clock: GFLOP per CPU-second against the FMA rate of one thread. A shared machine's other work slows the wall clock
 * far more than it slows a thread's own seconds, so these rows compare two builds run one after the other.
 *
 * <p>Usage: {@code safemerge-bench/run KernelBench [--shapes 135m,0.5b,1b] [--repeats N] [--steps N] [--prefill-tokens N]
 * [--one-thread-batches 4,10,16] [--dir DIR]}; step rows are measured for the 135 M shape only unless {@code --steps-1b} is given (InferenceBench
 * measures that shape's steps).
 */
public final class KernelBench {
    private KernelBench() {}

    public static void main(String[] args) throws Exception {
        BenchArgs options = BenchArgs.parse(
                args,
                Map.of(
                        "--shapes",
                        "135m,1b",
                        "--repeats",
                        3,
                        "--steps",
                        8,
                        "--prefill-tokens",
                        128,
                        "--dir",
                        Scratch.defaultDir("kernel"),
                        "--one-thread-batches",
                        "4,10,16"),
                Set.of("--steps-1b"));
        int repeats = options.integer("--repeats");
        int steps = options.integer("--steps");
        int prefillTokens = options.integer("--prefill-tokens");
        int threads = Runtime.getRuntime().availableProcessors();
        List<String> rows = new ArrayList<>();
        for (String name : options.text("--shapes").split(",")) {
            InferenceBench.BenchShape benchShape = InferenceBench.SHAPES.get(name.strip());
            if (benchShape == null) {
                throw new IllegalArgumentException("--shapes: unknown shape " + name);
            }
            InferenceBench.Shape shape = benchShape.dims();
            System.out.printf(
                    "shape %s: %.0f M parameters per token, %d threads%n",
                    name, shape.parametersPerToken() / 1e6, threads);
            kernelRows(name, shape, repeats, prefillTokens, threads, options.text("--one-thread-batches"), rows);
            if (name.strip().equals("135m") || options.flag("--steps-1b")) {
                stepRows(name, shape, options.path("--dir"), repeats, steps, prefillTokens, threads, rows);
            }
        }
        System.out.println();
        System.out.printf("%-46s %12s %12s %7s  %s%n", "measurement", "tokens/s", "bound", "ratio", "bound from");
        rows.forEach(System.out::println);
    }

    /** Every weight matrix of the shape times B input rows, through the kernels only. */
    private static void kernelRows(
            String name,
            InferenceBench.Shape shape,
            int repeats,
            int prefillTokens,
            int threads,
            String oneThreadBatches,
            List<String> rows)
            throws Exception {
        try (Arena arena = Arena.ofShared()) {
            List<Matrix> bf16 = matrices(shape, arena);
            List<Matrix> q8 = new ArrayList<>();
            for (Matrix m : bf16) {
                // quantized as a loaded model quantizes them: packed where the kernels multiply that layout faster
                q8.add(m.quantizeQ8(arena, Kernels.get().multipliesPackedFast()));
            }
            double flops = 2.0 * shape.parametersPerToken();
            formatRows(name, "bf16", bf16, flops, prefillTokens, threads, repeats, rows);
            formatRows(name, "q8", q8, flops, prefillTokens, threads, repeats, rows);
            oneThreadRows(name, "bf16", bf16, oneThreadBatches, repeats, rows);
            oneThreadRows(name, "q8", q8, oneThreadBatches, repeats, rows);
        }
    }

    /**
     * One format's matrices times 1, 16 and 64 input rows (against the bandwidth and FMA bounds for their bytes) and
     * times a prompt of {@code prefillTokens} rows (against the FMA bound).
     */
    private static void formatRows(
            String name,
            String format,
            List<Matrix> matrices,
            double flops,
            int prefillTokens,
            int threads,
            int repeats,
            List<String> rows)
            throws Exception {
        long bytes = 0;
        for (Matrix m : matrices) {
            bytes += m.byteSize();
        }
        MachineBounds.ProbeChain probes = new MachineBounds.ProbeChain(threads);
        for (int batch : new int[] {1, 16, 64}) {
            double rate = tokensPerSecond(matrices, batch, repeats);
            double bound = probes.around().decodeBound(batch, bytes, flops);
            rows.add(row(
                    name + " kernels batch " + batch + " (" + format + ")",
                    rate,
                    bound,
                    batch == 1 ? "bandwidth" : "min(" + batch + "x bandwidth, FMA)"));
        }
        double prefill = tokensPerSecond(matrices, prefillTokens, repeats);
        rows.add(row(
                name + " kernels " + prefillTokens + " rows (" + format + ")",
                prefill,
                probes.around().fmaFlops() / flops,
                "FMA"));
    }

    /**
     * The shape's matrices in one format ({@code matrices}, as {@link #kernelRows} made them) times B input rows on
     * this thread only, for each B of {@code batches}: the median of {@code repeats} passes of at least one CPU-second
     * each, after two passes that let the JIT compile.
     */
    private static void oneThreadRows(
            String name, String format, List<Matrix> matrices, String batches, int repeats, List<String> rows)
            throws Exception {
        ThreadMXBean cpu = ManagementFactory.getThreadMXBean();
        double fma = MachineBounds.fmaThroughput(1, 3);
        int widest = matrices.stream()
                .mapToInt(m -> Math.max(m.rows(), m.cols()))
                .max()
                .orElseThrow();
        for (String text : batches.split(",")) {
            int batch = Integer.parseInt(text.strip());
            float[] x = new float[batch * widest];
            Arrays.fill(x, 0.5f);
            float[] out = new float[batch * widest];
            double flops = 0;
            for (Matrix m : matrices) {
                flops += 2.0 * m.rows() * m.cols() * batch;
            }
            double[] rates = new double[repeats];
            for (int r = -2; r < repeats; r++) {
                long start = cpu.getCurrentThreadCpuTime();
                int passes = 0;
                while (cpu.getCurrentThreadCpuTime() - start < 1_000_000_000L) {
                    for (Matrix m : matrices) {
                        Kernels.get().matmulRows(m, x, batch, out, 0, m.rows());
                    }
                    passes++;
                }
                if (r >= 0) {
                    rates[r] = flops * passes / ((cpu.getCurrentThreadCpuTime() - start) / 1e9);
                }
            }
            double rate = MachineBounds.median(rates);
            rows.add(row(
                    name + " kernels batch " + batch + ", one thread (" + format + ")",
                    rate / 1e9,
                    fma / 1e9,
                    "GFLOP per CPU-second, one thread's FMA"));
        }
    }

    /** The model's weight matrices (q, k, v, o, gate, up, down of every layer, then the output projection). */
    private static List<Matrix> matrices(InferenceBench.Shape s, Arena arena) {
        int q = s.heads() * s.headDim();
        int kv = s.kvHeads() * s.headDim();
        int[][] layer = {
            {q, s.hidden()},
            {kv, s.hidden()},
            {kv, s.hidden()},
            {s.hidden(), q},
            {s.intermediate(), s.hidden()},
            {s.intermediate(), s.hidden()},
            {s.hidden(), s.intermediate()}
        };
        List<Matrix> matrices = new ArrayList<>();
        SyntheticWeights weights = new SyntheticWeights();
        for (int l = 0; l < s.layers(); l++) {
            for (int[] shape : layer) {
                matrices.add(randomBf16(shape[0], shape[1], weights, arena));
            }
        }
        matrices.add(randomBf16(s.vocab(), s.hidden(), weights, arena));
        return matrices;
    }

    /** Random BF16 weights kept as a model loaded into memory keeps them (packed where the kernels prefer it). */
    private static Matrix randomBf16(int rows, int cols, SyntheticWeights weights, Arena arena) {
        long count = (long) rows * cols;
        try (Arena scratch = Arena.ofConfined()) {
            MemorySegment data = scratch.allocate(2 * count, 64);
            weights.fill(data, count);
            Matrix stored = new Matrix(WeightFormat.BF16, rows, cols, data, null);
            return Kernels.get().multipliesPackedFast() ? stored.packTo(arena) : stored.copyTo(arena);
        }
    }

    /** Median input rows per second of one pass over every matrix with {@code batch} rows each. */
    private static double tokensPerSecond(List<Matrix> matrices, int batch, int repeats) {
        int widest = 0;
        int tallest = 0;
        for (Matrix m : matrices) {
            widest = Math.max(widest, m.cols());
            tallest = Math.max(tallest, m.rows());
        }
        float[] x = new float[batch * widest];
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) Math.sin(i);
        }
        float[] out = new float[batch * tallest];
        Kernels kernels = Kernels.get();
        double[] rates = new double[repeats];
        for (int r = -1; r < repeats; r++) {
            long start = System.nanoTime();
            for (Matrix m : matrices) {
                kernels.matmul(m, x, batch, out);
            }
            if (r >= 0) {
                rates[r] = batch / ((System.nanoTime() - start) / 1e9);
            }
        }
        return MachineBounds.median(rates);
    }

    /** Prefill and decode through {@link Model#step} on a synthetic checkpoint of the shape. */
    private static void stepRows(
            String name,
            InferenceBench.Shape shape,
            Path dir,
            int repeats,
            int steps,
            int prefillTokens,
            int threads,
            List<String> rows)
            throws Exception {
        Path checkpoint = dir.resolve(name.strip());
        try {
            InferenceBench.writeCheckpoint(checkpoint, shape);
            try (Model model = Model.load(checkpoint, ModelLoadOptions.defaults())) {
                long bytes = model.weightBytesPerToken();
                double prefillFlops =
                        2.0 * shape.layerParameters() + 2.0 * shape.vocab() * shape.hidden() / prefillTokens;
                MachineBounds.ProbeChain probes = new MachineBounds.ProbeChain(threads);
                double prefill = InferenceBench.prefill(model, prefillTokens, repeats);
                rows.add(row(
                        name + " step prefill " + prefillTokens + " tokens (bf16)",
                        prefill,
                        probes.around().fmaFlops() / prefillFlops,
                        "FMA"));
                double decodeFlops = 2.0 * shape.parametersPerToken();
                for (int batch : new int[] {1, 16, 64}) {
                    double rate = InferenceBench.decode(model, batch, steps, repeats);
                    double bound = probes.around().decodeBound(batch, bytes, decodeFlops);
                    rows.add(row(
                            name + " step decode batch " + batch + " (bf16)",
                            rate,
                            bound,
                            batch == 1 ? "bandwidth" : "min(" + batch + "x bandwidth, FMA)"));
                }
            }
            try (Model q8 = Model.load(
                    checkpoint, ModelLoadOptions.defaults().withQuantization(ModelLoadOptions.Quantization.Q8))) {
                MachineBounds.ProbeChain probes = new MachineBounds.ProbeChain(threads);
                double rate = InferenceBench.decode(q8, 1, steps, repeats);
                rows.add(row(
                        name + " step decode batch 1 (q8)",
                        rate,
                        probes.around().bandwidthBytes() / q8.weightBytesPerToken(),
                        "bandwidth"));
            }
        } finally {
            InferenceBench.deleteTree(checkpoint);
        }
    }

    private static String row(String name, double rate, double bound, String from) {
        return String.format("%-46s %12.2f %12.2f %7.2f  %s", name, rate, bound, rate / bound, from);
    }
}
