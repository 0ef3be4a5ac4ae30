package dev.safemerge.merge.kernel;

import dev.safemerge.tensor.kernel.KernelProvider;

/**
 * The elementwise loops of the merge methods, each rounding to the working precision exactly where torch stores an
 * intermediate tensor. Two implementations agree bit for bit: {@link ScalarMergeKernels}, the plain twin that tests
 * trust, and {@link VectorMergeKernels} on the Vector API, which {@link #best()} picks when the incubator module is
 * present.
 *
 * <p>Most loops take an element {@code count} so that a method can run them on small blocks that stay in cache, one
 * block of a tensor at a time.
 */
public interface MergeKernels {
    /** Lanes of the striped l1 norm of {@link #addMagnitudes}; a block boundary must be a multiple of it. */
    int NORM_STRIPES = 16;

    /** {@code a[j] = round(a[j])}. */
    default void round(Precision p, float[] a) {
        round(p, a, a.length);
    }

    /** {@code a[j] = round(a[j])} for j below count. */
    void round(Precision p, float[] a, int count);

    /** {@code sum[j] += round(weight · x[j])}. */
    void addWeighted(Precision p, float[] sum, float[] x, float weight);

    /** {@code out[j] = round(x[j] − base[j])} for j below count. */
    void subtract(Precision p, float[] x, float[] base, float[] out, int count);

    /**
     * One pruned task vector's block after its mask: {@code v = a[j]}; when {@code rescaled}
     * {@code v = round(roundWork(v · factor))} (work is the precision the rescale runs in); then
     * {@code a[j] = round(v · weight)} and {@code sum[j] += a[j]} unrounded.
     */
    void weightAndSum(
            Precision p,
            float[] a,
            int count,
            Precision work,
            boolean rescaled,
            float factor,
            float weight,
            float[] sum);

    /** Linear's last step: {@code sum[j] = round(sum[j])}, then {@code round(sum[j] / divisor)} when normalizing. */
    void finishLinear(Precision p, float[] sum, boolean normalize, float divisor);

    /**
     * TIES sign election for one model's weighted delta, for j below count: the majority sign is that of
     * {@code round(signSum[j])} (zero counts as positive); a nonzero delta of the majority sign is added to
     * {@code mixed} and its weight to {@code divisors}.
     */
    void electedAdd(
            Precision p, float[] mixed, float[] divisors, float[] delta, float[] signSum, float weight, int count);

    /**
     * Task arithmetic's last steps for j below count: {@code v = round(mixed[j])}; when normalizing
     * {@code v = round(v / d)} with {@code d = divisors[j]} or, when {@code divisors} is null, the constant
     * {@code divisor}; when {@code lambda ≠ 1} {@code v = round(v · lambda)}; finally {@code out[j] = round(base[j] +
     * v)}.
     */
    void finishTaskArithmetic(
            Precision p,
            float[] mixed,
            float[] base,
            float[] out,
            boolean normalize,
            float[] divisors,
            float divisor,
            float lambda,
            int count);

    /** TIES's divisors for j below count: {@code d[j] = round(d[j])}, and 1 where that is zero. */
    void divisors(Precision p, float[] d, int count);

    /** DARE's Bernoulli mask: {@code a[j] = uniforms[j] < probability ? a[j] : 0} for j below count. */
    void keepBelow(float[] a, float[] uniforms, float probability, int count);

    /**
     * DARE's Bernoulli mask as bits, for elements {@code first + j} with j below count: bit {@code i % 64} of
     * {@code bits[i / 64]} is set when {@code uniforms[j] < probability}, cleared otherwise; {@code first} is a
     * multiple of 64.
     */
    void maskBelow(float[] uniforms, float probability, int count, long[] bits, int first);

    /** {@code a[j] = bit (first + j) of bits ? a[j] : 0} for j below count, bits as {@link #maskBelow} writes them. */
    void keepBits(float[] a, int count, long[] bits, int first);

    /**
     * A rank window over magnitudes for the block of elements {@code [start, start + count)}: with {@code b} the bits
     * of {@code |a[j]|} and {@code i = start + j}, the element stays when {@code (b, i)} lies between
     * {@code (lowBits, lowIndex)} and {@code (highBits, highIndex)} inclusive in lexicographic order; others become 0.
     */
    void keepRankWindow(float[] a, int count, int start, int lowBits, int lowIndex, int highBits, int highIndex);

    /** How many of {@code a[0, count)} have magnitude bits {@code bits} ({@code |a[j]|} as raw int bits). */
    int countMagnitude(float[] a, int count, int bits);

    /** How many of {@code a[0, count)} have magnitude bits above {@code bits}. */
    int countAbove(float[] a, int count, int bits);

    /** Room past count that {@link #selectMagnitudes} needs in its output: one vector of the widest shape. */
    int SELECT_SLACK = 64;

    /**
     * Writes the magnitude bits that lie in {@code [lowBits, highBits]} to {@code selected}, in index order, and
     * returns how many there are; {@code selected} has room for {@code count + SELECT_SLACK} values, and values past
     * the returned count are arbitrary.
     */
    int selectMagnitudes(float[] a, int count, int lowBits, int highBits, int[] selected);

    /**
     * Adds {@code |a[j]|}, widened to double, to {@code stripes[j % NORM_STRIPES]} for j below count. Each stripe is a
     * sequential sum, so the total over stripes does not depend on the vector width or the instruction set.
     */
    void addMagnitudes(float[] a, int count, double[] stripes);

    /**
     * Counter-based uniform numbers in [0, 1) with 24 random bits: {@code dst[j]} is a hash of {@code key} and the
     * element index {@code first + j}, so any range of a stream can be drawn on its own.
     */
    void uniforms(long key, int first, float[] dst, int count);

    /** A short name for benchmarks and diagnostics. */
    String name();

    /** The twin {@link KernelProvider} chose for this process. */
    static MergeKernels best() {
        return Chosen.KERNELS;
    }

    /** Holds the choice, made on first use. */
    final class Chosen {
        private static final MergeKernels KERNELS =
                KernelProvider.get().choose(VectorMergeKernels::create, ScalarMergeKernels.INSTANCE);

        private Chosen() {}
    }
}
