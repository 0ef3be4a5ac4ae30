package dev.safemerge.merge;

import dev.safemerge.merge.kernel.MergeKernels;
import java.util.List;

/**
 * Uniform random numbers in [0, 1) for the random pruning of DARE and DELLA: an element is kept when its number is
 * below the keep probability. Tests inject exact masks through it (0 keeps, 1 drops).
 */
@FunctionalInterface
public interface MaskSource {
    /** Fills {@code dst} with one number per element of {@code model}'s task vector for the tensor being merged. */
    void uniforms(String model, float[] dst);

    /**
     * The numbers of {@code model}'s task vector of {@code length} elements, to be read range by range (a merge works
     * on blocks that stay in cache). This default draws the whole vector once.
     */
    default Uniforms open(String model, int length) {
        float[] all = new float[length];
        uniforms(model, all);
        return (first, dst, count) -> System.arraycopy(all, first, dst, 0, count);
    }

    /**
     * These numbers keyed by each model's position among {@code models} instead of by its reference: moving a model's
     * folder or spelling its path another way then draws the same masks, as a seed does in mergekit.
     */
    default MaskSource byPosition(List<String> models) {
        MaskSource numbers = this;
        return new MaskSource() {
            @Override
            public void uniforms(String model, float[] dst) {
                numbers.uniforms(position(model), dst);
            }

            @Override
            public Uniforms open(String model, int length) {
                return numbers.open(position(model), length);
            }

            private String position(String model) {
                int index = models.indexOf(model);
                // a name that is not an input (arcee_fusion's quantile sample) keeps its own key
                return index < 0 ? model : "input " + index;
            }
        };
    }

    /** The numbers of one task vector. */
    @FunctionalInterface
    interface Uniforms {
        /** Fills {@code dst[0, count)} with the numbers of elements {@code [first, first + count)}. */
        void fill(int first, float[] dst, int count);
    }

    /**
     * Counter-based numbers keyed by (seed, tensor, model, element index): the same seed gives the same masks whatever
     * the thread count, the order in which tensors are merged or the blocks a merge draws them in. A merge keys models
     * by position ({@link #byPosition}).
     */
    static MaskSource seeded(long seed, String tensorName) {
        long tensorKey = mix(mix(seed ^ 0x5afe3e26e5L) ^ stableHash(tensorName));
        return new MaskSource() {
            @Override
            public void uniforms(String model, float[] dst) {
                open(model, dst.length).fill(0, dst, dst.length);
            }

            @Override
            public Uniforms open(String model, int length) {
                long key = mix(tensorKey ^ stableHash(model) * 0x9E3779B97F4A7C15L);
                MergeKernels kernels = MergeKernels.best();
                return (first, dst, count) -> kernels.uniforms(key, first, dst, count);
            }
        };
    }

    private static long stableHash(String text) {
        long hash = 0xcbf29ce484222325L;
        for (int i = 0; i < text.length(); i++) {
            hash = (hash ^ text.charAt(i)) * 0x100000001b3L;
        }
        return hash;
    }

    /** The SplitMix64 finaliser. */
    private static long mix(long z) {
        z = (z ^ (z >>> 30)) * 0xbf58476d1ce4e5b9L;
        z = (z ^ (z >>> 27)) * 0x94d049bb133111ebL;
        return z ^ (z >>> 31);
    }
}
