package dev.safemerge.tensor;

import dev.safemerge.tensor.kernel.KernelProvider;
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

    /** The twin {@link KernelProvider} chose for this process. */
    static ConversionKernels best() {
        return Chosen.KERNELS;
    }

    /** Holds the choice, made on first use. */
    final class Chosen {
        private static final ConversionKernels KERNELS =
                KernelProvider.get().choose(VectorConversionKernels::create, ScalarConversionKernels.INSTANCE);

        private Chosen() {}
    }
}
