package dev.safemerge.model.ops;

/**
 * Root-mean-square normalisation: {@code y = x / sqrt(mean(x²) + eps) · scale}, where the scale is the weight
 * (Llama, Mistral, Qwen2) or {@code 1 + weight} (Gemma, Gemma 2, whose stored weight is an offset from one).
 */
public final class RmsNorm {
    private RmsNorm() {}

    /** Normalises {@code x[xOffset..xOffset+n)} into {@code out[outOffset..)}; x and out may be the same array. */
    public static void forward(
            float[] x, int xOffset, float[] weight, boolean offsetByOne, float eps, float[] out, int outOffset, int n) {
        float inverseRms = inverseRms(x, xOffset, n, eps);
        for (int i = 0; i < n; i++) {
            float scale = offsetByOne ? 1f + weight[i] : weight[i];
            out[outOffset + i] = x[xOffset + i] * inverseRms * scale;
        }
    }

    /** {@code 1 / sqrt(mean(x²) + eps)}, the factor shared by every element of the row. */
    public static float inverseRms(float[] x, int xOffset, int n, float eps) {
        double sumOfSquares = 0;
        for (int i = 0; i < n; i++) {
            float v = x[xOffset + i];
            sumOfSquares += v * v;
        }
        return (float) (1.0 / Math.sqrt(sumOfSquares / n + eps));
    }

    /**
     * Gradient of {@link #forward} for one row: adds {@code dL/dx} to {@code dx[dxOffset..)} and, when {@code
     * dWeight} is not null, {@code dL/dweight} to it. With r = 1/rms and s the scale: {@code dx = r·(s⊙dy) −
     * r³·x·Σ(s⊙dy⊙x)/n} and {@code dweight = dy⊙x·r} (the same for both variants, since d(1+w)/dw = 1).
     */
    public static void backward(
            float[] x,
            int xOffset,
            float[] weight,
            boolean offsetByOne,
            float eps,
            float[] dy,
            int dyOffset,
            float[] dx,
            int dxOffset,
            float[] dWeight,
            int n) {
        float inverseRms = inverseRms(x, xOffset, n, eps);
        double dot = 0;
        for (int i = 0; i < n; i++) {
            float scale = offsetByOne ? 1f + weight[i] : weight[i];
            dot += (double) dy[dyOffset + i] * scale * x[xOffset + i];
        }
        float correction = (float) (dot / n) * inverseRms * inverseRms * inverseRms;
        for (int i = 0; i < n; i++) {
            float scale = offsetByOne ? 1f + weight[i] : weight[i];
            dx[dxOffset + i] += inverseRms * scale * dy[dyOffset + i] - correction * x[xOffset + i];
            if (dWeight != null) {
                dWeight[i] += dy[dyOffset + i] * x[xOffset + i] * inverseRms;
            }
        }
    }
}
