package dev.safemerge.merge.method;

import dev.safemerge.merge.MaskSource;
import dev.safemerge.merge.TensorGroup;
import dev.safemerge.merge.kernel.MergeKernels;
import dev.safemerge.merge.kernel.Precision;
import dev.safemerge.tensor.BadInputException;
import java.util.Arrays;
import java.util.function.Supplier;

/**
 * The sparsification rules of mergekit, each followed by the optional l1-norm rescale (not DARE's 1/p). Each rule is
 * decided from a whole task vector (ranks, norms) and returned as a {@link Plan} that a merge applies block by block,
 * so the task vector itself is never stored.
 */
final class Pruners {
    /**
     * Elements per block: the few block-sized arrays of a merge stay in the L1/L2 cache. Blocks start at multiples of
     * it, which are multiples of 64 as the mask bits and the norm stripes need.
     */
    static final int BLOCK = 2048;

    private Pruners() {}

    /** Zeroes the dropped elements of one block; one instance serves one replay of the vector in index order. */
    @FunctionalInterface
    interface Keep {
        void apply(int start, float[] block, int count);
    }

    /**
     * One task vector's pruning: which elements stay, then, when {@code rescaled}, every element becomes
     * {@code round(x · factor)} in the {@code work} precision (and is rounded to the tensor's precision after).
     */
    record Plan(Supplier<Keep> rule, Precision work, boolean rescaled, float factor) {}

    static Plan magnitude(Ranks.Blocks delta, double density, boolean rescale, TensorGroup group) {
        int n = delta.length();
        int k = (int) (density * n);
        if (k <= 0) {
            throw new BadInputException(group.name() + ": density " + density + " keeps no element of " + n
                    + " (mergekit refuses to zero a whole tensor)");
        }
        return ranked(delta, n - k, n, rescale, group.precision());
    }

    static Plan magnitudeOutliers(
            Ranks.Blocks delta, double density, double gamma, boolean rescale, TensorGroup group) {
        int n = delta.length();
        int target = (int) (density * n);
        int top = (int) (gamma * n);
        int bottom = n - target - top;
        if (bottom < 0) {
            top += bottom;
            bottom = 0;
        }
        // mergekit keeps sorted[bottom:-top], which is empty when top == 0: the whole task vector is dropped.
        int end = top == 0 ? bottom : n - top;
        return ranked(delta, bottom, Math.max(bottom, end), rescale, group.precision());
    }

    /** Keeps ascending magnitude ranks {@code [from, to)}. */
    private static Plan ranked(Ranks.Blocks delta, int from, int to, boolean rescale, Precision precision) {
        MergeKernels kernels = MergeKernels.best();
        double[] before = rescale ? new double[MergeKernels.NORM_STRIPES] : null;
        Ranks.Window window = Ranks.Window.of(delta, from, to, before);
        Supplier<Keep> rule = () -> {
            Ranks.Cursor cursor = window.cursor();
            return (start, block, count) -> cursor.keep(kernels, start, block, count);
        };
        return rescale ? rescaled(delta, rule, precision, before) : unscaled(rule, precision);
    }

    static Plan random(Ranks.Blocks delta, double density, boolean rescale, String model, TensorGroup group) {
        int n = delta.length();
        Precision work = randomWork(group);
        float probability = work.round((float) density);
        MaskSource.Uniforms uniforms = group.masks().open(model, n);
        MergeKernels kernels = MergeKernels.best();
        if (!rescale) {
            Supplier<Keep> rule = () -> {
                float[] drawn = new float[BLOCK];
                return (start, block, count) -> {
                    uniforms.fill(start, drawn, count);
                    kernels.keepBelow(block, drawn, probability, count);
                };
            };
            return unscaled(rule, work);
        }
        // The norm pass needs the mask already, so it draws the numbers once and keeps the mask as bits (n / 8 bytes).
        long[] bits = maskBits(n);
        float[] drawn = new float[BLOCK];
        double[] before = new double[MergeKernels.NORM_STRIPES];
        double[] after = new double[MergeKernels.NORM_STRIPES];
        delta.forEach((start, block, count) -> {
            kernels.addMagnitudes(block, count, before);
            uniforms.fill(start, drawn, count);
            kernels.maskBelow(drawn, probability, count, bits, start);
            kernels.keepBits(block, count, bits, start);
            kernels.addMagnitudes(block, count, after);
        });
        return rescaledBy(keepingBits(bits), work, before, after);
    }

    /**
     * Why DELLA cannot prune with these values, or null: mergekit's {@code della_magprune} leaves a task vector
     * untouched at density >= 1 and zeroes it at density <= 0; in between the keep probabilities span density ± epsilon,
     * which must lie inside (0, 1).
     */
    static String magpruneProblem(double density, double epsilon) {
        if (density >= 1 || density <= 0 || (density - epsilon > 0 && density + epsilon < 1)) {
            return null;
        }
        return "della needs 0 < density - epsilon and density + epsilon < 1 (density " + density + ", epsilon "
                + epsilon + ")";
    }

    static Plan magprune(
            Ranks.Blocks delta, double density, double epsilon, boolean rescale, String model, TensorGroup group) {
        Precision work = randomWork(group);
        if (density <= 0) {
            return unscaled(() -> (start, block, count) -> Arrays.fill(block, 0, count, 0f), work);
        }
        String problem = magpruneProblem(density, epsilon);
        if (problem != null) {
            throw new BadInputException(group.name() + ": " + problem);
        }
        // Ranks are per row, so the task vector is gathered one row at a time and the decisions kept as bits.
        int n = delta.length();
        int rowLength = group.rowLength();
        MaskSource.Uniforms uniforms = group.masks().open(model, n);
        long[] bits = maskBits(n);
        // The keep probability depends on the rank alone, the same in every row. Ranks are argsort indices converted
        // to the working dtype, then + 1 (two roundings in bf16).
        float low = work.round((float) (density - epsilon));
        float epsilonValue = (float) epsilon;
        float minRank = work.round(work.round(0) + 1);
        float maxRank = work.round(work.round(rowLength - 1) + 1);
        float span = work.round(maxRank - minRank);
        float[] probabilityOfRank = new float[rowLength + 1];
        for (int r = 1; r <= rowLength; r++) {
            float rank = work.round(work.round(r - 1) + 1);
            float normalized = Math.clamp(work.round(work.round(rank - minRank) / span), 0f, 1f);
            probabilityOfRank[r] = work.round(low + work.round(work.round(normalized * 2) * epsilonValue));
        }
        float[] row = new float[rowLength];
        float[] drawn = new float[rowLength];
        Ranks.RowRanks rowRanks = new Ranks.RowRanks(rowLength);
        delta.forEach(new Ranks.BlockConsumer() {
            private int rowStart;
            private int filled;

            @Override
            public void accept(int start, float[] block, int count) {
                for (int j = 0; j < count; ) {
                    int take = Math.min(count - j, rowLength - filled);
                    System.arraycopy(block, j, row, filled, take);
                    filled += take;
                    j += take;
                    if (filled == rowLength) {
                        decideRow();
                        rowStart += rowLength;
                        filled = 0;
                    }
                }
            }

            private void decideRow() {
                int[] ranks = rowRanks.of(row);
                uniforms.fill(rowStart, drawn, rowLength);
                for (int j = 0; j < rowLength; j++) {
                    if (drawn[j] < probabilityOfRank[ranks[j]]) {
                        int i = rowStart + j;
                        bits[i >>> 6] |= 1L << (i & 63);
                    }
                }
            }
        });
        return rescale ? rescaled(delta, keepingBits(bits), work, null) : unscaled(keepingBits(bits), work);
    }

    /** Bernoulli runs in bf16 for bf16 tensors (so the probability itself is a bf16 number), in float32 otherwise. */
    private static Precision randomWork(TensorGroup group) {
        return group.precision() == Precision.BF16 ? Precision.BF16 : Precision.F32;
    }

    /** One bit per element, as {@link MergeKernels#maskBelow} and {@link MergeKernels#keepBits} read them. */
    private static long[] maskBits(int n) {
        return new long[(int) (((long) n + 63) / 64)];
    }

    /** Keeps the elements whose bit is set. */
    private static Supplier<Keep> keepingBits(long[] bits) {
        MergeKernels kernels = MergeKernels.best();
        return () -> (start, block, count) -> kernels.keepBits(block, count, bits, start);
    }

    private static Plan unscaled(Supplier<Keep> rule, Precision work) {
        return new Plan(rule, work, false, 1);
    }

    /**
     * The l1 norms before and after pruning decide the rescale; {@code before} holds the norm stripes when an earlier
     * pass summed them, else this pass does.
     */
    private static Plan rescaled(Ranks.Blocks delta, Supplier<Keep> rule, Precision work, double[] before) {
        MergeKernels kernels = MergeKernels.best();
        double[] beforeStripes = before != null ? before : new double[MergeKernels.NORM_STRIPES];
        double[] afterStripes = new double[MergeKernels.NORM_STRIPES];
        Keep keep = rule.get();
        delta.forEach((start, block, count) -> {
            if (before == null) {
                kernels.addMagnitudes(block, count, beforeStripes);
            }
            keep.apply(start, block, count);
            kernels.addMagnitudes(block, count, afterStripes);
        });
        return rescaledBy(rule, work, beforeStripes, afterStripes);
    }

    /** The rescale that restores the l1 norm {@code before} after pruning left {@code after}. */
    private static Plan rescaledBy(Supplier<Keep> rule, Precision work, double[] before, double[] after) {
        float beforeNorm = work.round((float) total(before));
        float afterNorm = work.round((float) total(after));
        if (beforeNorm < 1e-7 || afterNorm < 1e-7) {
            return unscaled(rule, work);
        }
        return new Plan(rule, work, true, work.round(beforeNorm / afterNorm));
    }

    /** The stripes of an l1 norm summed in a fixed order, so the norm does not depend on the kernels in use. */
    private static double total(double[] stripes) {
        double sum = 0;
        for (double stripe : stripes) {
            sum += stripe;
        }
        return sum;
    }
}
