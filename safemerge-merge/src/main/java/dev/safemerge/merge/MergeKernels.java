package dev.safemerge.merge;

/**
 * The elementwise loops of the merge methods, each rounding to the working precision exactly where torch stores an
 * intermediate tensor. Two implementations agree bit for bit: {@link ScalarMergeKernels}, the plain twin that tests
 * trust, and {@link VectorMergeKernels} on the Vector API, which {@link #best()} picks when the incubator module is
 * present.
 */
public interface MergeKernels {
    /** {@code a[j] = round(a[j])}. */
    void round(Precision p, float[] a);

    /** {@code sum[j] += round(weight · x[j])}. */
    void addWeighted(Precision p, float[] sum, float[] x, float weight);

    /** {@code out[j] = round(x[j] − base[j])}. */
    void subtract(Precision p, float[] x, float[] base, float[] out);

    /** {@code a[j] = round(a[j] · factor)}. */
    void scale(Precision p, float[] a, float factor);

    /** {@code sum[j] += x[j]} in float32, unrounded (torch's sum over the stacked models). */
    void add(float[] sum, float[] x);

    /** Linear's last step: {@code sum[j] = round(sum[j])}, then {@code round(sum[j] / divisor)} when normalizing. */
    void finishLinear(Precision p, float[] sum, boolean normalize, float divisor);

    /**
     * TIES sign election for one model's weighted delta: the majority sign is that of {@code round(signSum[j])}
     * (zero counts as positive); a nonzero delta of the majority sign is added to {@code mixed} and its weight to
     * {@code divisors}.
     */
    void electedAdd(Precision p, float[] mixed, float[] divisors, float[] delta, float[] signSum, float weight);

    /**
     * Task arithmetic's last steps: {@code v = round(mixed[j])}; when normalizing {@code v = round(v / d)} with
     * {@code d = divisors[j]} or, when {@code divisors} is null, the constant {@code divisor}; when {@code lambda ≠ 1}
     * {@code v = round(v · lambda)}; finally {@code mixed[j] = round(base[j] + v)}.
     */
    void finishTaskArithmetic(
            Precision p, float[] mixed, float[] base, boolean normalize, float[] divisors, float divisor, float lambda);

    /** TIES's divisors: {@code d[j] = round(d[j])}, and 1 where that is zero. */
    void divisors(Precision p, float[] d);

    /** {@code a[j] = keep[j] ? a[j] : 0}. */
    void keepOnly(float[] a, boolean[] keep);

    /** A short name for benchmarks and diagnostics. */
    String name();

    /** The vectorized kernels when {@code jdk.incubator.vector} is available and not disabled, else the scalar ones. */
    static MergeKernels best() {
        return Holder.BEST;
    }

    final class Holder {
        private static final MergeKernels BEST = choose();

        private Holder() {}

        private static MergeKernels choose() {
            if (Boolean.getBoolean("safemerge.scalar")) {
                return ScalarMergeKernels.INSTANCE;
            }
            try {
                return VectorMergeKernels.create();
            } catch (LinkageError | UnsupportedOperationException e) {
                // The JVM was started without --add-modules jdk.incubator.vector, or the CPU has short vectors.
                return ScalarMergeKernels.INSTANCE;
            }
        }
    }
}
