package dev.safemerge.bench;

import dev.safemerge.tensor.ConversionKernels;
import dev.safemerge.tensor.ScalarConversionKernels;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.Arrays;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.Set;

/**
 * BF16/F16 conversion kernels (vectorized and their scalar twin) against a copy of the same float32 bytes
 * between the same kinds of memory (native segment and heap array), the bound for a conversion that has to write
 * every float. Usage: {@code safemerge-bench/run ConversionKernelsBench [--elements 1048576] [--runs 7]}.
 */
public final class ConversionKernelsBench {
    private static final ValueLayout.OfFloat FLOAT_LE =
            ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private ConversionKernelsBench() {}

    private interface Kernel {
        void run();
    }

    public static void main(String[] args) {
        BenchArgs options = BenchArgs.parse(args, Map.of("--elements", 1 << 20, "--runs", 7), Set.of());
        int n = options.integer("--elements");
        int runs = options.integer("--runs");
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment halves = arena.allocate(2L * n, 64);
            MemorySegment floats32 = arena.allocate(4L * n, 64);
            float[] values = new float[n];
            Random random = new Random(1);
            for (int i = 0; i < n; i++) {
                values[i] = (float) random.nextGaussian();
            }
            MemorySegment.copy(values, 0, floats32, FLOAT_LE, 0, n);
            ConversionKernels vector = ConversionKernels.best();
            ConversionKernels scalar = ScalarConversionKernels.INSTANCE;
            vector.encodeBf16(values, 0, halves, n);
            Timing timing = new Timing(runs, Math.max(1, (1 << 28) / n), n);
            double decodeBound = timing.median(() -> MemorySegment.copy(floats32, FLOAT_LE, 0, values, 0, n));
            double encodeBound = timing.median(() -> MemorySegment.copy(values, 0, floats32, FLOAT_LE, 0, n));
            System.out.printf(
                    Locale.ROOT,
                    "%d elements, median of %d runs of %d repetitions; bound = float32 copy: segment->array %.1f GB/s,"
                            + " array->segment %.1f GB/s (float bytes)%n",
                    n,
                    runs,
                    timing.repeat(),
                    4.0 * n / decodeBound / 1e9,
                    4.0 * n / encodeBound / 1e9);
            for (ConversionKernels k : new ConversionKernels[] {vector, scalar}) {
                timing.report(k.name(), "decode BF16", decodeBound, () -> k.decodeBf16(halves, values, 0, n));
                timing.report(k.name(), "encode BF16", encodeBound, () -> k.encodeBf16(values, 0, halves, n));
                k.encodeF16(values, 0, halves, n);
                timing.report(k.name(), "decode F16", decodeBound, () -> k.decodeF16(halves, values, 0, n));
                timing.report(k.name(), "encode F16", encodeBound, () -> k.encodeF16(values, 0, halves, n));
            }
        }
    }

    /** How every kernel is timed: {@code repeat} calls a run over {@code n} elements, the median of {@code runs}. */
    private record Timing(int runs, int repeat, int n) {
        /** One line: the kernel's speed in float bytes and its ratio to the float32 copy {@code bound}. */
        void report(String kernels, String what, double bound, Kernel kernel) {
            double seconds = median(kernel);
            System.out.printf(
                    Locale.ROOT,
                    "%-10s %-12s %6.1f GB/s of floats  ratio to copy %.2f%n",
                    kernels,
                    what,
                    4.0 * n / seconds / 1e9,
                    bound / seconds);
        }

        /** Median over runs of the time per repetition; the first run warms the JIT and is dropped. */
        double median(Kernel kernel) {
            double[] times = new double[runs];
            for (int run = -1; run < runs; run++) {
                long start = System.nanoTime();
                for (int i = 0; i < repeat; i++) {
                    kernel.run();
                }
                if (run >= 0) {
                    times[run] = (System.nanoTime() - start) / 1e9 / repeat;
                }
            }
            Arrays.sort(times);
            return times[runs / 2];
        }
    }
}
