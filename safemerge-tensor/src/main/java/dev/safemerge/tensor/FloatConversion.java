package dev.safemerge.tensor;

import java.lang.foreign.MemorySegment;

/**
 * Bulk decoding and encoding between little-endian float tensors in memory segments and float arrays. BF16 and F16
 * go through {@link ConversionKernels#best()}.
 */
public final class FloatConversion {
    private static final ConversionKernels KERNELS = ConversionKernels.best();

    private FloatConversion() {}

    public static void decode(DType dtype, MemorySegment src, float[] dst, int dstOffset, int count) {
        switch (dtype) {
            case F32 -> MemorySegment.copy(src, SafetensorsFile.FLOAT_LE, 0, dst, dstOffset, count);
            case BF16 -> KERNELS.decodeBf16(src, dst, dstOffset, count);
            case F16 -> KERNELS.decodeF16(src, dst, dstOffset, count);
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
            case BF16 -> KERNELS.encodeBf16(src, srcOffset, dst, count);
            case F16 -> KERNELS.encodeF16(src, srcOffset, dst, count);
            case F64 -> {
                for (int i = 0; i < count; i++) {
                    dst.setAtIndex(SafetensorsFile.DOUBLE_LE, i, src[srcOffset + i]);
                }
            }
            default -> throw new IllegalArgumentException("not a float dtype: " + dtype);
        }
    }

    /** The kernels in use ("vector512", "scalar", ...), for benchmark reports. */
    public static String kernels() {
        return KERNELS.name();
    }
}
