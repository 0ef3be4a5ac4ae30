package dev.safemerge.merge;

import dev.safemerge.merge.kernel.Precision;
import dev.safemerge.tensor.DType;
import dev.safemerge.tensor.FloatConversion;
import dev.safemerge.tensor.ModelDirectory;
import dev.safemerge.tensor.TensorSource;
import java.lang.foreign.MemorySegment;

/**
 * One input tensor opened for the merge loop. Stored float tensors are decoded in bulk through the (vectorized)
 * {@link FloatConversion} kernels, which stream several times faster than element-wise segment access; computed views
 * (a base with a LoRA applied) go through the ordinary float API. Opened once per job: asking a source for a tensor's
 * bytes also hints the kernel to read the whole tensor ahead, a system call not to repeat for every block.
 *
 * @param bytes the stored bytes, or null for computed views
 */
record TensorIo(TensorSource source, String name, DType dtype, MemorySegment bytes) {
    static TensorIo open(TensorSource source, String name) {
        DType dtype = source.info(name).dtype();
        boolean stored = source instanceof ModelDirectory
                && (dtype == DType.F32 || dtype == DType.BF16 || dtype == DType.F16 || dtype == DType.F64);
        return new TensorIo(source, name, dtype, stored ? source.bytes(name) : null);
    }

    void read(long firstElement, float[] dst, int offset, int count) {
        if (bytes == null) {
            source.readFloats(name, firstElement, dst, offset, count);
        } else {
            MemorySegment range = bytes.asSlice(firstElement * dtype.byteSize(), (long) count * dtype.byteSize());
            FloatConversion.decode(dtype, range, dst, offset, count);
        }
    }

    /**
     * Drops the pages of elements already read from this process's mapping (they stay in the page cache), so that
     * resident memory stays bounded by the working set rather than growing with every input byte read. One call per
     * large range: each is a system call.
     */
    void release(long firstElement, long count) {
        if (bytes != null && bytes.isMapped()) {
            bytes.asSlice(firstElement * dtype.byteSize(), count * dtype.byteSize())
                    .unload();
        }
    }

    /** True when values read from this tensor are already numbers of the working precision. */
    boolean exactIn(Precision precision) {
        if (bytes == null) {
            return precision == Precision.F32;
        }
        return switch (precision) {
            case F32 -> dtype != DType.F64;
            case BF16 -> dtype == DType.BF16;
            case F16 -> dtype == DType.F16;
        };
    }
}
