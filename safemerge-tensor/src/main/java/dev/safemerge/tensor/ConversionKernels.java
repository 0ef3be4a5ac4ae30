package dev.safemerge.tensor;

import java.lang.foreign.MemorySegment;

/**
 * The hot loops of checkpoint I/O: 16-bit floats (little-endian, in a memory segment) to and from float arrays.
 * There are two implementations with identical results bit for bit: {@link ScalarConversionKernels}, the plain
 * twin that tests trust, and {@link VectorConversionKernels} on the Vector API, which {@link #best()} picks when
 * the incubator module is present.
 */
public interface ConversionKernels {
    void decodeBf16(MemorySegment src, float[] dst, int dstOffset, int count);

    void encodeBf16(float[] src, int srcOffset, MemorySegment dst, int count);

    void decodeF16(MemorySegment src, float[] dst, int dstOffset, int count);

    void encodeF16(float[] src, int srcOffset, MemorySegment dst, int count);

    /** A short name for benchmarks and diagnostics. */
    String name();

    /** The vectorized kernels when {@code jdk.incubator.vector} is available and not disabled, else the scalar ones. */
    static ConversionKernels best() {
        return Holder.BEST;
    }

    final class Holder {
        private static final ConversionKernels BEST = choose();

        private Holder() {}

        private static ConversionKernels choose() {
            if (Boolean.getBoolean("safemerge.scalar")) {
                return ScalarConversionKernels.INSTANCE;
            }
            try {
                return VectorConversionKernels.create();
            } catch (LinkageError | UnsupportedOperationException e) {
                // The JVM was started without --add-modules jdk.incubator.vector, or the CPU has short vectors.
                return ScalarConversionKernels.INSTANCE;
            }
        }
    }
}
