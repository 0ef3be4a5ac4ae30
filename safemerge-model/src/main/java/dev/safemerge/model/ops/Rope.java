package dev.safemerge.model.ops;

/**
 * Rotary position embedding in the half-split ("rotate_half") layout of HF checkpoints: component k of a head is
 * rotated together with component k + dim/2 by the angle {@code position · invFreq[k]}. The frequencies of every
 * scaling type are computed as HF's rope initialisation functions do; {@code attentionFactor} multiplies cos and
 * sin (yarn), which scales attention scores by its square.
 */
public final class Rope {
    private Rope() {}

    /** Inverse frequencies and the cos/sin multiplier of one rope configuration. */
    public record Frequencies(float[] invFreq, float attentionFactor) {
        public int dim() {
            return invFreq.length * 2;
        }
    }

    /** {@code 1 / theta^(2k/dim)} for k &lt; dim/2, with the exponent rounded to float32 as HF computes it. */
    public static float[] defaultInvFreq(int dim, double theta) {
        float[] inv = new float[dim / 2];
        for (int k = 0; k < inv.length; k++) {
            float exponent = (float) (2 * k) / dim;
            inv[k] = (float) (1.0 / Math.pow(theta, exponent));
        }
        return inv;
    }

    public static Frequencies unscaled(int dim, double theta) {
        return new Frequencies(defaultInvFreq(dim, theta), 1f);
    }

    /** Position interpolation: every frequency divided by {@code factor}. */
    public static Frequencies linear(int dim, double theta, double factor) {
        float[] inv = defaultInvFreq(dim, theta);
        for (int k = 0; k < inv.length; k++) {
            inv[k] = (float) (inv[k] / factor);
        }
        return new Frequencies(inv, 1f);
    }

    /**
     * Dynamic NTK scaling for a sequence of {@code length} tokens: beyond {@code maxPositions} the base grows to
     * {@code theta · (factor·length/maxPositions − (factor−1))^(dim/(dim−2))}; within it, the default frequencies.
     */
    public static Frequencies dynamic(int dim, double theta, double factor, int maxPositions, int length) {
        if (length <= maxPositions) {
            return unscaled(dim, theta);
        }
        double base = theta * Math.pow(factor * length / maxPositions - (factor - 1), (double) dim / (dim - 2));
        return new Frequencies(defaultInvFreq(dim, base), 1f);
    }

    /**
     * Llama 3.1 scaling: wavelengths shorter than {@code originalMax/highFreqFactor} are kept, longer than {@code
     * originalMax/lowFreqFactor} divided by {@code factor}, and the band between is interpolated smoothly.
     */
    public static Frequencies llama3(
            int dim, double theta, double factor, double lowFreqFactor, double highFreqFactor, int originalMax) {
        float[] inv = defaultInvFreq(dim, theta);
        double lowFreqWavelen = originalMax / lowFreqFactor;
        double highFreqWavelen = originalMax / highFreqFactor;
        for (int k = 0; k < inv.length; k++) {
            double wavelen = 2 * Math.PI / inv[k];
            if (wavelen > lowFreqWavelen) {
                inv[k] = (float) (inv[k] / factor);
            } else if (wavelen >= highFreqWavelen) {
                double smooth = (originalMax / wavelen - lowFreqFactor) / (highFreqFactor - lowFreqFactor);
                inv[k] = (float) ((1 - smooth) * inv[k] / factor + smooth * inv[k]);
            }
        }
        return new Frequencies(inv, 1f);
    }

    /**
     * YaRN: frequencies ramp from extrapolated ({@code 1/theta^(2k/dim)}) to interpolated (divided by {@code
     * factor}) between the correction dims of {@code betaFast} and {@code betaSlow} rotations; cos and sin are
     * multiplied by {@code attentionFactor}.
     */
    public static Frequencies yarn(
            int dim,
            double theta,
            double factor,
            int originalMax,
            double betaFast,
            double betaSlow,
            boolean truncate,
            float attentionFactor) {
        double low = correctionDim(betaFast, dim, theta, originalMax);
        double high = correctionDim(betaSlow, dim, theta, originalMax);
        if (truncate) {
            low = Math.floor(low);
            high = Math.ceil(high);
        }
        low = Math.max(low, 0);
        high = Math.min(high, dim - 1);
        if (low == high) {
            high += 0.001;
        }
        float[] inv = new float[dim / 2];
        for (int k = 0; k < inv.length; k++) {
            double posFreq = Math.pow(theta, (float) (2 * k) / dim);
            double extrapolated = 1 / posFreq;
            double interpolated = 1 / (factor * posFreq);
            double ramp = Math.clamp((k - low) / (high - low), 0.0, 1.0);
            inv[k] = (float) (interpolated * ramp + extrapolated * (1 - ramp));
        }
        return new Frequencies(inv, attentionFactor);
    }

    /** YaRN's default attention factor {@code 0.1·mscale·ln(factor) + 1} (1 when factor ≤ 1). */
    public static double yarnMscale(double factor, double mscale) {
        return factor <= 1 ? 1 : 0.1 * mscale * Math.log(factor) + 1;
    }

    private static double correctionDim(double rotations, int dim, double theta, int originalMax) {
        return dim * Math.log(originalMax / (rotations * 2 * Math.PI)) / (2 * Math.log(theta));
    }

    /** cos and sin of {@code position · invFreq[k]} (angle in float32, as HF), times the attention factor. */
    public static void table(Frequencies frequencies, int position, float[] cos, float[] sin) {
        float[] inv = frequencies.invFreq();
        for (int k = 0; k < inv.length; k++) {
            float angle = (float) position * inv[k];
            cos[k] = (float) Math.cos(angle) * frequencies.attentionFactor();
            sin[k] = (float) Math.sin(angle) * frequencies.attentionFactor();
        }
    }

    /** Rotates one head {@code x[offset..offset+dim)} in place with a table from {@link #table}. */
    public static void rotate(float[] x, int offset, float[] cos, float[] sin) {
        int half = cos.length;
        for (int k = 0; k < half; k++) {
            float a = x[offset + k];
            float b = x[offset + k + half];
            x[offset + k] = a * cos[k] - b * sin[k];
            x[offset + k + half] = b * cos[k] + a * sin[k];
        }
    }

    /** Gradient of {@link #rotate}: rotates a head's gradient {@code dx[offset..offset+dim)} back by the angle. */
    public static void rotateBackward(float[] dx, int offset, float[] cos, float[] sin) {
        int half = cos.length;
        for (int k = 0; k < half; k++) {
            float da = dx[offset + k];
            float db = dx[offset + k + half];
            dx[offset + k] = da * cos[k] + db * sin[k];
            dx[offset + k + half] = db * cos[k] - da * sin[k];
        }
    }
}
