package dev.safemerge.merge.method;

import dev.safemerge.merge.MergeKernels;
import dev.safemerge.merge.Precision;
import dev.safemerge.merge.TensorGroup;
import dev.safemerge.tensor.BadInputException;

/** The sparsification rules of mergekit, each followed by the optional l1-norm rescale (not DARE's 1/p). */
final class Pruners {
    private Pruners() {}

    static float[] magnitude(float[] delta, double density, boolean rescale, TensorGroup group) {
        int k = (int) (density * delta.length);
        if (k <= 0) {
            throw new BadInputException(group.name() + ": density " + density + " keeps no element of " + delta.length
                    + " (mergekit refuses to zero a whole tensor)");
        }
        return masked(delta, Ranks.keepTop(delta, k), rescale, group.precision());
    }

    static float[] magnitudeOutliers(float[] delta, double density, double gamma, boolean rescale, TensorGroup group) {
        int n = delta.length;
        int target = (int) (density * n);
        int top = (int) (gamma * n);
        int bottom = n - target - top;
        if (bottom < 0) {
            top += bottom;
            bottom = 0;
        }
        // mergekit keeps sorted[bottom:-top], which is empty when top == 0: the whole task vector is dropped.
        int end = top == 0 ? bottom : n - top;
        return masked(delta, Ranks.keepRankRange(delta, bottom, Math.max(bottom, end)), rescale, group.precision());
    }

    static float[] random(float[] delta, double density, boolean rescale, String model, TensorGroup group) {
        // Bernoulli runs in bf16 for bf16 tensors (so the probability itself is a bf16 number), in float32 otherwise.
        Precision work = group.precision() == Precision.BF16 ? Precision.BF16 : Precision.F32;
        float probability = work.round((float) density);
        float[] uniforms = new float[delta.length];
        group.masks().uniforms(model, uniforms);
        boolean[] keep = new boolean[delta.length];
        for (int i = 0; i < keep.length; i++) {
            keep[i] = uniforms[i] < probability;
        }
        return finish(masked(delta, keep, rescale, work), group.precision());
    }

    static float[] magprune(
            float[] delta, double density, double epsilon, boolean rescale, String model, TensorGroup group) {
        if (density <= 0) {
            return new float[delta.length];
        }
        if (density + epsilon >= 1 || density - epsilon <= 0) {
            throw new BadInputException(group.name() + ": della needs 0 < density - epsilon and density + epsilon < 1"
                    + " (density " + density + ", epsilon " + epsilon + ")");
        }
        Precision work = group.precision() == Precision.BF16 ? Precision.BF16 : Precision.F32;
        int rowLength = group.shape().length < 2 ? delta.length : group.rowLength();
        float[] uniforms = new float[delta.length];
        group.masks().uniforms(model, uniforms);
        boolean[] keep = new boolean[delta.length];
        float low = work.round((float) (density - epsilon));
        float epsilonValue = (float) epsilon;
        for (int start = 0; start < delta.length; start += rowLength) {
            int[] ranks = Ranks.ranksOfRow(delta, start, rowLength, 1);
            // Ranks are argsort indices converted to the working dtype, then + 1 (two roundings in bf16).
            float minRank = work.round(work.round(0) + 1);
            float maxRank = work.round(work.round(rowLength - 1) + 1);
            float span = work.round(maxRank - minRank);
            for (int j = 0; j < rowLength; j++) {
                float rank = work.round(work.round(ranks[j] - 1) + 1);
                float normalized = Math.clamp(work.round(work.round(rank - minRank) / span), 0f, 1f);
                float probability = work.round(low + work.round(work.round(normalized * 2) * epsilonValue));
                keep[start + j] = uniforms[start + j] < probability;
            }
        }
        return finish(masked(delta, keep, rescale, work), group.precision());
    }

    /** Zeroes the dropped elements in place (the task vector is a scratch array) and rescales when asked. */
    private static float[] masked(float[] delta, boolean[] keep, boolean rescale, Precision precision) {
        MergeKernels kernels = MergeKernels.best();
        // Each norm is a sequential double sum in element order, so it does not depend on how the loops compile;
        // the masking between them is a vector blend.
        double before = 0;
        for (float value : delta) {
            before += Math.abs(value);
        }
        kernels.keepOnly(delta, keep);
        double after = 0;
        for (float value : delta) {
            after += Math.abs(value);
        }
        if (!rescale) {
            return delta;
        }
        float beforeNorm = precision.round((float) before);
        float afterNorm = precision.round((float) after);
        if (beforeNorm < 1e-7 || afterNorm < 1e-7) {
            return delta;
        }
        kernels.scale(precision, delta, precision.round(beforeNorm / afterNorm));
        return delta;
    }

    private static float[] finish(float[] values, Precision precision) {
        precision.roundAll(values);
        return values;
    }
}
