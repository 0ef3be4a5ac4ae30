package dev.safemerge.model.train;

/**
 * {@code y = x·Wᵀ} for activations x [T, in] and a weight W [out, in] (the HF nn.Linear layout), with its two
 * gradients. All three are {@link Gemm#mulAdd} on transposed activations, so W is only ever read through
 * {@link Gemm.Operand#pack} and may stay in its stored dtype.
 */
public final class Linear {
    private Linear() {}

    /** Returns {@code x·Wᵀ} [T, out]. */
    public static float[] forward(float[] x, int tokens, int in, int out, Gemm.Operand weight) {
        float[] xt = Gemm.transpose(x, tokens, in);
        float[] yt = new float[out * tokens];
        Gemm.mulAdd(out, tokens, in, weight, xt, tokens, yt, tokens);
        return Gemm.transpose(yt, out, tokens);
    }

    /** {@code dx += dy·W}, given W transposed ({@link FrozenMatrix#transposed()} or a transposed view). */
    public static void backwardInput(
            float[] dy, int tokens, int in, int out, Gemm.Operand weightTransposed, float[] dx) {
        float[] dyt = Gemm.transpose(dy, tokens, out);
        float[] dxt = new float[in * tokens];
        Gemm.mulAdd(in, tokens, out, weightTransposed, dyt, tokens, dxt, tokens);
        for (int i = 0; i < in; i++) {
            for (int t = 0; t < tokens; t++) {
                dx[t * in + i] += dxt[i * tokens + t];
            }
        }
    }

    /** {@code dW += dyᵀ·x}, dW [out, in]. */
    public static void backwardWeight(float[] dy, float[] x, int tokens, int in, int out, float[] dw) {
        Gemm.mulAdd(out, in, tokens, new Gemm.Strided(dy, 0, 1, out), x, in, dw, in);
    }

    /** {@code y[t, :] += bias}. */
    public static void addBias(float[] y, int tokens, float[] bias) {
        int out = bias.length;
        for (int t = 0; t < tokens; t++) {
            for (int o = 0; o < out; o++) {
                y[t * out + o] += bias[o];
            }
        }
    }

    /** {@code dBias += Σ_t dy[t, :]}. */
    public static void backwardBias(float[] dy, int tokens, float[] dbias) {
        int out = dbias.length;
        for (int t = 0; t < tokens; t++) {
            for (int o = 0; o < out; o++) {
                dbias[o] += dy[t * out + o];
            }
        }
    }
}
