package dev.safemerge.merge;

/**
 * Uniform random numbers in [0, 1) for the random pruning of DARE and DELLA: an element is kept when its number is
 * below the keep probability. Tests inject exact masks through it (0 keeps, 1 drops).
 */
@FunctionalInterface
public interface MaskSource {
    /** Fills {@code dst} with one number per element of {@code model}'s task vector for the tensor being merged. */
    void uniforms(String model, float[] dst);

    /**
     * Counter-based numbers keyed by (seed, tensor, model, element index): the same seed gives the same masks whatever
     * the thread count or the order in which tensors are merged.
     */
    static MaskSource seeded(long seed, String tensorName) {
        return (model, dst) -> {
            long key =
                    mix(mix(seed ^ 0x5afe3e26e5L) ^ stableHash(tensorName)) ^ stableHash(model) * 0x9E3779B97F4A7C15L;
            key = mix(key);
            for (int i = 0; i < dst.length; i++) {
                dst[i] = (mix(key + (long) i * 0x9E3779B97F4A7C15L) >>> 40) * 0x1.0p-24f;
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
