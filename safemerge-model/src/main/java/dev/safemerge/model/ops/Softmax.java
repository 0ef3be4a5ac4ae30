package dev.safemerge.model.ops;

import dev.safemerge.tensor.kernel.Kernels;

/** Softmax and tanh soft-capping over a slice of a float array, in place. */
public final class Softmax {
    private Softmax() {}

    /**
     * {@code x = exp(x − max) / Σ exp(x − max)} over {@code x[offset..offset+n)}, the exponentials in double: the
     * reference, which training uses.
     */
    public static void forward(float[] x, int offset, int n) {
        float max = Float.NEGATIVE_INFINITY;
        for (int i = offset; i < offset + n; i++) {
            max = Math.max(max, x[i]);
        }
        double sum = 0;
        for (int i = offset; i < offset + n; i++) {
            float e = (float) Math.exp(x[i] - max);
            x[i] = e;
            sum += e;
        }
        normalize(x, offset, n, sum);
    }

    /**
     * {@link #forward} for inference: the exponentials through the kernels' float exponential ({@link Kernels#exp},
     * within 1.01 ulp), the sum in double in index order.
     */
    public static void forwardFast(float[] x, int offset, int n) {
        float max = Float.NEGATIVE_INFINITY;
        for (int i = offset; i < offset + n; i++) {
            max = Math.max(max, x[i]);
        }
        Kernels.get().expShifted(x, offset, n, max);
        double sum = 0;
        for (int i = offset; i < offset + n; i++) {
            sum += x[i];
        }
        normalize(x, offset, n, sum);
    }

    private static void normalize(float[] x, int offset, int n, double sum) {
        float inverse = (float) (1 / sum);
        for (int i = offset; i < offset + n; i++) {
            x[i] *= inverse;
        }
    }

    /** Gemma 2's soft cap {@code x = cap·tanh(x / cap)} over {@code x[offset..offset+n)}. */
    public static void softcap(float[] x, int offset, int n, float cap) {
        for (int i = offset; i < offset + n; i++) {
            x[i] = (float) (cap * Math.tanh(x[i] / cap));
        }
    }

    /**
     * Gradient of {@link #forward} given its output {@code p}: overwrites {@code dp[offset..offset+n)} (the gradient
     * with respect to the probabilities) with the gradient with respect to the inputs, {@code p⊙(dp − Σ p⊙dp)}.
     */
    public static void backward(float[] p, float[] dp, int offset, int n) {
        double dot = 0;
        for (int i = offset; i < offset + n; i++) {
            dot += (double) p[i] * dp[i];
        }
        float shift = (float) dot;
        for (int i = offset; i < offset + n; i++) {
            dp[i] = p[i] * (dp[i] - shift);
        }
    }

    /** Gradient of {@link #softcap} given its output: {@code dy ⊙ (1 − (capped/cap)²)}, in place in {@code dy}. */
    public static void softcapBackward(float[] capped, float[] dy, int offset, int n, float cap) {
        for (int i = offset; i < offset + n; i++) {
            float t = capped[i] / cap;
            dy[i] *= 1f - t * t;
        }
    }
}
