package dev.safemerge.tensor;

import java.lang.foreign.MemorySegment;
import java.util.Set;

/**
 * Named tensors that can be read as float32 or as raw stored bytes: a safetensors file, a (sharded) model
 * directory, or a view computed on read such as a base model with a LoRA adapter applied.
 */
public interface TensorSource extends AutoCloseable {
    /** Every tensor name, sorted. */
    Set<String> tensorNames();

    boolean contains(String name);

    /**
     * Dtype and shape of a tensor; a {@link BadInputException} naming {@link #describe()} if there is none. For
     * virtual tensors the byte offsets may not refer to any file.
     */
    TensorInfo info(String name);

    /** A whole float tensor (F64/F32/F16/BF16) as float32; it must have fewer than 2^31 elements. */
    default float[] readFloats(String name) {
        TensorInfo info = info(name);
        long count = info.elementCount();
        if (count > Integer.MAX_VALUE - 8) {
            throw new BadInputException(describe() + ": tensor '" + name + "' has " + count
                    + " elements, too many for one array; read it in ranges");
        }
        float[] out = new float[(int) count];
        readFloats(name, 0, out, 0, out.length);
        return out;
    }

    /** Reads {@code count} elements from element {@code firstElement} of a float tensor into {@code dst}. */
    void readFloats(String name, long firstElement, float[] dst, int dstOffset, int count);

    /** The tensor's bytes as stored (little-endian, row-major), for passing dtypes through unchanged. */
    MemorySegment bytes(String name);

    /** What this source is, for messages: usually a path. */
    String describe();

    @Override
    void close();
}
