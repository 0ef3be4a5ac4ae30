package dev.safemerge.bench;

import dev.safemerge.merge.MaskSource;
import dev.safemerge.merge.MergeInput;
import dev.safemerge.merge.MergeMethod;
import dev.safemerge.merge.MethodRegistry;
import dev.safemerge.merge.ParameterSpec;
import dev.safemerge.merge.Params;
import dev.safemerge.merge.StoredBf16Merge;
import dev.safemerge.merge.TensorGroup;
import dev.safemerge.merge.kernel.MergeKernels;
import dev.safemerge.merge.kernel.Precision;
import dev.safemerge.tensor.DType;
import dev.safemerge.tensor.FloatConversion;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.DoubleSupplier;

/**
 * The compute of one method on one tensor, without any I/O: a synthetic 4096×4096 BF16 base and tuned tensor (the
 * values of {@link MergeBench}), merged on one thread with weight 1 and density 0.5. The bound, measured in the same
 * run, is the least any merge of the pair must do: read both tensors and write a freshly allocated result
 * ({@code round(tuned − base)} with the same kernels). Reported: median milliseconds after warm-up and bound /
 * merge (1.0 = as fast as that single pass), for the float path and, where the method has one, for the fused path
 * from stored BF16 bytes that merges of BF16 checkpoints take.
 *
 * <p>Usage: {@code safemerge-bench/run TensorMergeBench [--methods ties,dare_ties] [--reps 30]}
 */
public final class TensorMergeBench {
    private static final int ROWS = 4096;
    private static final int COLS = 4096;

    private TensorMergeBench() {}

    public static void main(String[] args) {
        Map<String, String> options = new HashMap<>();
        for (int i = 0; i + 1 < args.length; i += 2) {
            options.put(args[i], args[i + 1]);
        }
        List<String> methods =
                List.of(options.getOrDefault("--methods", "ties,dare_ties").split(","));
        int reps = Integer.parseInt(options.getOrDefault("--reps", "30"));
        int n = ROWS * COLS;
        float[] base = new float[n];
        float[] tuned = new float[n];
        long state = 0x9E3779B97F4A7C15L;
        for (int j = 0; j < n; j++) {
            state = state * 6364136223846793005L + 1442695040888963407L;
            base[j] = ((state >>> 40) / (float) (1 << 24) - 0.5f) * 0.04f;
            tuned[j] = base[j] + (((state >>> 16) & 0xffff) / 65536f - 0.5f) * 0.002f;
        }
        Precision.BF16.roundAll(base);
        Precision.BF16.roundAll(tuned);
        MemorySegment baseBytes = Arena.ofAuto().allocate(2L * n);
        MemorySegment tunedBytes = Arena.ofAuto().allocate(2L * n);
        FloatConversion.encode(DType.BF16, base, 0, baseBytes, n);
        FloatConversion.encode(DType.BF16, tuned, 0, tunedBytes, n);
        double bound = medianMillis(reps, () -> {
            float[] out = new float[n];
            MergeKernels.best().subtract(Precision.BF16, tuned, base, out, n);
            return out[n / 2];
        });
        System.out.printf(Locale.ROOT, "bound (read two tensors, write one) %.1f ms%n", bound);
        for (String name : methods) {
            MergeMethod method = MethodRegistry.find(name);
            Map<String, Double> global = new HashMap<>();
            for (ParameterSpec spec : method.parameters()) {
                if (spec.scope() == ParameterSpec.Scope.GLOBAL && spec.defaultValue() != null) {
                    global.put(spec.name(), spec.defaultValue());
                }
            }
            String tensor = "model.layers.0.mlp.up_proj.weight";
            TensorGroup group = new TensorGroup(
                    tensor,
                    new long[] {ROWS, COLS},
                    false,
                    List.of(
                            new MergeInput("base", base, Params.NONE),
                            new MergeInput(
                                    "tuned",
                                    tuned,
                                    Params.of("weight", 1.0, "density", 0.5, "gamma", 0.01, "epsilon", 0.15))),
                    0,
                    new Params(global),
                    Precision.BF16,
                    MaskSource.seeded(42, tensor));
            double millis = medianMillis(reps, () -> method.merge(group)[n / 2]);
            System.out.printf(Locale.ROOT, "%-12s %.1f ms, ratio %.2f of the bound%n", name, millis, bound / millis);
            if (method instanceof StoredBf16Merge stored) {
                // The path a merge of BF16 checkpoints takes: stored bytes in, BF16 bytes out, no float tensors.
                MemorySegment out = Arena.ofAuto().allocate(2L * n);
                double storedMillis = medianMillis(reps, () -> {
                    long[] written = {0};
                    stored.mergeStoredBf16(group, List.of(baseBytes, tunedBytes), n, count -> {
                        MemorySegment room = out.asSlice(written[0] * 2, count * 2L);
                        written[0] += count;
                        return room;
                    });
                    return out.get(ValueLayout.JAVA_BYTE, 0);
                });
                System.out.printf(
                        Locale.ROOT,
                        "%-12s %.1f ms from stored BF16, ratio %.2f of the bound%n",
                        name,
                        storedMillis,
                        bound / storedMillis);
            }
        }
    }

    /** Median over the second half of the repetitions, so that the JIT has compiled the loops. */
    private static double medianMillis(int reps, DoubleSupplier work) {
        double[] millis = new double[reps];
        double sink = 0;
        for (int r = 0; r < reps; r++) {
            long start = System.nanoTime();
            sink += work.getAsDouble();
            millis[r] = (System.nanoTime() - start) / 1e6;
        }
        if (sink == 42) {
            System.out.println();
        }
        double[] warm = Arrays.copyOfRange(millis, reps / 2, reps);
        Arrays.sort(warm);
        return warm[warm.length / 2];
    }
}
