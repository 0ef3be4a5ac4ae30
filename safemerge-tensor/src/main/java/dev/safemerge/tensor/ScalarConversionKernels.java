package dev.safemerge.tensor;

import java.lang.foreign.MemorySegment;

/** One element at a time through {@link FloatCodec}: the reference the vectorized kernels are tested against. */
public final class ScalarConversionKernels implements ConversionKernels {
    public static final ScalarConversionKernels INSTANCE = new ScalarConversionKernels();

    private ScalarConversionKernels() {}

    @Override
    public void decodeBf16(MemorySegment src, float[] dst, int dstOffset, int count) {
        for (int i = 0; i < count; i++) {
            dst[dstOffset + i] = FloatCodec.bf16ToFloat(src.getAtIndex(SafetensorsFile.SHORT_LE, i));
        }
    }

    @Override
    public void encodeBf16(float[] src, int srcOffset, MemorySegment dst, int count) {
        for (int i = 0; i < count; i++) {
            dst.setAtIndex(SafetensorsFile.SHORT_LE, i, FloatCodec.floatToBf16(src[srcOffset + i]));
        }
    }

    @Override
    public void decodeF16(MemorySegment src, float[] dst, int dstOffset, int count) {
        for (int i = 0; i < count; i++) {
            dst[dstOffset + i] = FloatCodec.f16ToFloat(src.getAtIndex(SafetensorsFile.SHORT_LE, i));
        }
    }

    @Override
    public void encodeF16(float[] src, int srcOffset, MemorySegment dst, int count) {
        for (int i = 0; i < count; i++) {
            dst.setAtIndex(SafetensorsFile.SHORT_LE, i, FloatCodec.floatToF16(src[srcOffset + i]));
        }
    }

    @Override
    public String name() {
        return "scalar";
    }
}
