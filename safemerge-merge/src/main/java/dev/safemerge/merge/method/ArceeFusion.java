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
            float kl = klDivergence(x, base, start, row, p);
            for (int j = start; j < start + row; j++) {
                importance[j] = p.round(p.round(Math.abs(p.round(x[j] - base[j]))) * kl);
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

    /**
     * KL(softmax(x) ‖ softmax(b)) over one row, with mergekit's 1e-8 added to both distributions: each tensor op of
     * arcee_fusion.py's _compute_importance rounded to the working precision where torch stores it (the softmaxes,
     * p + eps, p / q, its log, p · log), the sum taken wider and rounded once.
     */
    private static float klDivergence(float[] x, float[] b, int start, int length, Precision p) {
        float[] softX = softmax(x, start, length, p);
        float[] softB = softmax(b, start, length, p);
        double kl = 0;
        for (int j = 0; j < length; j++) {
            float pj = p.round(softX[j] + 1e-8f);
            float qj = p.round(softB[j] + 1e-8f);
            kl += p.round(pj * p.round((float) Math.log(p.round(pj / qj))));
        }
        return p.round((float) kl);
    }

    /** F.softmax of one row: exp(v - max) over its sum, computed in float32 and stored once. */
    private static float[] softmax(float[] v, int start, int length, Precision p) {
        float max = Float.NEGATIVE_INFINITY;
        for (int j = start; j < start + length; j++) {
            max = Math.max(max, v[j]);
        }
        float[] exp = new float[length];
        double sum = 0;
        for (int j = 0; j < length; j++) {
            exp[j] = (float) Math.exp(v[start + j] - max);
            sum += exp[j];
        }
        for (int j = 0; j < length; j++) {
            exp[j] = p.round(exp[j] / (float) sum);
        }
        return exp;
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
