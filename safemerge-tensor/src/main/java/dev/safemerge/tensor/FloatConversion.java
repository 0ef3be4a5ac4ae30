package dev.safemerge.tensor;

import java.lang.foreign.MemorySegment;

/** Bulk decoding and encoding between little-endian float tensors in memory segments and float arrays. */
public final class FloatConversion {
    private FloatConversion() {}

    public static void decode(DType dtype, MemorySegment src, float[] dst, int dstOffset, int count) {
        switch (dtype) {
            case F32 -> MemorySegment.copy(src, SafetensorsFile.FLOAT_LE, 0, dst, dstOffset, count);
            case BF16 -> {
                for (int i = 0; i < count; i++) {
                    dst[dstOffset + i] = FloatCodec.bf16ToFloat(src.getAtIndex(SafetensorsFile.SHORT_LE, i));
                }
            }
            case F16 -> {
                for (int i = 0; i < count; i++) {
                    dst[dstOffset + i] = FloatCodec.f16ToFloat(src.getAtIndex(SafetensorsFile.SHORT_LE, i));
                }
            }
            case F64 -> {
                for (int i = 0; i < count; i++) {
                    dst[dstOffset + i] = (float) src.getAtIndex(SafetensorsFile.DOUBLE_LE, i);
                }
            }
            default -> throw new IllegalArgumentException("not a float dtype: " + dtype);
        }
    }

    public static void encode(DType dtype, float[] src, int srcOffset, MemorySegment dst, int count) {
        switch (dtype) {
            case F32 -> MemorySegment.copy(src, srcOffset, dst, SafetensorsFile.FLOAT_LE, 0, count);
            case BF16 -> {
                for (int i = 0; i < count; i++) {
                    dst.setAtIndex(SafetensorsFile.SHORT_LE, i, FloatCodec.floatToBf16(src[srcOffset + i]));
                }
            }
            case F16 -> {
                for (int i = 0; i < count; i++) {
                    dst.setAtIndex(SafetensorsFile.SHORT_LE, i, FloatCodec.floatToF16(src[srcOffset + i]));
                }
            }
            case F64 -> {
                for (int i = 0; i < count; i++) {
                    dst.setAtIndex(SafetensorsFile.DOUBLE_LE, i, src[srcOffset + i]);
                }
            }
            default -> throw new IllegalArgumentException("not a float dtype: " + dtype);
        }
    }
}
