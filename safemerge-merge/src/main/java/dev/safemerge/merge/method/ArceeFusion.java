package dev.safemerge.merge.method;

import dev.safemerge.merge.TensorGroup;
import dev.safemerge.merge.kernel.Precision;
import java.util.Arrays;
import java.util.List;

/**
 * Arcee Fusion: takes the other model's value where its importance {@code |X - B| · KL(softmax(X) ‖ softmax(B))}
 * (per row) reaches {@code median + 1.5·IQR}. The mask is float32, so the result is float32 as in mergekit.
 */
public final class ArceeFusion extends BaseAndOtherMethod {
    static final int QUANTILE_SAMPLE_SIZE = 1_000_000;

    public ArceeFusion() {
        super("arcee_fusion", List.of(), EmbedSizeRule.COMMON_SUBMATRIX);
    }

    @Override
    public boolean promotesToFloat32() {
        return true;
    }

    @Override
    float[] merge(float[] base, float[] x, TensorGroup group) {
        Precision p = group.precision();
        int n = base.length;
        int row = group.rowLength();
        float[] importance = new float[n];
        for (int start = 0; start < n; start += row) {
            double kl = klDivergence(x, base, start, row);
            for (int j = start; j < start + row; j++) {
                importance[j] = p.round(p.round(Math.abs(p.round(x[j] - base[j]))) * (float) kl);
            }
        }
        float[] sample = sample(importance, group);
        Arrays.sort(sample);
        float q1 = sample[(int) (0.25f * (sample.length - 1))];
        float median = sample[(int) (0.5f * (sample.length - 1))];
        float q3 = sample[(int) (0.75f * (sample.length - 1))];
        float threshold = p.round(median + p.round(1.5f * p.round(q3 - q1)));
        float[] out = new float[n];
        for (int j = 0; j < n; j++) {
            float mask = importance[j] >= threshold ? 1f : 0f;
            out[j] = base[j] + p.round(x[j] - base[j]) * mask;
        }
        return out;
    }

    /** KL(softmax(x) ‖ softmax(b)) over one row, with mergekit's 1e-8 added to both distributions. */
    private static double klDivergence(float[] x, float[] b, int start, int length) {
        double maxX = Double.NEGATIVE_INFINITY;
        double maxB = Double.NEGATIVE_INFINITY;
        for (int j = start; j < start + length; j++) {
            maxX = Math.max(maxX, x[j]);
            maxB = Math.max(maxB, b[j]);
        }
        double sumX = 0;
        double sumB = 0;
        for (int j = start; j < start + length; j++) {
            sumX += Math.exp(x[j] - maxX);
            sumB += Math.exp(b[j] - maxB);
        }
        double kl = 0;
        for (int j = start; j < start + length; j++) {
            double pj = Math.exp(x[j] - maxX) / sumX + 1e-8;
            double qj = Math.exp(b[j] - maxB) / sumB + 1e-8;
            kl += pj * Math.log(pj / qj);
        }
        return kl;
    }

    /** Tensors above a million elements are summarised by a seeded sample with replacement, as mergekit samples. */
    private static float[] sample(float[] importance, TensorGroup group) {
        if (importance.length <= QUANTILE_SAMPLE_SIZE) {
            return importance.clone();
        }
        float[] uniforms = new float[QUANTILE_SAMPLE_SIZE];
        group.masks().uniforms("arcee_fusion quantile sample", uniforms);
        float[] sample = new float[QUANTILE_SAMPLE_SIZE];
        for (int i = 0; i < sample.length; i++) {
            sample[i] = importance[
                    (int) Math.min(importance.length - 1L, (long) (uniforms[i] * (double) importance.length))];
        }
        return sample;
    }
}
