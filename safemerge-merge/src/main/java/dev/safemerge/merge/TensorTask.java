package dev.safemerge.merge;

import dev.safemerge.merge.kernel.Precision;
import dev.safemerge.tensor.DType;
import dev.safemerge.tensor.TensorSource;
import dev.safemerge.tensor.TensorSpec;
import java.util.List;

/**
 * One output tensor to produce: where each input comes from (the read may cut an embedding to {@code shape}), the
 * resolved parameters, the working precision and the output dtype.
 *
 * @param baseIndex index of the base model in {@code inputs}, or -1
 */
@SuppressWarnings("ArrayRecordComponent")
public record TensorTask(
        String name,
        long[] shape,
        boolean embedding,
        List<Input> inputs,
        int baseIndex,
        Params global,
        Precision precision,
        DType outDtype) {

    public TensorTask {
        inputs = List.copyOf(inputs);
    }

    /**
     * @param sourceName the tensor's name in that model (layer index of the source, or a tied embedding)
     * @param storedShape the shape as stored; larger than the task shape when an embedding is cut
     */
    @SuppressWarnings("ArrayRecordComponent")
    public record Input(String model, TensorSource source, String sourceName, long[] storedShape, Params params) {}

    public long elementCount() {
        return dev.safemerge.tensor.TensorInfo.elementCount(shape);
    }

    /** Length of the last axis, the unit chunks and blocks are cut in; a scalar is one row. */
    public long rowLength() {
        return shape.length == 0 ? 1 : shape[shape.length - 1];
    }

    public TensorSpec spec() {
        return new TensorSpec(name, outDtype, shape);
    }

    /** Bytes read from the inputs. */
    public long bytesRead() {
        long total = 0;
        for (Input input : inputs) {
            total += elementCount()
                    * input.source().info(input.sourceName()).dtype().byteSize();
        }
        return total;
    }
}
