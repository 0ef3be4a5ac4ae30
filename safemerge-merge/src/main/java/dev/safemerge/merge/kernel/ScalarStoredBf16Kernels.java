package dev.safemerge.merge.kernel;

import dev.safemerge.tensor.FloatCodec;
import dev.safemerge.tensor.SafetensorsFile;
import java.lang.foreign.MemorySegment;

/** The plain loops of {@link StoredBf16Kernels}: the reference the vectorized kernels are tested against. */
public final class ScalarStoredBf16Kernels implements StoredBf16Kernels {
    public static final ScalarStoredBf16Kernels INSTANCE = new ScalarStoredBf16Kernels();
    private static final Precision P = Precision.BF16;

    private ScalarStoredBf16Kernels() {}

    @Override
    public String name() {
        return "scalar";
    }

    @Override
    public void linear(
            MemorySegment[] inputs, float[] weights, boolean normalize, float divisor, MemorySegment out, long count) {
        linear(inputs, weights, normalize, divisor, out, 0, count);
    }

    void linear(
            MemorySegment[] inputs,
            float[] weights,
            boolean normalize,
            float divisor,
            MemorySegment out,
            long from,
            long to) {
        for (long j = from; j < to; j++) {
            float sum = 0;
            for (int i = 0; i < inputs.length; i++) {
                sum += P.round(weights[i] * bf16(inputs[i], j));
            }
            float total = P.round(sum);
            if (normalize) {
                total = P.round(total / divisor);
            }
            out.setAtIndex(SafetensorsFile.SHORT_LE, j, FloatCodec.floatToBf16(total));
        }
    }

    @Override
    public void taskArithmetic(
            MemorySegment base,
            MemorySegment[] others,
            float[] weights,
            boolean normalize,
            float divisor,
            float lambda,
            MemorySegment out,
            long count) {
        taskArithmetic(base, others, weights, normalize, divisor, lambda, out, 0, count);
    }

    void taskArithmetic(
            MemorySegment base,
            MemorySegment[] others,
            float[] weights,
            boolean normalize,
            float divisor,
            float lambda,
            MemorySegment out,
            long from,
            long to) {
        for (long j = from; j < to; j++) {
            float b = bf16(base, j);
            float sum = 0;
            for (int i = 0; i < others.length; i++) {
                float delta = P.round(bf16(others[i], j) - b);
                sum += P.round(delta * weights[i]);
            }
            // Without other models the float path returns the base itself (rounding only quiets NaNs), not b + 0.
            float result = others.length == 0
                    ? P.round(b)
                    : ScalarMergeKernels.finishTaskArithmetic(P, sum, normalize, divisor, lambda, b);
            out.setAtIndex(SafetensorsFile.SHORT_LE, j, FloatCodec.floatToBf16(result));
        }
    }

    @Override
    public void taskVector(MemorySegment x, MemorySegment base, long first, float[] out, int count) {
        taskVector(x, base, first, out, 0, count);
    }

    void taskVector(MemorySegment x, MemorySegment base, long first, float[] out, int from, int to) {
        for (int j = from; j < to; j++) {
            out[j] = P.round(bf16(x, first + j) - bf16(base, first + j));
        }
    }

    @Override
    public void finishOneModel(
            float[] delta, MemorySegment base, long first, OneModelSteps steps, MemorySegment out, int count) {
        finishOneModel(delta, base, first, steps, out, 0, count);
    }

    void finishOneModel(
            float[] delta, MemorySegment base, long first, OneModelSteps steps, MemorySegment out, int from, int to) {
        boolean rescaled = steps.rescaled();
        float factor = steps.factor();
        float weight = steps.weight();
        boolean electSign = steps.electSign();
        boolean normalize = steps.normalize();
        float divisor = steps.divisor();
        float lambda = steps.lambda();
        for (int j = from; j < to; j++) {
            float v = delta[j];
            if (rescaled) {
                v = P.round(v * factor);
            }
            v = P.round(v * weight);
            float d = divisor;
            if (electSign) {
                boolean kept = v > 0 || v < 0;
                v = kept ? v : 0;
                d = kept ? weight : 1;
            }
            // summed from +0 as the float path sums: a -0 becomes +0
            float result =
                    ScalarMergeKernels.finishTaskArithmetic(P, 0f + v, normalize, d, lambda, bf16(base, first + j));
            out.setAtIndex(SafetensorsFile.SHORT_LE, j, FloatCodec.floatToBf16(result));
        }
    }

    private static float bf16(MemorySegment bytes, long index) {
        return FloatCodec.bf16ToFloat(bytes.getAtIndex(SafetensorsFile.SHORT_LE, index));
    }
}
