package dev.safemerge.merge;

import dev.safemerge.merge.kernel.Precision;
import java.util.ArrayList;
import java.util.List;

/**
 * Everything a method needs to merge one output tensor: the inputs in config order (the base model among them when
 * it is an input), the global parameters resolved for this tensor, the working precision and the mask source.
 *
 * @param shape shape of every input (embeddings were already cut to a common size); for a chunk, {@code [length]}
 * @param baseIndex index of the base model in {@code inputs}, or -1
 */
@SuppressWarnings("ArrayRecordComponent")
public record TensorGroup(
        String name,
        long[] shape,
        boolean embedding,
        List<MergeInput> inputs,
        int baseIndex,
        Params global,
        Precision precision,
        MaskSource masks) {

    public TensorGroup {
        inputs = List.copyOf(inputs);
        if (baseIndex >= inputs.size()) {
            throw new IllegalArgumentException("base index " + baseIndex + " out of " + inputs.size());
        }
    }

    public boolean hasBase() {
        return baseIndex >= 0;
    }

    public MergeInput base() {
        return inputs.get(baseIndex);
    }

    public List<MergeInput> nonBase() {
        List<MergeInput> others = new ArrayList<>(inputs);
        if (baseIndex >= 0) {
            others.remove(baseIndex);
        }
        return others;
    }

    public int length() {
        return inputs.getFirst().values().length;
    }

    /** Length of the last axis (the vectors of row-wise methods); a 1-D tensor is one row. */
    public int rowLength() {
        return shape.length == 0 ? 1 : Math.toIntExact(shape[shape.length - 1]);
    }

    /** A copy of this group with other inputs, used by methods that delegate. */
    public TensorGroup withInputs(List<MergeInput> newInputs, int newBaseIndex) {
        return new TensorGroup(name, shape, embedding, newInputs, newBaseIndex, global, precision, masks);
    }
}
