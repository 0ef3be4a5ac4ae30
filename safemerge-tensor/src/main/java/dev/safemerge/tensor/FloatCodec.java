package dev.safemerge.tensor;

/** Conversions between float and the 16-bit float formats, rounding to nearest even and keeping NaN and infinity. */
public final class FloatCodec {
    private FloatCodec() {}

    public static float bf16ToFloat(short bits) {
        return Float.intBitsToFloat((bits & 0xffff) << 16);
    }

    public static short floatToBf16(float value) {
        int bits = Float.floatToRawIntBits(value);
        if ((bits & 0x7fffffff) > 0x7f800000) {
            // Truncation could turn a NaN with only low payload bits into infinity: force the quiet bit.
            return (short) ((bits >>> 16) | 0x0040);
        }
        int roundingBias = 0x7fff + ((bits >>> 16) & 1);
        return (short) ((bits + roundingBias) >>> 16);
    }

    public static float f16ToFloat(short bits) {
        return Float.float16ToFloat(bits);
    }

    public static short floatToF16(float value) {
        return Float.floatToFloat16(value);
    }

    /** Rounds a float to the nearest value representable in {@code type}, as storing and reloading would. */
    public static float roundTo(DType type, float value) {
        return switch (type) {
            case BF16 -> bf16ToFloat(floatToBf16(value));
            case F16 -> f16ToFloat(floatToF16(value));
            case F32, F64 -> value;
            default -> throw new IllegalArgumentException("not a float dtype: " + type);
        };
    }
}
