package dev.safemerge.merge.kernel;

import dev.safemerge.tensor.DType;
import dev.safemerge.tensor.FloatCodec;

/**
 * The working precision of a merge. Torch computes every elementwise op on bf16/fp16 tensors in float32 and rounds
 * the result to the tensor dtype, so a faithful merge rounds after each op rather than once at the end; methods
 * call {@link #round} exactly where torch would store an intermediate tensor.
 */
public enum Precision {
    F32(DType.F32),
    BF16(DType.BF16),
    F16(DType.F16);

    private final DType dtype;

    Precision(DType dtype) {
        this.dtype = dtype;
    }

    /** Rounds to nearest even in this precision (a branch on a constant, so hot loops inline it). */
    public float round(float value) {
        if (this == BF16) {
            int bits = Float.floatToRawIntBits(value);
            if ((bits & 0x7fffffff) > 0x7f800000) {
                return FloatCodec.bf16ToFloat(FloatCodec.floatToBf16(value));
            }
            return Float.intBitsToFloat((bits + 0x7fff + ((bits >>> 16) & 1)) & 0xffff0000);
        }
        if (this == F16) {
            return Float.float16ToFloat(Float.floatToFloat16(value));
        }
        return value;
    }

    public DType dtype() {
        return dtype;
    }

    public void roundAll(float[] values) {
        MergeKernels.best().round(this, values);
    }

    /** Float64 inputs are merged in float32, as every method here computes in float32 at most. */
    public static Precision of(DType dtype) {
        return switch (dtype) {
            case BF16 -> BF16;
            case F16 -> F16;
            case F32, F64 -> F32;
            default -> throw new IllegalArgumentException("not a float dtype: " + dtype);
        };
    }
}
