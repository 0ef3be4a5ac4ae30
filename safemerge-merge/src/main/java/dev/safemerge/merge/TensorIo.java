package dev.safemerge.merge;

import dev.safemerge.tensor.DType;
import dev.safemerge.tensor.FloatConversion;
import dev.safemerge.tensor.ModelDirectory;
import dev.safemerge.tensor.ModelWriter;
import dev.safemerge.tensor.TensorSource;
import java.lang.foreign.MemorySegment;

/**
 * Reads and writes for the merge loop. BF16 goes in bulk through the (vectorized) {@link FloatConversion} kernels,
 * which stream several times faster than element-wise segment access. Other dtypes and computed views
 * (a base with a LoRA applied) go through the ordinary float API.
 */
final class Bf16Io {
    private Bf16Io() {}

    static void read(TensorSource source, String name, long firstElement, float[] dst, int offset, int count) {
        if (!(source instanceof ModelDirectory)) {
            source.readFloats(name, firstElement, dst, offset, count);
            return;
        }
        DType dtype = source.info(name).dtype();
        MemorySegment bytes =
                source.bytes(name).asSlice(firstElement * dtype.byteSize(), (long) count * dtype.byteSize());
        if (dtype == DType.BF16) {
            FloatConversion.decode(DType.BF16, bytes, dst, offset, count);
        } else {
            source.readFloats(name, firstElement, dst, offset, count);
        }
        // Drop the pages just read from this process's mapping (they stay in the page cache), so that resident
        // memory stays bounded by the working set rather than growing with every input byte read.
        if (bytes.isMapped()) {
            bytes.unload();
        }
    }

    static void write(ModelWriter writer, String name, DType dtype, long firstElement, float[] src, int count) {
        if (dtype != DType.BF16) {
            writer.writeFloats(name, firstElement, src, 0, count);
            return;
        }
        byte[] bytes = new byte[count * 2];
        FloatConversion.encode(DType.BF16, src, 0, MemorySegment.ofArray(bytes), count);
        writer.writeBytes(name, firstElement * 2, MemorySegment.ofArray(bytes));
    }
}
