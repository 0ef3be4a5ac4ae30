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

    /**
     * Half to float. A NaN comes back quiet with its sign and payload; the JDK's conversion leaves that choice to the
     * platform (its x86 intrinsic quiets, its Java code does not), so it is fixed here to keep results repeatable.
     */
    public static float f16ToFloat(short bits) {
        if ((bits & 0x7c00) == 0x7c00 && (bits & 0x03ff) != 0) {
            return Float.intBitsToFloat(((bits & 0x8000) << 16) | 0x7fc00000 | ((bits & 0x03ff) << 13));
        }
        return Float.float16ToFloat(bits);
    }

    /** Float to half, rounding to nearest even; a NaN becomes a quiet half NaN keeping its sign and top payload bits. */
    public static short floatToF16(float value) {
        int bits = Float.floatToRawIntBits(value);
        if ((bits & 0x7fffffff) > 0x7f800000) {
            return (short) (((bits >>> 16) & 0x8000) | 0x7e00 | ((bits & 0x007fe000) >>> 13));
        }
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
