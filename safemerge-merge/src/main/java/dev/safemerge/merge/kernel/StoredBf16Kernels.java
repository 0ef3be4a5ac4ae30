package dev.safemerge.merge.kernel;

import dev.safemerge.tensor.kernel.KernelProvider;
import java.lang.foreign.MemorySegment;

/**
 * Merges that read stored BF16 bytes and write BF16 bytes directly, with bf16 working precision: the common case
 * of a merge, run in one pass without decoding into float arrays. Each applies exactly the per-step rounding of
 * the float path, so the bytes written are the same. Two implementations agree bit for bit:
 * {@link ScalarStoredBf16Kernels}, the plain twin, and {@link VectorStoredBf16Kernels} on the Vector API.
 */
public interface StoredBf16Kernels {
    /**
     * Linear: {@code out[j] = round(Σ_i round(weights[i] · x_i[j]))}, then {@code round(out[j] / divisor)} when
     * normalizing, the sum accumulated in float32 from +0 in input order.
     *
     * @param inputs {@code count} little-endian bf16 values each
     */
    void linear(
            MemorySegment[] inputs, float[] weights, boolean normalize, float divisor, MemorySegment out, long count);

    /**
     * Task arithmetic without pruning or sign election: per model {@code d = round(round(x_i[j] − base[j]) ·
     * weights[i])}, summed in float32 from +0 in model order; then {@code v = round(sum)}, {@code round(v / divisor)}
     * when normalizing, {@code round(v · lambda)} when lambda ≠ 1, and {@code out[j] = round(base[j] + v)}; without other models {@code out[j] = round(base[j])}.
     */
    void taskArithmetic(
            MemorySegment base,
            MemorySegment[] others,
            float[] weights,
            boolean normalize,
            float divisor,
            float lambda,
            MemorySegment out,
            long count);

    /**
     * One block of a task vector: {@code out[j] = round(x[first + j] − base[first + j])} for j below count, the
     * float path's subtraction straight from the stored bytes.
     */
    void taskVector(MemorySegment x, MemorySegment base, long first, float[] out, int count);

    /**
     * The task-arithmetic family's steps after pruning for a single model (base and one other), on its pruned task
     * vector block {@code delta[0, count)} of elements {@code [first, first + count)}, as {@code steps} describes
     * them; {@code out} receives the {@code count} results from its start.
     */
    void finishOneModel(
            float[] delta, MemorySegment base, long first, OneModelSteps steps, MemorySegment out, int count);

    /**
     * The steps after pruning for one model: {@code v = delta[j]}, {@code v = round(v · factor)} when
     * {@code rescaled}, {@code v = round(v · weight)}. With sign election the elected sign of one model is its own, so
     * a zero or NaN {@code v} is dropped (summed as +0) with divisor 1 and any other {@code v} kept with divisor
     * {@code weight}; without it every {@code v} is kept with {@code divisor}. Then, as {@link #taskArithmetic}:
     * {@code s = round(0 + v)}, {@code s = round(s / divisor)} when normalizing, {@code s = round(s · lambda)} when
     * lambda ≠ 1, and {@code out[j] = round(base[first + j] + s)}.
     */
    record OneModelSteps(
            boolean rescaled,
            float factor,
            float weight,
            boolean electSign,
            boolean normalize,
            float divisor,
            float lambda) {}

    /** A short name for benchmarks and diagnostics. */
    String name();

    /** The twin {@link KernelProvider} chose for this process. */
    static StoredBf16Kernels best() {
        return Chosen.KERNELS;
    }

    /** Holds the choice, made on first use. */
    final class Chosen {
        private static final StoredBf16Kernels KERNELS =
                KernelProvider.get().choose(VectorStoredBf16Kernels::create, ScalarStoredBf16Kernels.INSTANCE);

        private Chosen() {}
    }
}
