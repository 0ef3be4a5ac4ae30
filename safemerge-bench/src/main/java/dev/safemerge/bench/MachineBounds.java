package dev.safemerge.bench;

import dev.safemerge.tensor.kernel.KernelSpecies;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * The machine's limits measured in the running process: streaming read bandwidth and vector FMA throughput. The FMA
 * probe runs the kernels' vectors ({@link KernelSpecies}: at most 256 bits, so that no 512-bit vector enters the
 * process and costs the kernels their intrinsics); on this project's AVX-512 machines (AMD Zen 4) 512-bit FMAs run no
 * faster, 117 GFLOP/s per core either way (docs/PERFORMANCE.md, "AVX-512 machines").
 */
final class MachineBounds {
    private static final VectorSpecies<Float> FLOATS = KernelSpecies.FLOATS;

    /** Untimed passes that let the JIT compile the loops first. */
    private static final int WARMUP = 3;

    private static final long FMA_BLOCK = 100_000;

    private MachineBounds() {}

    /**
     * Both limits, probed one after the other: vector FMA throughput (FLOP/s) and streaming read bandwidth (bytes/s).
     * This VM's FMA probe has read anywhere from 94 to 175 GFLOP/s within one evening, so a bound taken only before a
     * figure can catch the machine slow and flatter the figure (a prefill once measured 1.05 of such a bound): a
     * figure's bound is the {@link #higher} of the probes on both sides of it.
     */
    record Probe(double fmaFlops, double bandwidthBytes) {
        static Probe take(int threads) throws Exception {
            Probe probe = new Probe(fmaThroughput(threads, 5), readBandwidth(1L << 30, threads, 5));
            System.out.printf(Locale.ROOT, "  read bandwidth %.1f GB/s%n", probe.bandwidthBytes() / 1e9);
            return probe;
        }

        /**
         * Tokens/s that decoding {@code batch} sequences cannot exceed: {@code batch} tokens per read of the {@code
         * bytesPerStep} weight bytes, or the FMA rate ÷ {@code flopsPerToken} where that is lower.
         */
        double decodeBound(int batch, double bytesPerStep, double flopsPerToken) {
            return Math.min(batch * bandwidthBytes / bytesPerStep, fmaFlops / flopsPerToken);
        }

        /** Each limit at the higher of the two probes, so that neither probe's slow moment lowers the bound. */
        Probe higher(Probe other) {
            return new Probe(Math.max(fmaFlops, other.fmaFlops()), Math.max(bandwidthBytes, other.bandwidthBytes()));
        }
    }

    /** Probes taken between timed figures: each figure's bound comes from the probes just before and just after it. */
    static final class ProbeChain {
        private final int threads;
        private Probe last;

        ProbeChain(int threads) throws Exception {
            this.threads = threads;
            this.last = Probe.take(threads);
        }

        /** The bound around the figure timed since the last call (or since the chain began). */
        Probe around() throws Exception {
            Probe next = Probe.take(threads);
            Probe around = last.higher(next);
            last = next;
            return around;
        }
    }

    /**
     * Bytes per second of a streaming vector read of {@code bytes} off-heap bytes split over {@code threads}: the
     * fastest of {@code repeats} timed passes. A pass lasts tens of milliseconds, so one descheduled thread slows it
     * (the FMA probe once read 81 GFLOP/s between readings of 114 and 144); no pass can run faster than the machine,
     * so the fastest is the bound.
     */
    static double readBandwidth(long bytes, int threads, int repeats) throws Exception {
        try (Arena arena = Arena.ofShared();
                ExecutorService pool = Executors.newFixedThreadPool(threads)) {
            MemorySegment data = arena.allocate(bytes, 64);
            for (long i = 0; i < bytes; i += 4096) {
                data.set(java.lang.foreign.ValueLayout.JAVA_BYTE, i, (byte) i);
            }
            double[] rates = new double[repeats];
            for (int r = -WARMUP; r < repeats; r++) {
                long start = System.nanoTime();
                List<Future<Float>> parts = new ArrayList<>();
                for (int t = 0; t < threads; t++) {
                    long from = bytes / threads * t;
                    long to = t == threads - 1 ? bytes : bytes / threads * (t + 1);
                    parts.add(pool.submit(() -> sum(data, from, to)));
                }
                float sink = 0;
                for (Future<Float> part : parts) {
                    sink += part.get();
                }
                long elapsed = System.nanoTime() - start;
                if (r >= 0) {
                    rates[r] = bytes / (elapsed / 1e9);
                }
                if (sink == 42.4242f) {
                    System.out.print("");
                }
            }
            return Arrays.stream(rates).max().orElseThrow();
        }
    }

    /** Sums [from, to) in 1 MiB blocks, so the block loop is a small method that the JIT compiles early. */
    private static float sum(MemorySegment data, long from, long to) {
        float total = 0;
        long block = 1 << 20;
        for (long start = from; start < to; start += block) {
            total += sumBlock(data, start, Math.min(to, start + block));
        }
        return total;
    }

    private static float sumBlock(MemorySegment data, long from, long to) {
        FloatVector a0 = FloatVector.zero(FLOATS);
        FloatVector a1 = a0;
        FloatVector a2 = a0;
        FloatVector a3 = a0;
        long step = FLOATS.vectorByteSize();
        long i = from;
        for (; i + 4 * step <= to; i += 4 * step) {
            a0 = a0.add(FloatVector.fromMemorySegment(FLOATS, data, i, ByteOrder.LITTLE_ENDIAN));
            a1 = a1.add(FloatVector.fromMemorySegment(FLOATS, data, i + step, ByteOrder.LITTLE_ENDIAN));
            a2 = a2.add(FloatVector.fromMemorySegment(FLOATS, data, i + 2 * step, ByteOrder.LITTLE_ENDIAN));
            a3 = a3.add(FloatVector.fromMemorySegment(FLOATS, data, i + 3 * step, ByteOrder.LITTLE_ENDIAN));
        }
        return a0.add(a1).add(a2).add(a3).reduceLanes(VectorOperators.ADD);
    }

    /**
     * Float32 FLOP/s of independent vector FMA chains on {@code threads} threads (one FMA = 2 FLOPs per lane): the
     * fastest of {@code repeats} timed passes, as {@link #readBandwidth}.
     */
    static double fmaThroughput(int threads, int repeats) throws Exception {
        long iterations = 20_000_000L;
        try (ExecutorService pool = Executors.newFixedThreadPool(threads)) {
            double[] rates = new double[repeats];
            for (int r = -WARMUP; r < repeats; r++) {
                long start = System.nanoTime();
                List<Future<Float>> parts = new ArrayList<>();
                for (int t = 0; t < threads; t++) {
                    parts.add(pool.submit(() -> fmaChains(iterations)));
                }
                float sink = 0;
                for (Future<Float> part : parts) {
                    sink += part.get();
                }
                long elapsed = System.nanoTime() - start;
                if (r >= 0) {
                    rates[r] = 2.0 * FLOATS.length() * 8 * iterations * threads / (elapsed / 1e9);
                }
                if (sink == 42.4242f) {
                    System.out.print("");
                }
            }
            double fastest = Arrays.stream(rates).max().orElseThrow();
            System.out.printf("  vector FMA %.0f GFLOP/s%n", fastest / 1e9);
            return fastest;
        }
    }

    private static float fmaChains(long iterations) {
        float total = 0;
        for (long done = 0; done < iterations; done += FMA_BLOCK) {
            total += fmaBlock(FMA_BLOCK);
        }
        return total;
    }

    private static float fmaBlock(long iterations) {
        FloatVector m = FloatVector.broadcast(FLOATS, 0.999999f);
        FloatVector c = FloatVector.broadcast(FLOATS, 1e-7f);
        FloatVector a0 = FloatVector.broadcast(FLOATS, 1f);
        FloatVector a1 = FloatVector.broadcast(FLOATS, 2f);
        FloatVector a2 = FloatVector.broadcast(FLOATS, 3f);
        FloatVector a3 = FloatVector.broadcast(FLOATS, 4f);
        FloatVector a4 = FloatVector.broadcast(FLOATS, 5f);
        FloatVector a5 = FloatVector.broadcast(FLOATS, 6f);
        FloatVector a6 = FloatVector.broadcast(FLOATS, 7f);
        FloatVector a7 = FloatVector.broadcast(FLOATS, 8f);
        for (long i = 0; i < iterations; i++) {
            a0 = a0.fma(m, c);
            a1 = a1.fma(m, c);
            a2 = a2.fma(m, c);
            a3 = a3.fma(m, c);
            a4 = a4.fma(m, c);
            a5 = a5.fma(m, c);
            a6 = a6.fma(m, c);
            a7 = a7.fma(m, c);
        }
        return a0.add(a1).add(a2).add(a3).add(a4).add(a5).add(a6).add(a7).reduceLanes(VectorOperators.ADD);
    }

    static double median(double[] values) {
        double[] sorted = values.clone();
        Arrays.sort(sorted);
        int n = sorted.length;
        return n % 2 == 1 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
    }
}
